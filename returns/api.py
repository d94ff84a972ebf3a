"""Returns API. Merchant host: the store's returns queue and each step (approve, refuse, receive, inspect,
refund, ship a replacement) and its policy. Mall host: a shopper's returns of an order, a new request
(photos as base64), the parcel sent back. Every POST needs an Idempotency-Key (a retry returns the first answer)."""
from __future__ import annotations

import base64
import binascii

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed
from core.idempotency import idempotent
from core.tenancy import current_merchant
from permissions.api_auth import capability
from returns.selectors import QUEUES, return_body, return_get, return_list_for_merchant
from returns.states import REASONS, ReturnKind

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                               description="A retry with the same key returns the first answer")


def _json(body):
    """Plain JSON values (times as ISO 8601): what Idempotency-Key stores and replays."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


def _valid(serializer_class, data) -> dict:
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data


class ReturnLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    line_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    accepted_qty = serializers.IntegerField(allow_null=True)
    restocked_qty = serializers.IntegerField()
    written_off_qty = serializers.IntegerField()


class ReturnOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    suborder_id = serializers.IntegerField()
    suborder_number = serializers.CharField()
    order_number = serializers.CharField()
    kind = serializers.ChoiceField(choices=ReturnKind.choices)
    status = serializers.CharField()
    status_label = serializers.CharField()
    reason_code = serializers.CharField()
    reason = serializers.CharField()
    decision_reason = serializers.CharField()
    inspection = serializers.CharField()
    answer_by = serializers.DateTimeField(allow_null=True)
    ship_by = serializers.DateTimeField(allow_null=True)
    refund_minor = serializers.IntegerField(required=False, help_text="absent for roles that may not see amounts")
    lines = ReturnLineOutput(many=True)


def _body(request, return_id: int) -> dict:
    from permissions.visibility import field_access

    see = field_access(user=request.user, merchant=current_merchant())
    return _json(return_body(return_get(return_id=return_id), staff=True, amounts=see.amounts))


# --- merchant host ----------------------------------------------------------------------------------

class ReturnListView(APIView):
    permission_classes = [capability("returns.view")]

    @extend_schema(summary="The store's returns: a queue (decide, receive, inspect, refund) or all",
                   parameters=[OpenApiParameter("queue", str, enum=list(QUEUES))], responses=ReturnOutput(many=True))
    def get(self, request):
        from permissions.visibility import field_access

        queue = request.GET.get("queue", "all")
        if queue not in QUEUES:
            raise ValidationFailed(f"Unknown queue; choose one of {', '.join(QUEUES)}.", field="queue")
        amounts = field_access(user=request.user, merchant=current_merchant()).amounts
        return Response(_json([return_body(r, staff=True, amounts=amounts) for r in return_list_for_merchant(queue=queue)]))


class ReturnDetailView(APIView):
    permission_classes = [capability("returns.view")]

    @extend_schema(summary="One return with its lines and steps", responses=ReturnOutput)
    def get(self, request, return_id: int):
        return Response(_body(request, return_id))


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RequiredReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class ReturnApproveView(APIView):
    permission_classes = [capability("returns.decide")]

    @extend_schema(summary="Approve a requested return, exchange or refund-only request", request=ReasonInput,
                   responses=ReturnOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, return_id: int):
        from returns.services import return_approve

        return_approve(return_id=return_id, actor=request.user, reason=_valid(ReasonInput, request.data)["reason"])
        return Response(_body(request, return_id))


class ReturnRefuseView(APIView):
    permission_classes = [capability("returns.decide")]

    @extend_schema(summary="Refuse a requested return, saying why", request=RequiredReasonInput, responses=ReturnOutput,
                   parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, return_id: int):
        from returns.services import return_refuse

        return_refuse(return_id=return_id, actor=request.user, reason=_valid(RequiredReasonInput, request.data)["reason"])
        return Response(_body(request, return_id))


class ReturnReceiveView(APIView):
    permission_classes = [capability("returns.receive")]

    @extend_schema(summary="The returned parcel arrived at the warehouse", request=None, responses=ReturnOutput,
                   parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, return_id: int):
        from returns.services import return_receive

        return_receive(return_id=return_id, actor=request.user)
        return Response(_body(request, return_id))


class InspectLineInput(serializers.Serializer):
    return_line_id = serializers.IntegerField(min_value=1)
    restock_qty = serializers.IntegerField(min_value=0, max_value=10**6, default=0)
    write_off_qty = serializers.IntegerField(min_value=0, max_value=10**6, default=0)
    warehouse_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class InspectInput(serializers.Serializer):
    lines = InspectLineInput(many=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReturnInspectView(APIView):
    permission_classes = [capability("returns.receive")]

    @extend_schema(summary="Inspect: per line, units restocked to a warehouse or written off; the rest rejected",
                   request=InspectInput, responses=ReturnOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, return_id: int):
        from returns.services import InspectLine, return_inspect

        body = _valid(InspectInput, request.data)
        return_inspect(return_id=return_id, actor=request.user, note=body["note"], lines=[
            InspectLine(ln["return_line_id"], ln["restock_qty"], ln["write_off_qty"], ln["warehouse_id"]) for ln in body["lines"]])
        return Response(_body(request, return_id))


class ReturnRefundView(APIView):
    permission_classes = [capability("refunds.create")]

    @extend_schema(summary="Refund the return through payments (the accepted units, or a refund-only request's)",
                   request=ReasonInput, responses=ReturnOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, return_id: int):
        from returns.services import return_refund

        return_refund(return_id=return_id, actor=request.user, reason=_valid(ReasonInput, request.data)["reason"])
        return Response(_body(request, return_id))


class ShipReplacementInput(serializers.Serializer):
    carrier = serializers.CharField(max_length=60)
    tracking_number = serializers.CharField(max_length=60)


class ReturnShipReplacementView(APIView):
    permission_classes = [capability("suborders.ship")]

    @extend_schema(summary="Ship an exchange's replacement (commits its reserved stock)", request=ShipReplacementInput,
                   responses=ReturnOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, return_id: int):
        from returns.services import return_ship_replacement

        body = _valid(ShipReplacementInput, request.data)
        return_ship_replacement(return_id=return_id, actor=request.user, carrier=body["carrier"],
                                tracking_number=body["tracking_number"])
        return Response(_body(request, return_id))


class PolicyBody(serializers.Serializer):
    window_days = serializers.IntegerField(min_value=0, max_value=90)
    no_approval_reasons = serializers.ListField(child=serializers.ChoiceField(choices=list(REASONS)), max_length=len(REASONS))
    return_shipping_payer = serializers.ChoiceField(choices=["shopper", "merchant"])
    refund_requires_receipt = serializers.BooleanField()
    answer_days = serializers.IntegerField(min_value=1, max_value=30)
    ship_days = serializers.IntegerField(min_value=1, max_value=60)


class ReturnPolicyView(APIView):
    permission_classes = [capability("returns.view")]

    def get_permissions(self):
        return [capability("returns.policy" if self.request.method == "POST" else "returns.view")()]

    @extend_schema(summary="The store's return policy (the operator's defaults until the store saves its own)",
                   responses=PolicyBody)
    def get(self, request):
        from returns.services import return_policy_get

        p = return_policy_get()
        return Response({**{k: getattr(p, k) for k in PolicyBody().fields}, "no_approval_reasons": list(p.no_approval_reasons),
                         "is_default": p.is_default})

    @extend_schema(summary="Set the store's return policy", request=PolicyBody, responses=PolicyBody, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request):
        from returns.services import return_policy_update

        body = _valid(PolicyBody, request.data)
        return_policy_update(actor=request.user, **body)
        return self.get(request)


# --- mall host (shoppers) ---------------------------------------------------------------------------

class ShopperLineInput(serializers.Serializer):
    line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=10**6)


class ShopperReturnInput(serializers.Serializer):
    merchant_id = serializers.IntegerField(min_value=1)
    suborder_id = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=ReturnKind.choices)
    lines = ShopperLineInput(many=True, min_length=1)
    reason_code = serializers.ChoiceField(choices=list(REASONS))
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    photos = serializers.ListField(child=serializers.CharField(max_length=3_000_000), required=False, default=list,
                                   max_length=5, help_text="base64 of PNG, JPEG or WebP images, at most 2 MB each")


def _decode_photos(items: list[str]) -> list[bytes]:
    out = []
    for i, text in enumerate(items):
        try:
            out.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise ValidationFailed("A photo must be base64 of an image.", field=f"photos[{i}]") from None
    return out


def _shopper_order(request, number: str):
    from orders.selectors import order_get_for_shopper

    return order_get_for_shopper(number=number, shopper=request.user)


class ShopperReturnsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="My returns of an order", responses=ReturnOutput(many=True))
    def get(self, request, number: str):
        from returns.shopper import shopper_returns_for_order

        return Response(_json(shopper_returns_for_order(order=_shopper_order(request, number))))

    @extend_schema(summary="Ask to return, exchange or be refunded (仅退款) for delivered units",
                   request=ShopperReturnInput, responses={201: ReturnOutput}, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, number: str):
        from returns.shopper import shopper_return_request

        order = _shopper_order(request, number)
        body = _valid(ShopperReturnInput, request.data)
        out = shopper_return_request(order=order, merchant_id=body["merchant_id"], suborder_id=body["suborder_id"],
                                     kind=body["kind"], lines=[(ln["line_id"], ln["quantity"]) for ln in body["lines"]],
                                     reason_code=body["reason_code"], reason=body["reason"],
                                     photos=_decode_photos(body["photos"]), actor=request.user)
        return Response(_json(out), status=201)


class ShopperReturnDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="One of my returns with its steps", responses=ReturnOutput)
    def get(self, request, number: str, merchant_id: int, return_id: int):
        from returns.shopper import shopper_return_get

        return Response(_json(shopper_return_get(order=_shopper_order(request, number), merchant_id=merchant_id,
                                                 return_id=return_id)))


class ShopperReturnShipView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="I sent the parcel back", request=ShipReplacementInput, responses=ReturnOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, number: str, merchant_id: int, return_id: int):
        from returns.shopper import shopper_return_mark_shipped

        body = _valid(ShipReplacementInput, request.data)
        return Response(_json(shopper_return_mark_shipped(order=_shopper_order(request, number), merchant_id=merchant_id,
                                                          return_id=return_id, carrier=body["carrier"],
                                                          tracking_number=body["tracking_number"], actor=request.user)))
