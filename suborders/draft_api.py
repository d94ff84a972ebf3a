"""Merchant API for orders the store's staff enter: drafts (create, read, change, confirm, discard) and
recording a payment received offline. Each POST needs an Idempotency-Key (a retry returns the first
answer); every view declares its capability. Fields at fault are named as in the request
(`lines[0].quantity`, `shipping_address.region`, `discount_minor`)."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import idempotent
from core.tenancy import in_public_schema
from permissions.api_auth import capability
from suborders import drafts
from suborders.models_drafts import OrderDraftStatus

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                               description="A retry with the same key returns the first answer")
ADDRESS_EXAMPLE = {"name": "李雷 Li Lei", "phone": "+86 138 0000 0000", "line1": "1 Nanjing Road", "line2": "",
                   "city": "Shanghai", "region": "SH", "postcode": "200001", "country": "CN"}


class DraftLineInput(serializers.Serializer):
    variant_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(help_text="1–9999")


class DraftInput(serializers.Serializer):
    lines = DraftLineInput(many=True, required=False, help_text="This store's variants; on PATCH they replace all lines")
    email = serializers.CharField(required=False, allow_blank=True, max_length=254, help_text="The customer's")
    shipping_address = serializers.JSONField(required=False, allow_null=True,
                                             help_text="name, phone, line1, line2, city, region, postcode, country")
    shipping_rule_id = serializers.IntegerField(required=False, allow_null=True, help_text="null: the cheapest that serves the address")
    discount_minor = serializers.IntegerField(required=False, help_text="Merchant-funded, at most the items' cost")
    discount_reason = serializers.CharField(required=False, allow_blank=True, max_length=300, help_text="Required with a discount")


class DraftLineOutput(serializers.Serializer):
    variant_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    unit_price_minor = serializers.IntegerField()
    quantity = serializers.IntegerField()


class DraftTotalsOutput(serializers.Serializer):
    currency = serializers.CharField()
    subtotal_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    shipping_minor = serializers.IntegerField(allow_null=True)
    total_minor = serializers.IntegerField(allow_null=True)
    shipping_method = serializers.CharField()
    problem = serializers.CharField(help_text="What confirming would be refused for now; empty if nothing")


class DraftOrderOutput(serializers.Serializer):
    number = serializers.CharField()
    total_minor = serializers.IntegerField()
    currency = serializers.CharField()
    payment_status = serializers.CharField()
    payment_gateway = serializers.CharField()
    expires_at = serializers.DateTimeField()
    pay_link = serializers.CharField(help_text="The customer's link to the order page while it can be paid; else empty")
    suborder_ids = serializers.ListField(child=serializers.IntegerField())


class DraftOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    email = serializers.CharField()
    shipping_address = serializers.JSONField()
    shipping_rule_id = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField()
    discount_minor = serializers.IntegerField()
    discount_reason = serializers.CharField()
    lines = DraftLineOutput(many=True)
    totals = DraftTotalsOutput(allow_null=True)
    order = DraftOrderOutput(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)


class DraftSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    email = serializers.CharField()
    order_number = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _out(draft_id: int) -> dict:
    draft = drafts.draft_get(draft_id=draft_id)
    order = drafts.draft_order_summary(draft=draft)
    return DraftOutput({
        "id": draft.pk, "status": draft.status, "email": draft.email, "shipping_address": draft.shipping_address,
        "shipping_rule_id": draft.shipping_rule_id, "currency": draft.currency, "discount_minor": draft.discount_minor,
        "discount_reason": draft.discount_reason, "lines": drafts.draft_lines_view(draft=draft),
        "totals": drafts.draft_totals(draft=draft) if draft.status == OrderDraftStatus.DRAFT else None,
        "order": order, "created_at": draft.created_at, "updated_at": draft.updated_at, "confirmed_at": draft.confirmed_at,
    }).data


def _kwargs(data: dict) -> dict:
    out = {k: v for k, v in data.items() if k != "lines"}
    if "lines" in data:
        out["lines"] = [drafts.DraftLine(ln["variant_id"], ln["quantity"]) for ln in data["lines"]]
    return out


def _valid(serializer_class, request, *, partial=False) -> dict:
    data = serializer_class(data=request.data, partial=partial)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class DraftListCreateView(APIView):
    permission_classes = [capability("orders.create")]

    @extend_schema(summary="This store's order drafts, newest first",
                   parameters=[OpenApiParameter("status", str, enum=OrderDraftStatus.values, required=False)],
                   responses=DraftSummaryOutput(many=True))
    def get(self, request):
        status = request.query_params.get("status") or None
        if status not in (None, *OrderDraftStatus.values):
            status = "-"  # matches nothing
        return Response(DraftSummaryOutput(drafts.draft_list_for_merchant(status=status), many=True).data)

    @extend_schema(summary="Start an order for a customer (a draft)", request=DraftInput, responses={201: DraftOutput},
                   parameters=[IDEMPOTENCY],
                   examples=[OpenApiExample("Two items, 10 off for a loyal customer", request_only=True, value={
                       "lines": [{"variant_id": 12, "quantity": 2}], "email": "li.lei@example.com",
                       "shipping_address": ADDRESS_EXAMPLE, "discount_minor": 1000, "discount_reason": "loyal customer"})])
    @idempotent
    def post(self, request):
        draft = drafts.draft_create(actor=request.user, **_kwargs(_valid(DraftInput, request)))
        return Response(_out(draft.pk), status=201)


class DraftDetailView(APIView):
    permission_classes = [capability("orders.create")]

    @extend_schema(summary="One draft with its current prices and what confirming would charge", responses=DraftOutput)
    def get(self, request, draft_id: int):
        return Response(_out(draft_id))

    @extend_schema(summary="Change a draft; omitted fields stay, `lines` replace all lines", request=DraftInput, responses=DraftOutput)
    def patch(self, request, draft_id: int):
        drafts.draft_update(draft_id=draft_id, actor=request.user, **_kwargs(_valid(DraftInput, request, partial=True)))
        return Response(_out(draft_id))


class DraftConfirmView(APIView):
    permission_classes = [capability("orders.create")]

    @extend_schema(summary="Place the draft as an order (stock reserved, payment pending); a second confirm answers the same order",
                   request=None, responses=DraftOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, draft_id: int):
        drafts.draft_confirm(draft_id=draft_id, actor=request.user)
        return Response(_out(draft_id))


class DraftDiscardView(APIView):
    permission_classes = [capability("orders.create")]

    @extend_schema(summary="Discard a draft", request=None, responses=DraftOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, draft_id: int):
        drafts.draft_discard(draft_id=draft_id, actor=request.user)
        return Response(_out(draft_id))


class OfflinePaymentInput(serializers.Serializer):
    method = serializers.ChoiceField(choices=["bank_transfer", "cash_on_delivery"])
    reference = serializers.CharField(max_length=120, help_text="The transfer number or receipt")


class OfflinePaymentOutput(serializers.Serializer):
    order = serializers.CharField()
    payment_status = serializers.CharField()
    gateway = serializers.CharField()
    reference = serializers.CharField()
    captured_minor = serializers.IntegerField()
    currency = serializers.CharField()


class OfflinePaymentView(APIView):
    permission_classes = [capability("payments.offline")]

    @extend_schema(summary="Record that an order of this store was paid offline (bank transfer, cash on delivery)",
                   request=OfflinePaymentInput, responses=OfflinePaymentOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, number: str):
        from payments.services import payment_mark_paid_offline

        body = _valid(OfflinePaymentInput, request)
        order = drafts.order_for_merchant(number=number)
        with in_public_schema():
            payment = payment_mark_paid_offline(order=order, reference=body["reference"], method=body["method"], actor=request.user)
        return Response(OfflinePaymentOutput({
            "order": order.number, "payment_status": payment.status, "gateway": payment.gateway,
            "reference": payment.gateway_reference, "captured_minor": payment.captured_minor, "currency": payment.currency,
        }).data)
