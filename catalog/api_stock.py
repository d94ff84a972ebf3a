"""Merchant API for integrations (ERP/WMS): stock levels by SKU and warehouse code, read and set.

GET /api/v1/stock/ lists levels (stock.view); POST /api/v1/stock/ sets one level to an absolute count
(a stocktake movement) or moves it by a delta with a reason (an adjustment), through catalog.services,
so the movement journal, the audit trail, the low-stock alert and the "never below reserved" rule are
the same as on the dashboard. A user limited to some warehouses reads and sets only theirs.
"""
from __future__ import annotations

from django.core import signing
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors, services
from catalog.api import WholeNumberField, _validated
from catalog.models import StockMovement
from core.errors import DomainError, NotFound, ValidationFailed
from core.idempotency import idempotent
from core.tenancy import current_merchant
from permissions.api_auth import MerchantCapability

PAGE_SIZE, MAX_PAGE_SIZE = 100, 500
_SALT = "catalog.stock.cursor"


class StockRowOutput(serializers.Serializer):
    level_id = serializers.IntegerField(source="pk")
    sku = serializers.CharField(source="variant.sku")
    variant_id = serializers.IntegerField()
    warehouse = serializers.CharField(source="warehouse.code")
    warehouse_id = serializers.IntegerField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField(help_text="Held for orders not yet shipped; on_hand never goes below it.")
    available = serializers.IntegerField(help_text="on_hand - reserved: what can still be sold.")
    updated_at = serializers.DateTimeField()


class StockPageOutput(serializers.Serializer):
    results = StockRowOutput(many=True)
    next = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page; null on the last page.")


class StockSetInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    warehouse = serializers.CharField(max_length=32, help_text="The warehouse's code (GET /api/v1/catalog/warehouses/).")
    quantity = WholeNumberField(allow_zero=True, required=False,
                                help_text="The absolute on-hand count (a stocktake). Give quantity or delta, not both.")
    delta = WholeNumberField(allow_negative=True, required=False,
                             help_text="Add (positive) or remove (negative) on-hand units; needs a reason.")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="",
                                      help_text="Your document number (goods receipt, count sheet); kept on the movement.")

    def validate(self, attrs):
        if ("quantity" in attrs) == ("delta" in attrs):
            raise ValidationFailed(_("Give either quantity (the new on-hand count) or delta (a change), not both."),
                                   field="quantity")
        if "delta" in attrs and not attrs["reason"].strip():
            raise ValidationFailed(_("A change by delta needs a reason."), field="reason")
        return attrs


class StockSetOutput(StockRowOutput):
    movement = serializers.SerializerMethodField(help_text="The journal entry this call wrote (null: nothing changed).")

    def get_movement(self, level) -> dict | None:
        return self.context.get("movement")


def _sku(text: str) -> int:
    variant_id = selectors.variant_ids_by_sku(skus=[text]).get(text)
    if variant_id is None:
        raise NotFound(_("No SKU %(sku)s in this store.") % {"sku": text[:64]}, field="sku")
    return variant_id


def _warehouse(code: str, scope: frozenset[int] | None) -> int:
    """A warehouse by its code; one outside the caller's warehouses is as unknown as a missing one."""
    warehouse_id = selectors.warehouse_id_by(code=code)
    if warehouse_id is None or (scope is not None and warehouse_id not in scope):
        raise NotFound(_("No warehouse %(code)s in this store.") % {"code": code[:32]}, field="warehouse")
    return warehouse_id


def _scope(request):
    return selectors.warehouse_scope_for(user=request.user, merchant=current_merchant())


def _param(request, name: str, max_length: int) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_length or not value.isprintable():
        raise ValidationFailed(_("%(field)s is too long or contains control characters.") % {"field": name}, field=name)
    return value.strip()


_FIELDS = {"counted": "quantity", "warehouse_id": "warehouse", "variant_id": "sku"}


class StockView(APIView):
    permission_classes = [MerchantCapability]
    capabilities = {"GET": "stock.view", "POST": "stock.edit"}

    @extend_schema(summary="Stock levels per SKU and warehouse (filter by sku and/or warehouse code)", responses=StockPageOutput,
                   parameters=[OpenApiParameter("sku", str, description="One SKU (exact)."),
                               OpenApiParameter("warehouse", str, description="One warehouse, by its code."),
                               OpenApiParameter("cursor", str, description="`next` of the previous page."),
                               OpenApiParameter("limit", int, description=f"Page size, 1–{MAX_PAGE_SIZE} (default {PAGE_SIZE}).")])
    def get(self, request):
        scope = _scope(request)
        sku, code = _param(request, "sku", 64), _param(request, "warehouse", 32)
        limit_text, cursor = _param(request, "limit", 4), _param(request, "cursor", 200)
        limit = PAGE_SIZE
        if limit_text is not None:
            if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= MAX_PAGE_SIZE:
                raise ValidationFailed(_("limit must be a whole number between 1 and %(max)s.") % {"max": MAX_PAGE_SIZE},
                                       field="limit")
            limit = int(limit_text)
        after_id = 0
        if cursor is not None:
            try:
                after_id = int(signing.loads(cursor, salt=_SALT))
            except (signing.BadSignature, TypeError, ValueError):
                raise ValidationFailed(_("This cursor does not belong to this list (or is damaged)."), field="cursor") from None
        if sku is not None:
            _sku(sku)
        warehouse_id = _warehouse(code, scope) if code is not None else None
        rows = selectors.stock_level_list(sku=sku, warehouse_id=warehouse_id, warehouse_ids=scope, after_id=after_id,
                                          limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return Response({"results": StockRowOutput(rows, many=True).data,
                         "next": signing.dumps(rows[-1].pk, salt=_SALT) if more else None})

    @extend_schema(
        summary="Set a stock level: an absolute count (quantity) or a change with a reason (delta)",
        request=StockSetInput, responses={200: StockSetOutput},
        examples=[OpenApiExample("Counted 40 on the shelf", request_only=True,
                                 value={"sku": "TEE-RED-M", "warehouse": "SH", "quantity": 40, "reference": "count-2026-12-03"}),
                  OpenApiExample("Two damaged", request_only=True,
                                 value={"sku": "TEE-RED-M", "warehouse": "SH", "delta": -2, "reason": "damaged in handling"})])
    @idempotent
    def post(self, request):
        body = _validated(StockSetInput(data=request.data))
        variant_id = _sku(body["sku"])
        warehouse_id = _warehouse(body["warehouse"], _scope(request))
        try:
            with transaction.atomic():
                last = StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                if "quantity" in body:
                    services.stock_stocktake(variant_id=variant_id, warehouse_id=warehouse_id, counted=body["quantity"],
                                             actor=request.user, reason=body["reason"] or "stock set through the API",
                                             reference=body["reference"])
                else:
                    services.stock_adjust(variant_id=variant_id, warehouse_id=warehouse_id, delta=body["delta"],
                                          actor=request.user, reason=body["reason"], reference=body["reference"])
                movement = (StockMovement.objects.filter(pk__gt=last, variant_id=variant_id, warehouse_id=warehouse_id)
                            .order_by("-pk").first())
        except DomainError as err:
            # the services name their own parameters; the caller sent quantity / warehouse / sku
            if err.field in _FIELDS:
                err.field = _FIELDS[err.field]
            elif not err.field:  # "not enough stock": the change asked for
                err.field = "delta" if "delta" in body else "quantity"
            raise
        level = next(lv for lv in selectors.stock_level_list(sku=body["sku"], warehouse_id=warehouse_id, limit=1))
        moved = None if movement is None else {"id": movement.pk, "kind": movement.kind, "on_hand_delta": movement.on_hand_delta,
                                               "reason": movement.reason, "reference": movement.reference}
        return Response(StockSetOutput(level, context={"movement": moved}).data)
