"""Shopper API (mall host) for cancellations: see what can be cancelled and the requests; cancel the
whole order, one store's part, or some lines (Idempotency-Key)."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed
from core.idempotency import idempotent
from orders.selectors import order_get_for_shopper

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                               description="A retry with the same key returns the first answer")


class CancelLineInput(serializers.Serializer):
    line_id = serializers.IntegerField(min_value=1, help_text="the order line's id (GET /api/v1/orders/{number}/)")
    quantity = serializers.IntegerField(min_value=1, max_value=9999)


class CancelInput(serializers.Serializer):
    merchant_id = serializers.IntegerField(min_value=1, required=False, help_text="with suborder_id: one store's part")
    suborder_id = serializers.IntegerField(min_value=1, required=False)
    lines = CancelLineInput(many=True, required=False, help_text="some lines and quantities")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CancelOutcomeOutput(serializers.Serializer):
    suborder_id = serializers.IntegerField()
    number = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["cancelled", "requested"])
    request_id = serializers.IntegerField(allow_null=True)


class CancelRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    lines = serializers.JSONField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    decide_by = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    automatic = serializers.BooleanField()


class CancelStateOutput(serializers.Serializer):
    merchant_id = serializers.IntegerField()
    suborder_id = serializers.IntegerField()
    mode = serializers.CharField(allow_null=True, help_text="immediate, request, or null (nothing can be cancelled)")
    lines = serializers.DictField(child=serializers.IntegerField(), help_text="order line id -> units that can still be cancelled")
    requests = CancelRequestOutput(many=True)


def _state(order) -> list[dict]:
    from orders.services.cancellations import order_cancellation_state

    return [{"merchant_id": k[0], "suborder_id": k[1], "mode": s["mode"], "lines": {str(i): q for i, q in s["lines"].items()},
             "requests": CancelRequestOutput(s["requests"], many=True).data}
            for k, s in sorted(order_cancellation_state(order=order).items())]


class OrderCancellationsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="What of my order can be cancelled, and my cancellation requests", responses=CancelStateOutput(many=True))
    def get(self, request, number: str):
        return Response(_state(order_get_for_shopper(number=number, shopper=request.user)))

    @extend_schema(
        summary="Cancel my order, one store's part, or some lines (immediate before acceptance, else a request to the store)",
        request=CancelInput, responses={201: CancelOutcomeOutput(many=True)}, parameters=[IDEMPOTENCY],
        examples=[OpenApiExample("One unit of one line", request_only=True,
                                 value={"lines": [{"line_id": 41, "quantity": 1}], "reason": "ordered one too many"}),
                  OpenApiExample("The whole order", request_only=True, value={})])
    @idempotent
    def post(self, request, number: str):
        from orders.services.cancellations import order_shopper_cancel

        order = order_get_for_shopper(number=number, shopper=request.user)
        data = CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        if ("merchant_id" in body) != ("suborder_id" in body):
            raise ValidationFailed("Give merchant_id and suborder_id together.", field="suborder_id")
        if "lines" in body and "suborder_id" in body:
            raise ValidationFailed("Give either lines or a suborder, not both.", field="lines")
        lines = [(ln["line_id"], ln["quantity"]) for ln in body["lines"]] if "lines" in body else None
        outcomes = order_shopper_cancel(order=order, actor=request.user, merchant_id=body.get("merchant_id"),
                                        suborder_id=body.get("suborder_id"), lines=lines, reason=body.get("reason", ""))
        return Response(CancelOutcomeOutput(outcomes, many=True).data, status=201)
