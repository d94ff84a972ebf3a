"""Merchant API (merchant host) for shoppers' cancellation requests: the open ones, one request, approve,
refuse. Capability `cancellations.decide`; each POST needs an Idempotency-Key."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import idempotent
from permissions.api_auth import capability

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                               description="A retry with the same key returns the first answer")


class CancellationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    suborder_id = serializers.IntegerField()
    suborder_number = serializers.CharField(source="suborder.number")
    status = serializers.CharField()
    lines = serializers.JSONField(help_text="[{line, sku, variant_id, quantity}]")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    decide_by = serializers.DateTimeField(help_text="approved automatically after this")
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    automatic = serializers.BooleanField()


class RefuseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="shown to the shopper")


class CancellationListView(APIView):
    permission_classes = [capability("cancellations.decide")]

    @extend_schema(summary="Cancellation requests waiting for this store, nearest deadline first", responses=CancellationOutput(many=True))
    def get(self, request):
        from suborders.cancellations import cancellations_pending

        return Response(CancellationOutput(cancellations_pending(), many=True).data)


class CancellationDetailView(APIView):
    permission_classes = [capability("cancellations.decide")]

    @extend_schema(summary="One cancellation request", responses=CancellationOutput)
    def get(self, request, request_id: int):
        from suborders.cancellations import cancellation_get

        return Response(CancellationOutput(cancellation_get(request_id=request_id)).data)


class CancellationApproveView(APIView):
    permission_classes = [capability("cancellations.decide")]

    @extend_schema(summary="Approve: the units are cancelled, their stock released and the shopper refunded",
                   request=None, responses=CancellationOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, request_id: int):
        from suborders.cancellations import cancellation_decide, cancellation_get

        cancellation_decide(request_id=request_id, actor=request.user, approve=True)
        return Response(CancellationOutput(cancellation_get(request_id=request_id)).data)


class CancellationRefuseView(APIView):
    permission_classes = [capability("cancellations.decide")]

    @extend_schema(summary="Refuse with a reason (the units stay to ship)", request=RefuseInput, responses=CancellationOutput,
                   parameters=[IDEMPOTENCY], examples=[OpenApiExample("Packed", request_only=True,
                                                                      value={"reason": "already packed and handed to the carrier"})])
    @idempotent
    def post(self, request, request_id: int):
        from suborders.cancellations import cancellation_decide, cancellation_get

        data = RefuseInput(data=request.data)
        data.is_valid(raise_exception=True)
        cancellation_decide(request_id=request_id, actor=request.user, approve=False, reason=data.validated_data["reason"])
        return Response(CancellationOutput(cancellation_get(request_id=request_id)).data)
