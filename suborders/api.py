"""Merchant API (merchant host): this merchant's suborders — never another's: it reads its own schema."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.tenancy import current_merchant
from permissions.api_auth import capability
from permissions.visibility import field_access, redact
from suborders.selectors import suborder_filters_for_actor, suborder_get, suborder_list_for_merchant
from suborders.states import SubOrderStatus


def _visible(request, data):
    """What the caller's roles may see: no amounts for warehouse staff, contacts masked for finance."""
    return redact(data, field_access(user=request.user, merchant=current_merchant()))


AMOUNT_NOTE = "Absent for roles that do not see amounts (warehouse)."


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
    unit_price_minor = serializers.IntegerField(required=False, help_text=AMOUNT_NOTE)
    quantity = serializers.IntegerField()
    discount_minor = serializers.IntegerField(required=False, help_text=AMOUNT_NOTE)
    line_total_minor = serializers.IntegerField(required=False, help_text=AMOUNT_NOTE)


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
    shipping_address = serializers.JSONField(help_text="Masked to the district, with the phone masked, for finance.")
    subtotal_minor = serializers.IntegerField(required=False, help_text=AMOUNT_NOTE)
    shipping_minor = serializers.IntegerField(required=False, help_text=AMOUNT_NOTE)
    discount_minor = serializers.IntegerField(required=False, help_text=AMOUNT_NOTE)
    total_minor = serializers.IntegerField(required=False, help_text=AMOUNT_NOTE)
    created_at = serializers.DateTimeField()


class SubOrderDetailOutput(SubOrderOutput):
    lines = SubOrderLineOutput(many=True, source="lines.all")
    events = SubOrderEventOutput(many=True, source="events.all")


class SubOrderListView(APIView):
    """This store's suborders, filtered, searched and sorted by the database, a page at a time.

    A refused value answers 400 with the field named (`{"code": "invalid", "field": "from", ...}`).
    """

    permission_classes = [capability("suborders.view")]

    class Output(SubOrderOutput):
        shopper_email = serializers.EmailField()
        is_late = serializers.BooleanField()
        accept_by = serializers.DateTimeField(allow_null=True)
        ship_by = serializers.DateTimeField(allow_null=True)

    Page = type("SubOrderListPage", (serializers.Serializer,), {
        "results": Output(many=True),
        "next": serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page; null on the last page."),
    })

    @extend_schema(summary="This store's suborders: filters, search and sort, with a cursor for the next page", responses=Page,
                   parameters=[
                       OpenApiParameter("status", str, enum=SubOrderStatus.values),
                       OpenApiParameter("from", str, description="Created on or after: a date (2026-12-01, the whole day in "
                                        "the viewer's zone) or an ISO 8601 date and time."),
                       OpenApiParameter("to", str, description="Created on or before: a date (the whole day) or a date and time."),
                       OpenApiParameter("warehouse", int, description="Warehouse id."),
                       OpenApiParameter("carrier", str, description="Has a shipment with this carrier (sf, zto, yto, jd, ems, dhl, ups, fedex)."),
                       OpenApiParameter("late", bool, description="Missed its shipping deadline (true) or not (false)."),
                       OpenApiParameter("flagged", bool, description="Needs attention: late, or a parcel with a carrier exception or no scan for TRACKING_STALE_DAYS."),
                       OpenApiParameter("q", str, description="Order or suborder number (prefix), shopper name fragment, phone "
                                        "(digits, whole or the last 4 or more), tracking number, or SKU."),
                       OpenApiParameter("ordering", str, enum=["-created", "created", "-total", "total", "-status", "status"],
                                        description="Default -created (newest first)."),
                       OpenApiParameter("cursor", str, description="`next` of the previous page."),
                       OpenApiParameter("limit", int, description="Page size, 1–100 (default 50)."),
                   ])
    def get(self, request):
        from suborders.selectors import suborder_list_filters_parse

        filters, errors = suborder_list_filters_parse(request.query_params)
        if errors:
            raise errors[0]
        page = suborder_list_for_merchant(filters=suborder_filters_for_actor(filters, actor=request.user))
        return Response({"results": _visible(request, self.Output(page.rows, many=True).data), "next": page.next_cursor})


class SubOrderDetailView(APIView):
    permission_classes = [capability("suborders.view")]

    @extend_schema(summary="One suborder with its lines and status history", responses=SubOrderDetailOutput)
    def get(self, request, suborder_id: int):
        return Response(_visible(request, SubOrderDetailOutput(suborder_get(suborder_id=suborder_id, actor=request.user)).data))
