"""Merchant API (merchant host): this merchant's suborders — never another's: it reads its own schema."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from permissions.api_auth import capability
from suborders.selectors import suborder_get, suborder_list_for_merchant
from suborders.states import SubOrderStatus


class SubOrderLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    accepted_qty = serializers.IntegerField()
    refused_qty = serializers.IntegerField()
    cancelled_qty = serializers.IntegerField()
    shipped_qty = serializers.IntegerField()
    delivered_qty = serializers.IntegerField()
    variant_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    unit_price_minor = serializers.IntegerField()
    quantity = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    line_total_minor = serializers.IntegerField()


class SubOrderEventOutput(serializers.Serializer):
    action = serializers.CharField()
    lines = serializers.JSONField()
    reason_code = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    at = serializers.DateTimeField()


class SubOrderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    order_number = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    warehouse_id = serializers.IntegerField()
    warehouse_name = serializers.CharField()
    warehouse_reason = serializers.CharField()
    shipping_method = serializers.CharField()
    shipping_address = serializers.JSONField()
    subtotal_minor = serializers.IntegerField()
    shipping_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class SubOrderDetailOutput(SubOrderOutput):
    lines = SubOrderLineOutput(many=True, source="lines.all")
    events = SubOrderEventOutput(many=True, source="events.all")


class SubOrderListView(APIView):
    permission_classes = [capability("suborders.view")]

    @extend_schema(summary="This store's suborders, newest first", responses=SubOrderOutput(many=True),
                   parameters=[OpenApiParameter("status", str, enum=SubOrderStatus.values)])
    def get(self, request):
        status = request.query_params.get("status") or None
        return Response(SubOrderOutput(suborder_list_for_merchant(status=status), many=True).data)


class SubOrderDetailView(APIView):
    permission_classes = [capability("suborders.view")]

    @extend_schema(summary="One suborder with its lines and status history", responses=SubOrderDetailOutput)
    def get(self, request, suborder_id: int):
        return Response(SubOrderDetailOutput(suborder_get(suborder_id=suborder_id)).data)
