"""Merchant API actions on suborders and shipments: accept, refuse/cancel lines, ship, deliver.
Each POST needs an Idempotency-Key (a retry returns the first answer) and its capability."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import idempotent
from fulfillment.models import Shipment
from permissions.api_auth import capability
from suborders.api import SubOrderDetailOutput, suborder_detail_body
from suborders.selectors import suborder_get
from suborders.states import REASONS

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                               description="A retry with the same key returns the first answer")


class LineQuantity(serializers.Serializer):
    line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=10**6)


class LinesReasonInput(serializers.Serializer):
    lines = LineQuantity(many=True, required=False, help_text="omit to refuse / cancel everything left")
    reason_code = serializers.ChoiceField(choices=list(REASONS))
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ShipInput(serializers.Serializer):
    lines = LineQuantity(many=True, required=False, help_text="omit to ship everything accepted and not yet shipped")
    carrier = serializers.CharField(max_length=20)
    tracking_number = serializers.CharField(max_length=40)
    service = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    weight_g = serializers.IntegerField(min_value=0, max_value=10**8, required=False, default=0)
    parcels = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=1)


class ShipmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    suborder_id = serializers.IntegerField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    status = serializers.CharField()
    shipped_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    estimated_delivery_at = serializers.DateTimeField(allow_null=True)
    lines = serializers.SerializerMethodField()

    def get_lines(self, sh) -> list[dict]:
        return [{"line_id": sl.line_id, "quantity": sl.quantity} for sl in sh.lines.all()]


def _pairs(body) -> list[tuple[int, int]] | None:
    lines = body.get("lines")
    return None if not lines else [(ln["line_id"], ln["quantity"]) for ln in lines]


def _detail(request, suborder_id):
    """The suborder after the action, as the caller's roles may see it (no amounts for warehouse)."""
    return suborder_detail_body(request, suborder_id)


class SubOrderAcceptView(APIView):
    permission_classes = [capability("suborders.accept")]

    @extend_schema(summary="Accept every unit not yet refused", request=None, responses=SubOrderDetailOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, suborder_id: int):
        from suborders.services import suborder_accept

        suborder_accept(suborder_id=suborder_id, actor=request.user)
        return Response(_detail(request, suborder_id))


class SubOrderRefuseView(APIView):
    permission_classes = [capability("suborders.refuse")]

    @extend_schema(summary="Refuse lines (or all) of a suborder awaiting acceptance; paid units are refunded",
                   request=LinesReasonInput, responses=SubOrderDetailOutput, parameters=[IDEMPOTENCY],
                   examples=[OpenApiExample("One unit out of stock", request_only=True,
                                            value={"lines": [{"line_id": 7, "quantity": 1}], "reason_code": "out_of_stock"})])
    @idempotent
    def post(self, request, suborder_id: int):
        from suborders.services import suborder_refuse_lines

        data = LinesReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        suborder_refuse_lines(suborder_id=suborder_id, actor=request.user, lines=_pairs(body),
                              reason_code=body["reason_code"], reason=body["reason"])
        return Response(_detail(request, suborder_id))


class SubOrderCancelView(APIView):
    permission_classes = [capability("suborders.refuse")]

    @extend_schema(summary="Cancel units not yet shipped; paid units are refunded", request=LinesReasonInput,
                   responses=SubOrderDetailOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, suborder_id: int):
        from suborders.services import suborder_cancel_lines

        data = LinesReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        suborder_cancel_lines(suborder_id=suborder_id, actor=request.user, lines=_pairs(body),
                              reason_code=body["reason_code"], reason=body["reason"])
        return Response(_detail(request, suborder_id))


class SubOrderShipmentsView(APIView):
    permission_classes = [capability("suborders.view")]

    def get_permissions(self):
        return [capability("suborders.ship" if self.request.method == "POST" else "suborders.view")()]

    @extend_schema(summary="A suborder's shipments", responses=ShipmentOutput(many=True))
    def get(self, request, suborder_id: int):
        suborder_get(suborder_id=suborder_id, actor=request.user)
        rows = Shipment.objects.filter(suborder_id=suborder_id).prefetch_related("lines").order_by("id")
        return Response(ShipmentOutput(rows, many=True).data)

    @extend_schema(summary="Ship lines of a suborder (one shipment from its warehouse)", request=ShipInput,
                   responses={201: ShipmentOutput}, parameters=[IDEMPOTENCY],
                   examples=[OpenApiExample("Two of three lines by SF", request_only=True,
                                            value={"lines": [{"line_id": 7, "quantity": 1}, {"line_id": 8, "quantity": 2}],
                                                   "carrier": "sf", "tracking_number": "SF1234567890123", "weight_g": 1200})])
    @idempotent
    def post(self, request, suborder_id: int):
        from fulfillment.shipments import shipment_create

        data = ShipInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        shipment = shipment_create(suborder_id=suborder_id, actor=request.user, lines=_pairs(body), carrier=body["carrier"],
                                   tracking_number=body["tracking_number"], service=body["service"], weight_g=body["weight_g"],
                                   parcels=body["parcels"])
        return Response(ShipmentOutput(Shipment.objects.prefetch_related("lines").get(pk=shipment.pk)).data, status=201)


class ShipmentDeliveredView(APIView):
    permission_classes = [capability("suborders.ship")]

    @extend_schema(summary="Mark a shipment delivered (no carrier event came)", request=None, responses=ShipmentOutput,
                   parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, shipment_id: int):
        from core.errors import NotFound
        from fulfillment.shipments import shipment_mark_delivered

        if not Shipment.objects.filter(pk=shipment_id).exists():
            raise NotFound("No such shipment.", field="shipment")
        shipment_mark_delivered(shipment_id=shipment_id, actor=request.user)
        return Response(ShipmentOutput(Shipment.objects.prefetch_related("lines").get(pk=shipment_id)).data)
