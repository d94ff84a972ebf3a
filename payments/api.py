"""Payments API. Mall host: pay an order, its payment with events and refunds. Merchant host: a
suborder's refunds (request one, list them) and all of this store's refunds."""
from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound, ValidationFailed
from core.tenancy import current_merchant, in_public_schema
from orders.selectors import order_get_for_shopper, order_row_get_for_shopper
from payments.models import Payment, Refund
from payments.selectors import gateways_offered, refunds_for_order, refunds_for_suborder, refunds_list_for_merchant
from payments.services import RefundLineRequest, payment_start, refund_create
from permissions.api_auth import MerchantCapability, capability

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                               description="Retries with the same key return the same result; never a second charge or refund")


def _key(request) -> str:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 200:
        raise ValidationFailed("An Idempotency-Key (1–200 characters) is required.", field="Idempotency-Key")
    return key


class PaymentEventOutput(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    amount_minor = serializers.IntegerField()
    gateway_event_id = serializers.CharField()
    reason = serializers.CharField()
    at = serializers.DateTimeField()


class RefundLineOutput(serializers.Serializer):
    order_line_id = serializers.IntegerField()
    sku = serializers.CharField(source="order_line.sku")
    quantity = serializers.IntegerField()
    amount_minor = serializers.IntegerField()


class RefundOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    merchant_id = serializers.IntegerField()
    suborder_id = serializers.IntegerField()
    status = serializers.CharField()
    amount_minor = serializers.IntegerField()
    shipping_minor = serializers.IntegerField()
    custom_minor = serializers.IntegerField()
    currency = serializers.CharField()
    reason = serializers.CharField()
    restock = serializers.BooleanField()
    failure = serializers.CharField()
    created_at = serializers.DateTimeField()
    lines = RefundLineOutput(many=True, source="lines.all")


class PaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    gateway = serializers.CharField()
    status = serializers.CharField()
    amount_minor = serializers.IntegerField()
    captured_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()
    currency = serializers.CharField()
    capture_policy = serializers.CharField()
    action_url = serializers.CharField(help_text="Where to send the shopper (hosted page), or the QR payload for Alipay/WeChat Pay")
    events = PaymentEventOutput(many=True, source="events.all")


class PayInput(serializers.Serializer):
    gateway = serializers.ChoiceField(choices=["sandbox", "stripe", "alipay", "wechatpay"])


def _base_url(request) -> str:
    return settings.MALL_BASE_URL.rstrip("/") or f"{request.scheme}://{request.get_host()}"


class OrderPaymentView(APIView):
    @extend_schema(summary="My order's payment, with its events and refunds", responses=PaymentOutput)
    def get(self, request, number: str):
        order = order_get_for_shopper(number=number, shopper=request.user)
        payment = Payment.objects.select_related("order").get(order=order)
        data = PaymentOutput(payment).data
        data["refunds"] = RefundOutput(refunds_for_order(order_id=order.pk), many=True).data
        data["gateways_offered"] = [code for code, _label in gateways_offered()]
        return Response(data)

    @extend_schema(summary="Pay my order: creates (once) the gateway intent and returns where to go",
                   request=PayInput, responses=PaymentOutput, parameters=[IDEMPOTENCY],
                   examples=[OpenApiExample("Sandbox", request_only=True, value={"gateway": "sandbox"})])
    def post(self, request, number: str):
        _key(request)  # the intent's own idempotency derives from the payment id; the header is still required
        data = PayInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_row_get_for_shopper(number=number, shopper=request.user)
        base = _base_url(request)
        code = data.validated_data["gateway"]
        payment = payment_start(order=order, gateway_code=code, return_url=base + reverse("order-detail", args=[number]),
                                notify_url=base + reverse("payments-webhook", args=[code]), actor=request.user)
        payment = Payment.objects.select_related("order").get(pk=payment.pk)
        return Response(PaymentOutput(payment).data)


class RefundLineInput(serializers.Serializer):
    order_line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=10**6)


class RefundInput(serializers.Serializer):
    lines = RefundLineInput(many=True, required=False)
    shipping_minor = serializers.IntegerField(min_value=0, max_value=10**12, required=False, default=0)
    custom_minor = serializers.IntegerField(min_value=0, max_value=10**12, required=False, default=0)
    reason = serializers.CharField(max_length=300)
    restock = serializers.BooleanField(required=False, default=False)


class SuborderRefundsView(APIView):
    permission_classes = [MerchantCapability]
    capabilities = {"GET": "payments.view", "POST": "refunds.create"}

    @extend_schema(summary="A suborder's refunds", responses=RefundOutput(many=True))
    def get(self, request, suborder_id: int):
        merchant = current_merchant()
        with in_public_schema():
            rows = list(refunds_for_suborder(merchant_id=merchant.pk, suborder_id=suborder_id).select_related("order"))
        return Response(RefundOutput(rows, many=True).data)

    @extend_schema(summary="Refund lines, shipping or an amount of one of this store's suborders",
                   request=RefundInput, responses={201: RefundOutput, 200: RefundOutput}, parameters=[IDEMPOTENCY],
                   examples=[OpenApiExample("One unit of a line", request_only=True,
                                            value={"lines": [{"order_line_id": 41, "quantity": 1}], "reason": "damaged in transit",
                                                   "restock": False})])
    def post(self, request, suborder_id: int):
        key = _key(request)
        data = RefundInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        merchant = current_merchant()
        with in_public_schema():
            refund, created = refund_create(
                actor=request.user, merchant_id=merchant.pk, suborder_id=suborder_id,
                lines=[RefundLineRequest(order_line_id=ln["order_line_id"], quantity=ln["quantity"]) for ln in body.get("lines", [])],
                shipping_minor=body["shipping_minor"], custom_minor=body["custom_minor"], reason=body["reason"],
                restock=body["restock"], idempotency_key=key)
            refund = Refund.objects.select_related("order").prefetch_related("lines__order_line").get(pk=refund.pk)
            if refund.merchant_id != merchant.pk:  # an idempotency key reused at another store
                raise NotFound("No such refund.", field="Idempotency-Key")
            out = RefundOutput(refund).data
        return Response(out, status=201 if created else 200)


class MerchantRefundListView(APIView):
    permission_classes = [capability("payments.view")]

    @extend_schema(summary="This store's refunds, newest first", responses=RefundOutput(many=True),
                   parameters=[OpenApiParameter("status", str, enum=["requested", "pending", "succeeded", "failed"])])
    def get(self, request):
        merchant = current_merchant()
        with in_public_schema():
            rows = list(refunds_list_for_merchant(merchant_id=merchant.pk, status=request.query_params.get("status") or None))
        return Response(RefundOutput(rows, many=True).data)
