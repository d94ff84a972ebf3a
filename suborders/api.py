"""Merchant API (merchant host): this merchant's suborders — never another's: it reads its own schema."""
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
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
    updated_at = serializers.DateTimeField(help_text="When it last changed (the writer's clock; page changes with "
                                                     "/suborders/changes/, not by this time).")
    version = serializers.IntegerField(help_text="Grows by one with every change.")
    channel = serializers.CharField(help_text="Where it was sold: mallard (the storefront, staff drafts) or an import channel.")
    external_order_id = serializers.CharField(help_text="The order id on that channel; empty for mallard.")
    tags = serializers.ListField(child=serializers.CharField())
    hold_reason = serializers.CharField(help_text="Why it is held for review; empty when not held.")


class TrackingScanOutput(serializers.Serializer):
    kind = serializers.CharField()
    at = serializers.DateTimeField()
    location = serializers.CharField()
    description = serializers.CharField()
    source = serializers.CharField(help_text="manual, csv, webhook, kuaidi100, shopper or system")


class SubOrderShipmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    carrier = serializers.CharField()
    service = serializers.CharField()
    tracking_number = serializers.CharField()
    status = serializers.CharField()
    parcels = serializers.IntegerField()
    weight_g = serializers.IntegerField()
    shipped_at = serializers.DateTimeField()
    estimated_delivery_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    lines = serializers.SerializerMethodField()
    tracking = TrackingScanOutput(many=True, source="events.all", help_text="Carrier scans and manual entries, oldest first.")

    def get_lines(self, sh) -> list[dict]:
        return [{"line_id": sl.line_id, "quantity": sl.quantity} for sl in sh.lines.all()]


class RefundShareOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    amount_minor = serializers.IntegerField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class PaymentShareOutput(serializers.Serializer):
    """The part of the shopper's payment that is this suborder's (never the other stores' shares)."""

    status = serializers.CharField(help_text="The order's payment: pending, authorized, captured, partially_refunded, refunded, ...")
    gateway = serializers.CharField()
    paid = serializers.BooleanField()
    currency = serializers.CharField()
    amount_minor = serializers.IntegerField(help_text="This suborder's share of the payment.")
    refunded_minor = serializers.IntegerField(help_text="Refunded (or being refunded) of this suborder.")
    refunds = RefundShareOutput(many=True)


@extend_schema_field(PaymentShareOutput(allow_null=True))
class _PaymentField(serializers.Field):
    """Filled by suborder_detail_body for roles that see payments (owner, manager, finance); null otherwise."""

    def __init__(self, **kwargs):
        super().__init__(source="*", required=False, **kwargs)  # absent for warehouse staff (no amounts at all)

    def to_representation(self, so):
        return self.context.get("payment")


class SubOrderDetailOutput(SubOrderOutput):
    lines = SubOrderLineOutput(many=True, source="lines.all")
    events = SubOrderEventOutput(many=True, source="events.all")
    shipments = SubOrderShipmentOutput(many=True, source="shipments.all")
    payment = _PaymentField(help_text="This suborder's share of the payment and its refunds (owner, manager, finance); null "
                                      "for customer service and before the order has a payment; absent for warehouse staff.")
    returns = serializers.ListField(child=serializers.JSONField(), source="_returns",
                                    help_text="Always empty for now: returns arrive with after-sales.")


def _payment_share(so) -> dict | None:
    """This suborder's share of its order's payment (public schema), or None."""
    from core.tenancy import in_public_schema
    from payments.selectors import suborder_money_summary
    from payments.states import PAID, REFUND_HOLDS

    merchant_id = current_merchant().pk
    with in_public_schema():
        money = suborder_money_summary(merchant_id=merchant_id, suborder_id=so.pk)
    payment = money.get("payment")
    if payment is None:
        return None
    refunds = money["refunds"]
    return {"status": payment.status, "gateway": payment.gateway, "paid": payment.status in PAID, "currency": so.currency,
            "amount_minor": money["mirror"].total_minor,
            "refunded_minor": sum(r.amount_minor for r in refunds if r.status in REFUND_HOLDS),
            "refunds": RefundShareOutput(refunds, many=True).data}


def suborder_detail_body(request, suborder_id: int) -> dict:
    """One suborder as the caller's roles may see it: lines, history, shipments with their tracking, the
    payment share (payments.view), no amounts for warehouse staff, contacts masked for finance."""
    from django.db.models import prefetch_related_objects

    from permissions.selectors import user_can

    so = suborder_get(suborder_id=suborder_id, actor=request.user)
    prefetch_related_objects([so], "shipments__lines", "shipments__events")
    so._returns = []
    context = {}
    if user_can(user=request.user, merchant=current_merchant(), capability="payments.view"):
        context["payment"] = _payment_share(so)
    return _visible(request, SubOrderDetailOutput(so, context=context).data)


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

    @extend_schema(summary="One suborder with its lines, status history, shipments with tracking, and payment share",
                   responses=SubOrderDetailOutput)
    def get(self, request, suborder_id: int):
        return Response(suborder_detail_body(request, suborder_id))


class SubOrderChangeOutput(SubOrderListView.Output):
    lines = SubOrderLineOutput(many=True, source="lines.all")


class SubOrderChangesView(APIView):
    """The change feed for integrations: every suborder changed after the cursor, oldest change first.

    Stable under concurrent writes (suborders.change_feed): a change committed late by a slow transaction
    comes on a later page, never skipped. `next` is always given: keep it and ask again (at once while
    `has_more`, otherwise in a while) to get what changed since.
    """

    permission_classes = [capability("suborders.view")]

    Page = type("SubOrderChangesPage", (serializers.Serializer,), {
        "results": SubOrderChangeOutput(many=True),
        "next": serializers.CharField(help_text="Pass as `after` to get the changes that follow; given on every page."),
        "has_more": serializers.BooleanField(help_text="More changes are ready now; false: poll again with `next` later."),
    })

    @extend_schema(summary="Suborders changed since a cursor (oldest change first; stable under concurrent writes)",
                   responses=Page,
                   parameters=[
                       OpenApiParameter("after", str, description="`next` of the previous page; omit to start from the beginning."),
                       OpenApiParameter("updated_after", str, description="Only suborders whose last change is at or after this "
                                        "moment (ISO 8601, or a date): to start a first sync from a point in time."),
                       OpenApiParameter("limit", int, description="Page size, 1–500 (default 100)."),
                   ])
    def get(self, request):
        from suborders.change_feed import change_filters_parse, suborder_changes_for_merchant
        from suborders.selectors import SubOrderListFilters

        filters = change_filters_parse(request.query_params)
        scope = suborder_filters_for_actor(SubOrderListFilters(), actor=request.user)
        page = suborder_changes_for_merchant(filters=filters, warehouse_ids=scope.warehouse_ids, suborder_ids=scope.suborder_ids)
        return Response({"results": _visible(request, SubOrderChangeOutput(page.rows, many=True).data),
                         "next": page.next_cursor, "has_more": page.has_more})
