"""Merchant API of the catalog and stock: products with variants, categories, warehouses, stock levels,
receipts, adjustments, stocktakes and the movement journal. Each view validates, calls one service, serializes."""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors, services
from catalog.models import Product
from core.api import results_of
from core.errors import ValidationFailed
from core.inputs import is_ascii_digits
from core.money import Money
from core.tenancy import current_merchant
from permissions.api_auth import MerchantCapability, capability

# ---------------------------------------------------------------- fields


class WholeNumberField(serializers.Field):
    """A JSON integer (or a string of digits): refuses 1.5, 1.0, true, "abc" with one clear message."""

    default_error_messages = {
        "invalid": gettext_lazy("Must be a whole number, e.g. 5."),
        "negative": gettext_lazy("Must not be negative."),
        "zero": gettext_lazy("Must not be zero."),
        # DRF's fail() fills this with str.format, hence {max} rather than %(max)s
        "too_big": gettext_lazy("Must be at most {max}."),
    }

    def __init__(self, *, allow_negative=False, allow_zero=False, maximum=services.MAX_QUANTITY, **kwargs):
        self.allow_negative, self.allow_zero, self.maximum = allow_negative, allow_zero, maximum
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str):
            text = data.strip()
            # ASCII digits only, bounded before int() (core.inputs): "²".isdigit() is True, int("²") is not
            if not is_ascii_digits(text[1:] if text.startswith("-") else text):
                self.fail("invalid")
            data = int(text)
        if not isinstance(data, int):
            self.fail("invalid")
        if data < 0 and not self.allow_negative:
            self.fail("negative")
        if data == 0 and not self.allow_zero:
            self.fail("zero")
        if abs(data) > self.maximum:
            self.fail("too_big", max=self.maximum)
        return data

    def to_representation(self, value):
        return value


class _WholeNumberSchema(OpenApiSerializerFieldExtension):
    """OpenAPI: an integer within the field's bounds (digit strings are accepted too, but not advertised)."""

    target_class = WholeNumberField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        lowest = -field.maximum if field.allow_negative else (0 if field.allow_zero else 1)
        return {"type": "integer", "minimum": lowest, "maximum": field.maximum}


class AmountField(serializers.Field):
    """A decimal amount as a string or number ("12.34"); turned into minor units with its currency later."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int, float)):
            raise serializers.ValidationError(_("Must be an amount such as \"12.34\"."))
        return str(data).strip()

    def to_representation(self, value):
        return value


class _AmountSchema(OpenApiSerializerFieldExtension):
    target_class = AmountField

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "example": "12.34",
                "description": "A decimal amount in major units of the currency"}


def _first_bad_field(errors, path: str = "") -> tuple[str, str]:
    """The first field at fault in DRF's nested errors, as `variants[0].price`, and its message."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                sub = f"{path}[{key}]"
            elif key == "non_field_errors":
                sub = path
            else:
                sub = f"{path}.{key}" if path else str(key)
            if value:
                return _first_bad_field(value, sub)
    if isinstance(errors, list):
        for i, item in enumerate(errors):
            if item:
                return _first_bad_field(item, f"{path}[{i}]" if isinstance(item, dict) else path)
    return path, str(errors)


def _validated(serializer: serializers.Serializer) -> dict:
    """Validate, reporting the first bad field the way services do: `variants[0].price`."""
    if not serializer.is_valid():
        field, message = _first_bad_field(serializer.errors)
        raise ValidationFailed(_("%(field)s: %(message)s") % {"field": field, "message": message} if field else message,
                               field=field or None)
    return serializer.validated_data


class IdCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


# ---------------------------------------------------------------- serializers

def _visible(request, data):
    """Prices only for roles that see amounts (warehouse staff do not: permissions.visibility)."""
    from permissions.visibility import field_access, redact

    return redact(data, field_access(user=request.user, merchant=current_merchant()))


class VariantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    options = serializers.JSONField()
    name_suffix = serializers.CharField()
    price = serializers.SerializerMethodField()
    price_minor = serializers.IntegerField()
    currency = serializers.CharField()
    weight_g = serializers.IntegerField()
    barcode = serializers.CharField()
    image_url = serializers.CharField()
    is_active = serializers.BooleanField()
    low_stock_threshold = serializers.IntegerField()

    def get_price(self, obj) -> str:
        return str(Money(obj.price_minor, obj.currency).to_decimal())


class ProductOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    category_id = serializers.IntegerField(allow_null=True)
    category = serializers.SerializerMethodField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    variants = serializers.SerializerMethodField()

    def get_category(self, obj) -> str | None:
        return obj.category.name if obj.category_id else None

    def get_variants(self, obj) -> list[dict]:
        return VariantOutput(sorted(obj.variants.all(), key=lambda v: v.id), many=True).data


class VariantInput(serializers.Serializer):
    id = serializers.IntegerField(required=False)
    sku = serializers.CharField(max_length=64, required=False)
    price = AmountField(required=False)
    currency = serializers.CharField(max_length=3, required=False)
    options = serializers.DictField(child=serializers.CharField(max_length=60), required=False)
    name_suffix = serializers.CharField(max_length=120, required=False, allow_blank=True)
    weight_g = WholeNumberField(allow_zero=True, maximum=10**7, required=False)
    barcode = serializers.CharField(max_length=64, required=False, allow_blank=True)
    image_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    low_stock_threshold = WholeNumberField(allow_zero=True, required=False)


class ProductCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    category_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(choices=Product.Status.values, default=Product.Status.ACTIVE)
    variants = VariantInput(many=True, required=False, default=list)


class ProductUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    category_id = serializers.IntegerField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=Product.Status.values, required=False)
    variants = VariantInput(many=True, required=False)


def _variant_payload(items: list[dict], *, creating: bool, default_currency: str) -> list[dict]:
    """API variant input -> service dicts: the decimal price becomes minor units of its currency."""
    out = []
    for i, item in enumerate(items):
        data = {k: v for k, v in item.items() if k not in ("price",)}
        if creating or "id" not in item:
            if "sku" not in item:
                raise ValidationFailed(_("SKU is required."), field=f"variants[{i}].sku")
            if "price" not in item:
                raise ValidationFailed(_("Price is required."), field=f"variants[{i}].price")
        if "price" in item or "currency" in item:
            currency = (item.get("currency") or default_currency).upper()
            if "price" not in item:
                raise ValidationFailed(_("Give the price together with its currency."), field=f"variants[{i}].price")
            try:
                money = Money.parse(item["price"], currency, field=f"variants[{i}].price")
            except ValidationFailed as exc:
                if exc.field == "currency":
                    raise ValidationFailed(exc.message, field=f"variants[{i}].currency") from None
                raise
            if money.minor < 0:
                raise ValidationFailed(_("Price must not be negative."), field=f"variants[{i}].price")
            data["price_minor"], data["currency"] = money.minor, money.currency
        out.append(data)
    return out


class WarehouseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()
    region = serializers.CharField()
    priority = serializers.IntegerField()
    is_active = serializers.BooleanField()


class WarehouseCreateInput(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=120)
    address = serializers.CharField(required=False, allow_blank=True, default="")
    region = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    priority = WholeNumberField(allow_zero=True, allow_negative=True, required=False, default=100)
    is_active = serializers.BooleanField(required=False, default=True)


class WarehouseUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    address = serializers.CharField(required=False, allow_blank=True)
    region = serializers.CharField(max_length=32, required=False, allow_blank=True)
    priority = WholeNumberField(allow_zero=True, allow_negative=True, maximum=10**6, required=False)
    is_active = serializers.BooleanField(required=False)


class CategoryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    parent_id = serializers.IntegerField(allow_null=True)


class CategoryCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    parent_id = serializers.IntegerField(required=False, allow_null=True, default=None)


class StockLevelOutput(serializers.Serializer):
    warehouse_id = serializers.IntegerField()
    warehouse = serializers.CharField(source="warehouse.code")
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()


class StockLineInput(serializers.Serializer):
    """Which stock: the variant by `sku` or `variant_id`, the warehouse by `warehouse` code or `warehouse_id`."""

    sku = serializers.CharField(max_length=64, required=False)
    variant_id = serializers.IntegerField(required=False)
    warehouse = serializers.CharField(max_length=32, required=False)
    warehouse_id = serializers.IntegerField(required=False)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if "sku" not in attrs and "variant_id" not in attrs:
            raise ValidationFailed(_("Name the variant by sku or variant_id."), field="sku")
        if "warehouse" not in attrs and "warehouse_id" not in attrs:
            raise ValidationFailed(_("Name the warehouse by its code (warehouse) or warehouse_id."), field="warehouse")
        if "variant_id" in attrs:
            attrs["variant"] = selectors.variant_ids_by_id(ids=[attrs["variant_id"]]).get(attrs["variant_id"])
            if attrs["variant"] is None:
                raise ValidationFailed(_("Unknown variant %(id)s.") % {"id": attrs["variant_id"]}, field="variant_id")
        else:
            attrs["variant"] = selectors.variant_ids_by_sku(skus=[attrs["sku"]]).get(attrs["sku"])
            if attrs["variant"] is None:
                raise ValidationFailed(_("Unknown SKU %(sku)r.") % {"sku": attrs["sku"]}, field="sku")
        wh = (selectors.warehouse_id_by(warehouse_id=attrs["warehouse_id"]) if "warehouse_id" in attrs
              else selectors.warehouse_id_by(code=attrs["warehouse"]))
        if wh is None:
            field = "warehouse_id" if "warehouse_id" in attrs else "warehouse"
            raise ValidationFailed(_("Unknown warehouse %(warehouse)r.") % {"warehouse": attrs.get("warehouse_id", attrs.get("warehouse"))},
                                  field=field)
        attrs["warehouse_pk"] = wh
        return attrs


class ReceiptInput(StockLineInput):
    quantity = WholeNumberField()


class AdjustmentInput(StockLineInput):
    delta = WholeNumberField(allow_negative=True)
    reason = serializers.CharField(max_length=300)


class StocktakeInput(StockLineInput):
    counted = WholeNumberField(allow_zero=True)


class MovementOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    warehouse_id = serializers.IntegerField()
    warehouse = serializers.CharField(source="warehouse.code")
    on_hand_delta = serializers.IntegerField()
    reserved_delta = serializers.IntegerField()
    actor_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()


class StockOutput(serializers.Serializer):
    """One variant's stock (the answer of _stock_body)."""

    variant_id = serializers.IntegerField()
    sku = serializers.CharField()
    low_stock_threshold = serializers.IntegerField()
    levels = StockLevelOutput(many=True)
    available = serializers.IntegerField()


def _stock_body(variant_id: int) -> dict:
    variant = selectors.variant_get(variant_id=variant_id)
    levels = selectors.stock_levels_for_variant(variant_id=variant_id)
    return {
        "variant_id": variant.pk,
        "sku": variant.sku,
        "low_stock_threshold": variant.low_stock_threshold,
        "levels": StockLevelOutput(levels, many=True).data,
        "available": sum(lv.available for lv in levels if lv.warehouse.is_active),
    }


# ---------------------------------------------------------------- views

class ProductsView(APIView):
    """GET: list/search products (catalog.view). POST: create a product with variants (catalog.edit)."""

    permission_classes = [MerchantCapability]
    capabilities = {"GET": "catalog.view", "POST": "catalog.edit", "*": "catalog.view"}

    pagination_class = IdCursor  # documents the page shape and its cursor/limit parameters

    @extend_schema(responses=ProductOutput(many=True), summary="List or search products (cursor pagination)",
                   parameters=[OpenApiParameter("search", str, description="name or SKU fragment"),
                               OpenApiParameter("status", str, enum=Product.Status.values),
                               OpenApiParameter("category", int, description="category id")])
    def get(self, request):
        params = request.query_params
        category = params.get("category")
        if category is not None and not is_ascii_digits(category):
            raise ValidationFailed(_("category must be a category id."), field="category")
        status = params.get("status")
        if status and status not in Product.Status.values:
            raise ValidationFailed(_("status must be one of %(choices)s.") % {"choices": ", ".join(Product.Status.values)},
                                  field="status")
        qs = selectors.product_list_for_merchant(search=params.get("search", ""), status=status or None,
                                                 category_id=int(category) if category else None)
        paginator = IdCursor()
        page = paginator.paginate_queryset(qs.prefetch_related("variants"), request, view=self)
        return paginator.get_paginated_response(_visible(request, ProductOutput(page, many=True).data))

    @extend_schema(request=ProductCreateInput, responses={201: ProductOutput}, summary="Create a product with variants")
    def post(self, request):
        v = _validated(ProductCreateInput(data=request.data))
        variants = _variant_payload(v["variants"], creating=True, default_currency=current_merchant().default_currency)
        product = services.product_create(name=v["name"], description=v["description"], category_id=v["category_id"],
                                          status=v["status"], variants=variants, actor=request.user)
        return Response(ProductOutput(selectors.product_get(product_id=product.pk)).data, status=201)


class ProductDetailView(APIView):
    """GET one product (catalog.view); PATCH it and its variants (catalog.edit)."""

    permission_classes = [MerchantCapability]
    capabilities = {"GET": "catalog.view", "PATCH": "catalog.edit", "*": "catalog.view"}

    @extend_schema(responses=ProductOutput, summary="One product with its variants (no prices for warehouse staff)")
    def get(self, request, product_id: int):
        return Response(_visible(request, ProductOutput(selectors.product_get(product_id=product_id)).data))

    @extend_schema(request=ProductUpdateInput, responses=ProductOutput, summary="Change a product; variants with id are updated, without id created")
    def patch(self, request, product_id: int):
        v = _validated(ProductUpdateInput(data=request.data))
        kwargs = {k: v[k] for k in ("name", "description", "status") if k in v}
        if "category_id" in v:
            kwargs["category_id"] = v["category_id"]
        if "variants" in v:
            kwargs["variants"] = _variant_payload(v["variants"], creating=False,
                                                  default_currency=current_merchant().default_currency)
        services.product_update(product_id=product_id, actor=request.user, **kwargs)
        return Response(ProductOutput(selectors.product_get(product_id=product_id)).data)


class WarehousesView(APIView):
    """GET: list warehouses (stock.view). POST: create one (warehouse.edit)."""

    permission_classes = [MerchantCapability]
    capabilities = {"GET": "stock.view", "POST": "warehouse.edit", "*": "stock.view"}

    @extend_schema(responses=results_of(WarehouseOutput), summary="Warehouses, preferred first")
    def get(self, request):
        return Response({"results": WarehouseOutput(selectors.warehouse_list(), many=True).data})

    @extend_schema(request=WarehouseCreateInput, responses={201: WarehouseOutput}, summary="Create a warehouse")
    def post(self, request):
        wh = services.warehouse_create(actor=request.user, **_validated(WarehouseCreateInput(data=request.data)))
        return Response(WarehouseOutput(wh).data, status=201)


class WarehouseDetailView(APIView):
    permission_classes = [capability("warehouse.edit")]

    @extend_schema(request=WarehouseUpdateInput, responses=WarehouseOutput,
                   summary="Change a warehouse (name, address, region, priority, active)")
    def patch(self, request, warehouse_id: int):
        v = _validated(WarehouseUpdateInput(data=request.data))
        wh = services.warehouse_update(warehouse_id=warehouse_id, actor=request.user, **v)
        return Response(WarehouseOutput(wh).data)


class CategoriesView(APIView):
    """GET: list categories (catalog.view). POST: create one (catalog.edit)."""

    permission_classes = [MerchantCapability]
    capabilities = {"GET": "catalog.view", "POST": "catalog.edit", "*": "catalog.view"}

    @extend_schema(responses=results_of(CategoryOutput), summary="Product categories by name")
    def get(self, request):
        return Response({"results": CategoryOutput(selectors.category_list(), many=True).data})

    @extend_schema(request=CategoryCreateInput, responses={201: CategoryOutput}, summary="Create a category")
    def post(self, request):
        v = _validated(CategoryCreateInput(data=request.data))
        category = services.category_create(name=v["name"], parent_id=v["parent_id"], actor=request.user)
        return Response(CategoryOutput(category).data, status=201)


class VariantStockView(APIView):
    permission_classes = [capability("stock.view")]

    @extend_schema(responses=StockOutput, summary="Stock of one variant per warehouse")
    def get(self, request, variant_id: int):
        return Response(_stock_body(variant_id))


class StockReceiptView(APIView):
    permission_classes = [capability("stock.edit")]

    @extend_schema(request=ReceiptInput, responses={201: StockOutput}, summary="Receive stock into a warehouse")
    def post(self, request):
        with transaction.atomic():
            v = _validated(ReceiptInput(data=request.data))
            services.stock_receive(variant_id=v["variant"], warehouse_id=v["warehouse_pk"], quantity=v["quantity"],
                                   actor=request.user, reason=v["reason"], reference=v["reference"])
        return Response(_stock_body(v["variant"]), status=201)


class StockAdjustmentView(APIView):
    permission_classes = [capability("stock.edit")]

    @extend_schema(request=AdjustmentInput, responses={201: StockOutput},
                   summary="Adjust on-hand stock (damage, loss, found) with a reason")
    def post(self, request):
        with transaction.atomic():
            v = _validated(AdjustmentInput(data=request.data))
            services.stock_adjust(variant_id=v["variant"], warehouse_id=v["warehouse_pk"], delta=v["delta"],
                                  actor=request.user, reason=v["reason"], reference=v["reference"])
        return Response(_stock_body(v["variant"]), status=201)


class StocktakeView(APIView):
    permission_classes = [capability("stock.edit")]

    @extend_schema(request=StocktakeInput, responses={201: StockOutput},
                   summary="Record a stocktake: set on-hand to the counted quantity")
    def post(self, request):
        with transaction.atomic():
            v = _validated(StocktakeInput(data=request.data))
            services.stock_stocktake(variant_id=v["variant"], warehouse_id=v["warehouse_pk"], counted=v["counted"],
                                     actor=request.user, reason=v["reason"], reference=v["reference"])
        return Response(_stock_body(v["variant"]), status=201)


class VariantMovementsView(APIView):
    permission_classes = [capability("stock.view")]
    pagination_class = IdCursor

    @extend_schema(responses=MovementOutput(many=True), summary="Stock movement journal of one variant, newest first")
    def get(self, request, variant_id: int):
        selectors.variant_get(variant_id=variant_id)
        paginator = IdCursor()
        page = paginator.paginate_queryset(selectors.movement_list_for_variant(variant_id=variant_id), request, view=self)
        return paginator.get_paginated_response(MovementOutput(page, many=True).data)

