"""Shopper API (mall host): cart, checkout, orders. One view per operation; services do the work."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.inputs import parse_id
from orders.selectors import (
    ORDER_STATUS_LABELS,
    cart_view,
    order_annotate_status,
    order_get_for_shopper,
    order_list_for_shopper,
)
from orders.services import (
    CheckoutLine,
    cart_add_line,
    cart_get_or_create,
    cart_remove_line,
    cart_set_quantity,
    order_checkout,
)

ADDRESS_EXAMPLE = {"name": "李雷 Li Lei", "phone": "+86 138 0000 0000", "line1": "1 Nanjing Road", "line2": "",
                   "city": "市辖区", "district": "黄浦区", "region": "SH", "postcode": "200001", "country": "CN"}


class AddressInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=30)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, help_text="China: the prefecture's GB/T 2260 name or code (市辖区, 3101)")
    district = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                     help_text="China: the district's GB/T 2260 name or code (黄浦区, 310101), checked "
                                               "against the city; clients that send no district keep a checked province")
    region = serializers.CharField(max_length=60, required=False, help_text=(
        "Province or state: China SH / CN-SH / 31 / 上海市; US, CA, AU their state codes; required where the country "
        "needs it. Shipping rules match on it"))
    postcode = serializers.CharField(max_length=20, required=False, help_text=(
        "Checked per country: CN 6 digits (optional), US ZIP, GB, DE/FR 5 digits, JP 7 digits, HK none"))
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, one of the countries the mall ships to "
                                                            "(accounts.regions.COUNTRIES); others are refused")


class LineInput(serializers.Serializer):
    merchant_id = serializers.IntegerField(min_value=1)
    variant_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(help_text="1–9999")
    expected_unit_price_minor = serializers.IntegerField(required=False, allow_null=True,
                                                         help_text="The price the shopper saw; checkout answers 409 price_changed if it differs")


class CheckoutInput(serializers.Serializer):
    lines = LineInput(many=True, required=False, help_text="Omit to check out the signed-in shopper's cart")
    shipping_address = serializers.JSONField()
    shipping_methods = serializers.DictField(child=serializers.IntegerField(), required=False,
                                             help_text="merchant_id -> shipping rule id; default: each store's cheapest")
    voucher_code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    currency = serializers.CharField(required=False, default="CNY", max_length=3)


class SubOrderOutput(serializers.Serializer):
    store = serializers.CharField(source="merchant.name")
    merchant_id = serializers.IntegerField()
    suborder_id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    warehouse = serializers.CharField(source="warehouse_name")
    shipping_method = serializers.CharField()
    subtotal_minor = serializers.IntegerField()
    shipping_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()


class OrderLineOutput(serializers.Serializer):
    merchant_id = serializers.IntegerField()
    variant_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    unit_price_minor = serializers.IntegerField()
    quantity = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    line_total_minor = serializers.IntegerField()
    suborder_id = serializers.IntegerField()


class OrderOutput(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField(source="derived_status")
    status_label = serializers.SerializerMethodField()
    email = serializers.EmailField()
    currency = serializers.CharField()
    subtotal_minor = serializers.IntegerField()
    shipping_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()
    payment_status = serializers.CharField(source="payment.status", allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    shipping_address = serializers.JSONField()
    suborders = SubOrderOutput(many=True, source="suborders.all")
    lines = OrderLineOutput(many=True, source="lines.all")

    def get_status_label(self, order) -> str:
        return str(ORDER_STATUS_LABELS[order.derived_status])


# OrderOutput's representation written out, for the views that answer with orders (checkout on every
# call). DRF builds a serializer's fields by deep-copying its declared fields, and those of both nested
# serializers, for every instance: 6-11 % of a checkout's Python time (docs/benchmarks.md). OrderOutput
# stays the documented schema; tests/orders/test_api.py asserts both give the same JSON for the same order.
_DATETIME = serializers.DateTimeField()  # to_representation only: the same format and time zone as OrderOutput


def _str(value):
    return None if value is None else str(value)


def _int(value):
    return None if value is None else int(value)


def _suborder_output(so) -> dict:
    return {
        "store": _str(so.merchant.name), "merchant_id": _int(so.merchant_id), "suborder_id": _int(so.suborder_id),
        "number": _str(so.number), "status": _str(so.status), "warehouse": _str(so.warehouse_name),
        "shipping_method": _str(so.shipping_method), "subtotal_minor": _int(so.subtotal_minor),
        "shipping_minor": _int(so.shipping_minor), "discount_minor": _int(so.discount_minor), "total_minor": _int(so.total_minor),
    }


def _line_output(ln) -> dict:
    return {
        "merchant_id": _int(ln.merchant_id), "variant_id": _int(ln.variant_id), "sku": _str(ln.sku), "name": _str(ln.name),
        "unit_price_minor": _int(ln.unit_price_minor), "quantity": _int(ln.quantity), "discount_minor": _int(ln.discount_minor),
        "line_total_minor": _int(ln.line_total_minor), "suborder_id": _int(ln.suborder_id),
    }


def order_output(order) -> dict:
    """OrderOutput(order).data, without building serializer fields (order annotated with its status)."""
    payment = getattr(order, "payment", None)  # a missing reverse one-to-one raises an AttributeError subclass
    return {
        "number": _str(order.number), "status": _str(order.derived_status),
        "status_label": str(ORDER_STATUS_LABELS[order.derived_status]), "email": _str(order.email),
        "currency": _str(order.currency), "subtotal_minor": _int(order.subtotal_minor),
        "shipping_minor": _int(order.shipping_minor), "discount_minor": _int(order.discount_minor),
        "total_minor": _int(order.total_minor), "payment_status": None if payment is None else _str(payment.status),
        "created_at": _DATETIME.to_representation(order.created_at) if order.created_at else None,
        "expires_at": _DATETIME.to_representation(order.expires_at) if order.expires_at else None,
        "shipping_address": order.shipping_address,
        "suborders": [_suborder_output(so) for so in order.suborders.all()],
        "lines": [_line_output(ln) for ln in order.lines.all()],
    }


class CheckoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Check out: one order, one suborder per store (and warehouse), one payment",
        request=CheckoutInput, responses={201: OrderOutput, 200: OrderOutput},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                                     description="Retries with the same key and body return the same order (200); a different body → 409")],
        examples=[OpenApiExample("Three stores", request_only=True, value={
            "lines": [{"merchant_id": 2, "variant_id": 11, "quantity": 1}, {"merchant_id": 3, "variant_id": 5, "quantity": 2},
                      {"merchant_id": 4, "variant_id": 8, "quantity": 1, "expected_unit_price_minor": 12900}],
            "shipping_address": ADDRESS_EXAMPLE, "voucher_code": "MALL10"})],
    )
    def post(self, request):
        data = CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        cart = None
        if body.get("lines") is not None:
            lines = [CheckoutLine(merchant_id=ln["merchant_id"], variant_id=ln["variant_id"], quantity=ln["quantity"],
                                  expected_unit_price_minor=ln.get("expected_unit_price_minor")) for ln in body["lines"]]
        else:
            cart = cart_get_or_create(shopper=request.user)
            lines = [CheckoutLine(merchant_id=ln.merchant_id, variant_id=ln.variant_id, quantity=ln.quantity,
                                  expected_unit_price_minor=ln.unit_price_seen_minor) for ln in cart.lines.all()]
        choices = {parse_id(k, field=f"shipping_methods.{str(k)[:20]}"): v for k, v in (body.get("shipping_methods") or {}).items()}
        order, created = order_checkout(
            shopper=request.user, email=None, lines=lines, shipping_address=body["shipping_address"],
            idempotency_key=request.headers.get("Idempotency-Key", ""), shipping_choices=choices,
            voucher_code=body.get("voucher_code"), currency=body.get("currency") or "CNY", cart=cart,
        )
        if created:  # the service returned the order with its suborders, lines and payment attached
            order_annotate_status(order)
        else:
            order = order_get_for_shopper(number=order.number, shopper=request.user)
        return Response(order_output(order), status=201 if created else 200)


class OrderListView(APIView):
    @extend_schema(summary="My orders, newest first", responses=OrderOutput(many=True))
    def get(self, request):
        return Response([order_output(o) for o in order_list_for_shopper(shopper=request.user)])


class OrderDetailView(APIView):
    @extend_schema(summary="One of my orders with its suborders", responses=OrderOutput)
    def get(self, request, number: str):
        return Response(order_output(order_get_for_shopper(number=number, shopper=request.user)))


class CartLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    variant_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price_minor = serializers.IntegerField()
    seen_price_minor = serializers.IntegerField()
    price_changed = serializers.BooleanField()
    available = serializers.IntegerField()
    short = serializers.BooleanField()
    line_total_minor = serializers.IntegerField()


class ShippingQuoteOutput(serializers.Serializer):
    rule_id = serializers.IntegerField()
    name = serializers.CharField()
    cost_minor = serializers.IntegerField()


class CartStoreOutput(serializers.Serializer):
    merchant_id = serializers.IntegerField(source="merchant.pk")
    store = serializers.CharField(source="merchant.name")
    lines = CartLineOutput(many=True)
    subtotal_minor = serializers.IntegerField()
    shipping_options = ShippingQuoteOutput(many=True)


class CartView(APIView):
    @extend_schema(summary="My cart, grouped by store, with live prices and shipping options",
                   parameters=[OpenApiParameter("region", str, description="shipping region for the quotes")],
                   responses=CartStoreOutput(many=True))
    def get(self, request):
        cart = cart_get_or_create(shopper=request.user)
        return Response(CartStoreOutput(cart_view(cart=cart, region=request.query_params.get("region", "")), many=True).data)


class CartLineInput(serializers.Serializer):
    merchant_id = serializers.IntegerField(min_value=1)
    variant_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField()


class CartLineAddView(APIView):
    @extend_schema(summary="Add a product to my cart", request=CartLineInput, responses={201: CartStoreOutput(many=True)})
    def post(self, request):
        data = CartLineInput(data=request.data)
        data.is_valid(raise_exception=True)
        cart = cart_get_or_create(shopper=request.user)
        cart_add_line(cart=cart, **data.validated_data)
        return Response(CartStoreOutput(cart_view(cart=cart), many=True).data, status=201)


class CartQuantityInput(serializers.Serializer):
    quantity = serializers.IntegerField(help_text="0 removes the line")


class CartLineChangeView(APIView):
    @extend_schema(summary="Change a cart line's quantity", request=CartQuantityInput, responses=CartStoreOutput(many=True))
    def patch(self, request, line_id: int):
        data = CartQuantityInput(data=request.data)
        data.is_valid(raise_exception=True)
        cart = cart_get_or_create(shopper=request.user)
        cart_set_quantity(cart=cart, line_id=line_id, quantity=data.validated_data["quantity"])
        return Response(CartStoreOutput(cart_view(cart=cart), many=True).data)

    @extend_schema(summary="Remove a cart line", responses={204: None})
    def delete(self, request, line_id: int):
        cart_remove_line(cart=cart_get_or_create(shopper=request.user), line_id=line_id)
        return Response(status=204)


