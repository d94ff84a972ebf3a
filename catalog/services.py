"""Catalog and stock writes of one merchant: products, variants, categories, warehouses, and every
stock change (receipt, adjustment, stocktake, reservation, release, shipment, expiry, journal repair).

Stock invariants, kept here and by CHECK constraints in the database:
  * 0 <= reserved <= on_hand for every (variant, warehouse);
  * every change of on_hand/reserved writes exactly one StockMovement row with the deltas, so the
    levels always equal the sum of the journal (see `stock_journal_check`);
  * stock levels are locked in (variant_id, warehouse_id) order, reservations before levels, so two
    concurrent multi-line operations can never deadlock.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Category, Product, StockLevel, StockMovement, StockReservation, Variant, Warehouse
from core.errors import Conflict, NotFound, OutOfStock, ValidationFailed
from core.money import exponent
from core.outbox import outbox_emit
from core.tenancy import current_merchant, merchant_only

MAX_QUANTITY = 1_000_000
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$")
WAREHOUSE_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,31}$")
TOPIC_LISTING = "catalog.listing_changed"
TOPIC_LOW_STOCK = "catalog.low_stock"


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: object = _Unset()


# ---------------------------------------------------------------- validation helpers

def _actor_id(actor) -> int | None:
    if actor is None:
        return None
    if isinstance(actor, int) and not isinstance(actor, bool):
        return actor
    return getattr(actor, "pk", None)


def validate_quantity(value, *, field: str, allow_zero: bool = False, allow_negative: bool = False) -> int:
    """A whole number of units: not a bool, not fractional, within ±MAX_QUANTITY."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("%(field)s must be a whole number of units, got %(value)r.") % {"field": field, "value": value}, field=field)
    if value == 0 and not allow_zero:
        raise ValidationFailed(_("%(field)s must not be zero.") % {"field": field}, field=field)
    if value < 0 and not allow_negative:
        raise ValidationFailed(_("%(field)s must not be negative, got %(value)s.") % {"field": field, "value": value}, field=field)
    if abs(value) > MAX_QUANTITY:
        raise ValidationFailed(_("%(field)s must be at most %(max)s units.") % {"field": field, "max": MAX_QUANTITY}, field=field)
    return value


def _text(value, *, field: str, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(_("%(field)s must be text.") % {"field": field}, field=field)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(_("%(field)s is required.") % {"field": field}, field=field)
    if len(value) > max_length:
        raise ValidationFailed(_("%(field)s is longer than %(max)s characters.") % {"field": field, "max": max_length}, field=field)
    return value


def _sku(value, *, field: str = "sku") -> str:
    sku = _text(value, field=field, max_length=64, required=True)
    if not SKU_RE.match(sku):
        raise ValidationFailed(
            _("SKU %(sku)r may only contain letters, digits and . _ - / (no spaces).") % {"sku": sku}, field=field
        )
    return sku


def _currency(value, *, field: str = "currency") -> str:
    code = (value or "").strip().upper() if isinstance(value, str) else ""
    if len(code) != 3:
        raise ValidationFailed(_("Currency must be a 3-letter ISO 4217 code."), field=field)
    try:
        exponent(code)
    except ValidationFailed:
        raise ValidationFailed(_("Unsupported currency %(code)r.") % {"code": code}, field=field) from None
    return code


def _price_minor(value, *, field: str = "price_minor") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("%(field)s must be an integer amount in minor units.") % {"field": field}, field=field)
    if value < 0:
        raise ValidationFailed(_("%(field)s must not be negative.") % {"field": field}, field=field)
    if value > 10**13:
        raise ValidationFailed(_("%(field)s is too large.") % {"field": field}, field=field)
    return value


def _non_negative_int(value, *, field: str, maximum: int = 10**9) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > maximum:
        raise ValidationFailed(_("%(field)s must be a whole number from 0 to %(max)s.") % {"field": field, "max": maximum}, field=field)
    return value


def _status(value, *, field: str = "status") -> str:
    if value not in Product.Status.values:
        raise ValidationFailed(_("Status must be one of: %(choices)s.") % {"choices": ", ".join(Product.Status.values)}, field=field)
    return value


def _emit_listing_changed(variant_ids) -> None:
    ids = sorted(set(variant_ids))
    if ids:
        outbox_emit(topic=TOPIC_LISTING, aggregate_type="variant", aggregate_id=ids[0], payload={"variant_ids": ids})


# ---------------------------------------------------------------- categories

def _authorize(actor, capability: str) -> None:
    """A person's or an integration's catalog and stock writes follow the role matrix; system work
    (seeding, checkout's reservations, the sweeps) passes no actor."""
    if actor is None:
        return
    from permissions.policy import authorize

    authorize(actor, capability, merchant=current_merchant())


def _authorize_warehouses(actor, warehouse_ids) -> None:
    """A warehouse user limited to some warehouses (django-guardian grants) may not touch others' stock."""
    if actor is None:
        return
    from catalog.selectors import warehouse_scope_for

    scope = warehouse_scope_for(user=actor, merchant=current_merchant())
    outside = sorted(set(warehouse_ids) - scope) if scope is not None else []
    if outside:
        raise NotFound(_("Unknown warehouse %(id)s.") % {"id": outside[0]}, field="warehouse_id")


def _audit(actor, entity: str, entity_id, action: str, before=None, after=None) -> None:
    """One audit row for a person's or an integration's catalog/stock change (system work has none)."""
    if actor is None:
        return
    from permissions.services import audit_record

    audit_record(actor=actor, entity=entity, entity_id=entity_id, action=action, before=before, after=after)


_PRODUCT_FIELDS = ("name", "description", "category_id", "status")
_VARIANT_AUDITED = ("sku", "price_minor", "currency", "options", "name_suffix", "weight_g", "barcode", "image_url",
                    "is_active", "low_stock_threshold")


def _variant_fields(v: Variant) -> dict:
    return {k: getattr(v, k) for k in _VARIANT_AUDITED}


@merchant_only
def category_create(*, name: str, parent_id: int | None = None, actor=None) -> Category:
    _authorize(actor, "catalog.edit")
    name = _text(name, field="name", max_length=120, required=True)
    if parent_id is not None and not Category.objects.filter(pk=parent_id).exists():
        raise ValidationFailed(_("Unknown parent category %(id)s.") % {"id": parent_id}, field="parent_id")
    with transaction.atomic():
        if Category.objects.filter(name__iexact=name, parent_id=parent_id).exists():
            raise ValidationFailed(_("Category %(name)r already exists.") % {"name": name}, field="name")
        category = Category.objects.create(name=name, parent_id=parent_id)
        _audit(actor, "category", category.pk, "create", after={"name": name, "parent_id": parent_id})
        return category


@merchant_only
def category_ensure(*, name: str, parent_id: int | None = None) -> Category:
    """The category with this name (case-insensitive) under `parent_id`, created if missing (imports)."""
    name = _text(name, field="category", max_length=120, required=True)
    existing = Category.objects.filter(name__iexact=name, parent_id=parent_id).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Category.objects.create(name=name, parent_id=parent_id)
    except IntegrityError:
        return Category.objects.get(name__iexact=name, parent_id=parent_id)


# ---------------------------------------------------------------- products and variants

_VARIANT_FIELDS = {"sku", "price_minor", "currency", "options", "name_suffix", "weight_g", "barcode", "image_url",
                   "is_active", "low_stock_threshold"}


def _clean_variant_fields(data: dict, *, prefix: str, partial: bool) -> dict:
    unknown = set(data) - _VARIANT_FIELDS - {"id"}
    if unknown:
        raise ValidationFailed(_("Unknown variant field %(f)s.") % {"f": sorted(unknown)[0]}, field=f"{prefix}{sorted(unknown)[0]}")
    out: dict = {}
    if "sku" in data or not partial:
        out["sku"] = _sku(data.get("sku"), field=f"{prefix}sku")
    if "price_minor" in data or not partial:
        out["price_minor"] = _price_minor(data.get("price_minor"), field=f"{prefix}price_minor")
    if "currency" in data or not partial:
        out["currency"] = _currency(data.get("currency", "CNY"), field=f"{prefix}currency")
    if "options" in data:
        options = data["options"] or {}
        if not isinstance(options, dict) or not all(isinstance(k, str) and isinstance(v, (str, int)) for k, v in options.items()):
            raise ValidationFailed(_("Options must map option names to values, e.g. {\"size\": \"M\"}."), field=f"{prefix}options")
        out["options"] = {k.strip(): str(v).strip() for k, v in options.items()}
    if "name_suffix" in data:
        out["name_suffix"] = _text(data["name_suffix"], field=f"{prefix}name_suffix", max_length=120)
    elif not partial and out.get("options"):
        out["name_suffix"] = " / ".join(out["options"].values())[:120]
    if "weight_g" in data:
        out["weight_g"] = _non_negative_int(data["weight_g"], field=f"{prefix}weight_g", maximum=10**7)
    if "barcode" in data:
        out["barcode"] = _text(data["barcode"], field=f"{prefix}barcode", max_length=64)
    if "image_url" in data:
        url = _text(data["image_url"], field=f"{prefix}image_url", max_length=500)
        if url and not url.startswith(("http://", "https://", "/")):
            raise ValidationFailed(_("Image URL must start with http://, https:// or /."), field=f"{prefix}image_url")
        out["image_url"] = url
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            raise ValidationFailed(_("is_active must be true or false."), field=f"{prefix}is_active")
        out["is_active"] = data["is_active"]
    if "low_stock_threshold" in data:
        out["low_stock_threshold"] = _non_negative_int(data["low_stock_threshold"], field=f"{prefix}low_stock_threshold", maximum=MAX_QUANTITY)
    return out


def _check_skus_free(skus: list[tuple[str, str]], *, exclude_ids: set[int] = frozenset()) -> None:
    """`skus` = [(sku, field)]; refuse duplicates within the call and SKUs already taken."""
    seen: dict[str, str] = {}
    for sku, field in skus:
        key = sku.upper()
        if key in seen:
            raise ValidationFailed(_("SKU %(sku)s appears twice.") % {"sku": sku}, field=field)
        seen[key] = field
    if not seen:
        return
    taken = Variant.objects.filter(sku__in=[s for s, _f in skus]).exclude(pk__in=exclude_ids).values_list("sku", flat=True)
    for sku in taken:
        raise ValidationFailed(_("SKU %(sku)s is already used by another variant.") % {"sku": sku}, field=seen[sku.upper()])


@merchant_only
def product_create(*, name: str, description: str = "", category_id: int | None = None, status: str = "active",
                   variants: list[dict] | None = None, actor=None) -> Product:
    """Create a product and its variants (dicts of Variant fields; sku and price_minor required)."""
    _authorize(actor, "catalog.edit")
    name = _text(name, field="name", max_length=200, required=True)
    description = _text(description, field="description", max_length=20000)
    status = _status(status)
    if category_id is not None and not Category.objects.filter(pk=category_id).exists():
        raise ValidationFailed(_("Unknown category %(id)s.") % {"id": category_id}, field="category_id")
    cleaned = [_clean_variant_fields(v, prefix=f"variants[{i}].", partial=False) for i, v in enumerate(variants or [])]
    _check_skus_free([(v["sku"], f"variants[{i}].sku") for i, v in enumerate(cleaned)])
    now = timezone.now()
    with transaction.atomic():
        product = Product.objects.create(name=name, description=description, category_id=category_id, status=status,
                                         created_at=now, updated_at=now)
        try:
            with transaction.atomic():
                created = Variant.objects.bulk_create([Variant(product=product, created_at=now, updated_at=now, **v) for v in cleaned])
        except IntegrityError:  # a concurrent create took the SKU between our check and the insert
            raise ValidationFailed(_("A SKU of this product is already used by another variant."), field="variants") from None
        _emit_listing_changed([v.pk for v in created])
        _audit(actor, "product", product.pk, "create", after={
            **{k: getattr(product, k) for k in _PRODUCT_FIELDS},
            "variants": {v.sku: {"price_minor": v.price_minor, "currency": v.currency} for v in created}})
    return product


@merchant_only
def product_update(*, product_id: int, name: str | None = None, description: str | None = None,
                   category_id: int | None | object = UNSET, status: str | None = None,
                   variants: list[dict] | None = None, actor=None) -> Product:
    """Change a product; `variants` items with an "id" update that variant, items without create one."""
    _authorize(actor, "catalog.edit")
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id).first()
        if product is None:
            raise NotFound(_("No product %(id)s.") % {"id": product_id}, field="product_id")
        before = {k: getattr(product, k) for k in _PRODUCT_FIELDS}
        if name is not None:
            product.name = _text(name, field="name", max_length=200, required=True)
        if description is not None:
            product.description = _text(description, field="description", max_length=20000)
        if category_id is not UNSET:
            if category_id is not None and not Category.objects.filter(pk=category_id).exists():
                raise ValidationFailed(_("Unknown category %(id)s.") % {"id": category_id}, field="category_id")
            product.category_id = category_id
        if status is not None:
            product.status = _status(status)
        product.updated_at = timezone.now()
        product.save()
        touched = list(product.variants.values_list("id", flat=True))  # status/name change reaches every variant
        updates, creates = [], []
        for i, item in enumerate(variants or []):
            if not isinstance(item, dict):
                raise ValidationFailed(_("Each variant must be an object."), field=f"variants[{i}]")
            if item.get("id") is not None:
                updates.append((i, item["id"], _clean_variant_fields(item, prefix=f"variants[{i}].", partial=True)))
            else:
                creates.append((i, _clean_variant_fields(item, prefix=f"variants[{i}].", partial=False)))
        own = set(touched)
        for i, vid, _fields in updates:
            if vid not in own:
                raise ValidationFailed(_("Variant %(id)s does not belong to this product.") % {"id": vid}, field=f"variants[{i}].id")
        _check_skus_free([(f["sku"], f"variants[{i}].sku") for i, _v, f in updates if "sku" in f]
                         + [(f["sku"], f"variants[{i}].sku") for i, f in creates],
                         exclude_ids={vid for _i, vid, f in updates if "sku" in f})
        now = timezone.now()
        old = {v.pk: v for v in Variant.objects.filter(pk__in=[u[1] for u in updates])} if actor is not None else {}
        after = {k: getattr(product, k) for k in _PRODUCT_FIELDS}
        for _i, vid, fields in sorted(updates, key=lambda u: u[1]):
            if fields:
                Variant.objects.filter(pk=vid).update(updated_at=now, **fields)
                if vid in old:  # each changed variant field, keyed by the variant's SKU before the change
                    key = f"variants[{old[vid].sku}]"
                    before[key] = {f: getattr(old[vid], f) for f in fields if f in _VARIANT_AUDITED}
                    after[key] = {f: v for f, v in fields.items() if f in _VARIANT_AUDITED}
        if creates:
            new = Variant.objects.bulk_create([Variant(product=product, created_at=now, updated_at=now, **f) for _i, f in creates])
            touched += [v.pk for v in new]
            for v in new:
                after[f"variants[{v.sku}]"] = {"price_minor": v.price_minor, "currency": v.currency, "created": True}
        _emit_listing_changed(touched)
        _audit(actor, "product", product.pk, "update", before=before, after=after)
    return product


@merchant_only
def variant_create(*, product_id: int, sku: str, price_minor: int, currency: str = "CNY", options: dict | None = None,
                   name_suffix: str | None = None, weight_g: int = 0, barcode: str = "", image_url: str = "",
                   is_active: bool = True, low_stock_threshold: int = 5, actor=None) -> Variant:
    _authorize(actor, "catalog.edit")
    data = {"sku": sku, "price_minor": price_minor, "currency": currency, "options": options or {}, "weight_g": weight_g,
            "barcode": barcode, "image_url": image_url, "is_active": is_active, "low_stock_threshold": low_stock_threshold}
    if name_suffix is not None:
        data["name_suffix"] = name_suffix
    fields = _clean_variant_fields(data, prefix="", partial=False)
    _check_skus_free([(fields["sku"], "sku")])
    with transaction.atomic():
        if not Product.objects.filter(pk=product_id).exists():
            raise NotFound(_("No product %(id)s.") % {"id": product_id}, field="product_id")
        try:
            with transaction.atomic():
                variant = Variant.objects.create(product_id=product_id, **fields)
        except IntegrityError:
            raise ValidationFailed(_("SKU %(sku)s is already used by another variant.") % {"sku": fields["sku"]}, field="sku") from None
        _emit_listing_changed([variant.pk])
        _audit(actor, "variant", variant.pk, "create", after={"product_id": product_id, **_variant_fields(variant)})
    return variant


@merchant_only
def variant_update(*, variant_id: int, actor=None, **changes) -> Variant:
    """Change some of a variant's fields (sku, price_minor, currency, options, name_suffix, weight_g,
    barcode, image_url, is_active, low_stock_threshold)."""
    _authorize(actor, "catalog.edit")
    fields = _clean_variant_fields(changes, prefix="", partial=True)
    fields.pop("id", None)
    with transaction.atomic():
        variant = Variant.objects.select_for_update().filter(pk=variant_id).first()
        if variant is None:
            raise NotFound(_("No variant %(id)s.") % {"id": variant_id}, field="variant_id")
        if "sku" in fields:
            _check_skus_free([(fields["sku"], "sku")], exclude_ids={variant.pk})
        before = _variant_fields(variant)
        for key, value in fields.items():
            setattr(variant, key, value)
        variant.updated_at = timezone.now()
        variant.save()
        _emit_listing_changed([variant.pk])
        _audit(actor, "variant", variant.pk, "update", before=before, after=_variant_fields(variant))
    return variant


# ---------------------------------------------------------------- warehouses

@merchant_only
def warehouse_create(*, code: str, name: str, address: str = "", region: str = "", priority: int = 100,
                     is_active: bool = True, actor=None) -> Warehouse:
    _authorize(actor, "warehouse.edit")
    code = _text(code, field="code", max_length=32, required=True)
    if not WAREHOUSE_CODE_RE.match(code):
        raise ValidationFailed(_("Warehouse code may only contain letters, digits, _ and -."), field="code")
    fields = _warehouse_fields(name=name, address=address, region=region, priority=priority, is_active=is_active)
    with transaction.atomic():
        if Warehouse.objects.filter(code__iexact=code).exists():
            raise ValidationFailed(_("Warehouse code %(code)s is already used.") % {"code": code}, field="code")
        warehouse = Warehouse.objects.create(code=code, **fields)
        _audit(actor, "warehouse", warehouse.pk, "create", after={"code": code, **fields})
        return warehouse


def _warehouse_fields(**raw) -> dict:
    out = {}
    if raw.get("name") is not None:
        out["name"] = _text(raw["name"], field="name", max_length=120, required=True)
    if raw.get("address") is not None:
        out["address"] = _text(raw["address"], field="address", max_length=2000)
    if raw.get("region") is not None:
        out["region"] = _text(raw["region"], field="region", max_length=32)
    if raw.get("priority") is not None:
        p = raw["priority"]
        if isinstance(p, bool) or not isinstance(p, int) or not -10**6 <= p <= 10**6:
            raise ValidationFailed(_("Priority must be a whole number."), field="priority")
        out["priority"] = p
    if raw.get("is_active") is not None:
        if not isinstance(raw["is_active"], bool):
            raise ValidationFailed(_("is_active must be true or false."), field="is_active")
        out["is_active"] = raw["is_active"]
    return out


@merchant_only
def warehouse_update(*, warehouse_id: int, name: str | None = None, address: str | None = None, region: str | None = None,
                     priority: int | None = None, is_active: bool | None = None, actor=None) -> Warehouse:
    _authorize(actor, "warehouse.edit")
    fields = _warehouse_fields(name=name, address=address, region=region, priority=priority, is_active=is_active)
    with transaction.atomic():
        warehouse = Warehouse.objects.select_for_update().filter(pk=warehouse_id).first()
        if warehouse is None:
            raise NotFound(_("No warehouse %(id)s.") % {"id": warehouse_id}, field="warehouse_id")
        before = {key: getattr(warehouse, key) for key in fields}
        for key, value in fields.items():
            setattr(warehouse, key, value)
        warehouse.save()
        _audit(actor, "warehouse", warehouse.pk, "update", before=before, after=fields)
        if "is_active" in fields:  # availability shown to shoppers sums active warehouses only
            _emit_listing_changed(StockLevel.objects.filter(warehouse=warehouse).values_list("variant_id", flat=True))
    return warehouse


# ---------------------------------------------------------------- stock: the one place levels change

@dataclass(frozen=True)
class _Change:
    variant_id: int
    warehouse_id: int
    on_hand_delta: int
    reserved_delta: int
    kind: str
    reason: str = ""
    reference: str = ""
    field: str | None = None  # where the caller named this line, for error messages


@dataclass(frozen=True)
class LevelAfter:
    """A stock level after a change."""

    variant_id: int
    warehouse_id: int
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


_LOCK_SQL = """
    SELECT s.id, s.variant_id, s.warehouse_id, s.on_hand, s.reserved, s.low_alerted,
           v.sku, v.low_stock_threshold, w.code
    FROM catalog_stocklevel s
    JOIN unnest(%s::bigint[], %s::bigint[]) AS k(vid, wid) ON s.variant_id = k.vid AND s.warehouse_id = k.wid
    JOIN catalog_variant v ON v.id = s.variant_id
    JOIN catalog_warehouse w ON w.id = s.warehouse_id
    ORDER BY s.variant_id, s.warehouse_id
    FOR UPDATE OF s
"""

# The guard repeats the invariant so that the update itself can never oversell, even if the
# Python check above it were wrong; the CHECK constraints are the last line.
_UPDATE_SQL = """
    UPDATE catalog_stocklevel s
    SET on_hand = s.on_hand + d.doh, reserved = s.reserved + d.dres, low_alerted = d.flag, updated_at = %s
    FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::boolean[]) AS d(id, doh, dres, flag)
    WHERE s.id = d.id AND s.reserved + d.dres >= 0 AND s.on_hand + d.doh >= s.reserved + d.dres
    RETURNING s.id
"""

_ENSURE_SQL = """
    INSERT INTO catalog_stocklevel (variant_id, warehouse_id, on_hand, reserved, low_alerted, updated_at)
    SELECT k.vid, k.wid, 0, 0, true, %s FROM unnest(%s::bigint[], %s::bigint[]) AS k(vid, wid)
    ORDER BY k.vid, k.wid
    ON CONFLICT (variant_id, warehouse_id) DO NOTHING
"""


def _short(change: _Change, *, sku: str, code: str, available: int, requested: int):
    return OutOfStock(
        _("Not enough stock of SKU %(sku)s in warehouse %(wh)s: %(req)s requested, %(avail)s available.")
        % {"sku": sku, "wh": code, "req": requested, "avail": available},
        field=change.field,
        details={"sku": sku, "warehouse": code, "requested": requested, "available": available},
    )


def _unknown_level(change: _Change) -> Exception:
    """A (variant, warehouse) without a stock level: say which part is wrong. Error path only."""
    prefix = f"{change.field}." if change.field else ""
    variant = Variant.objects.filter(pk=change.variant_id).values_list("sku", flat=True).first()
    if variant is None:
        return ValidationFailed(_("Unknown variant %(id)s.") % {"id": change.variant_id}, field=f"{prefix}variant_id")
    code = Warehouse.objects.filter(pk=change.warehouse_id).values_list("code", flat=True).first()
    if code is None:
        return ValidationFailed(_("Unknown warehouse %(id)s.") % {"id": change.warehouse_id}, field=f"{prefix}warehouse_id")
    return _short(change, sku=variant, code=code, available=0,
                  requested=change.reserved_delta if change.reserved_delta > 0 else -change.on_hand_delta)


def _apply_changes(changes: list[_Change], *, actor_id: int | None, create_missing: bool = False) -> dict[tuple[int, int], LevelAfter]:
    """Apply stock deltas in a constant number of statements; must run inside a transaction.

    Locks the levels in (variant, warehouse) order, refuses any change that would make reserved
    negative or exceed on_hand (OutOfStock naming the line), writes one movement per change,
    raises/re-arms low-stock alerts and emits one listing event.
    """
    if not changes:
        return {}
    totals: dict[tuple[int, int], list[int]] = {}
    first: dict[tuple[int, int], _Change] = {}
    for c in changes:
        key = (c.variant_id, c.warehouse_id)
        t = totals.setdefault(key, [0, 0])
        t[0] += c.on_hand_delta
        t[1] += c.reserved_delta
        first.setdefault(key, c)
    keys = sorted(totals)
    vids = [k[0] for k in keys]
    wids = [k[1] for k in keys]
    now = timezone.now()
    with connection.cursor() as cur:
        if create_missing:
            cur.execute(_ENSURE_SQL, [now, vids, wids])
        cur.execute(_LOCK_SQL, [vids, wids])
        rows = {(r[1], r[2]): r for r in cur.fetchall()}
        ids, dohs, dres, flags, alerts, after = [], [], [], [], [], {}
        for key in keys:
            row = rows.get(key)
            if row is None:
                raise _unknown_level(first[key])
            level_id, _v, _w, on_hand, reserved, alerted, sku, threshold, code = row
            doh, dre = totals[key]
            new_on_hand, new_reserved = on_hand + doh, reserved + dre
            if new_reserved < 0:
                raise Conflict(_("Cannot release more than is reserved of SKU %(sku)s in %(wh)s.") % {"sku": sku, "wh": code},
                               field=first[key].field)
            if new_on_hand < new_reserved:
                requested = dre if dre > 0 else -doh
                raise _short(first[key], sku=sku, code=code, available=on_hand - reserved, requested=requested)
            available = new_on_hand - new_reserved
            flag = alerted
            if available <= threshold and not alerted:
                flag = True
                alerts.append({"sku": sku, "variant_id": key[0], "available": available, "threshold": threshold,
                               "warehouse": code, "warehouse_id": key[1]})
            elif available > threshold and alerted:
                flag = False  # re-armed: the next dip alerts again
            ids.append(level_id)
            dohs.append(doh)
            dres.append(dre)
            flags.append(flag)
            after[key] = LevelAfter(key[0], key[1], new_on_hand, new_reserved)
        cur.execute(_UPDATE_SQL, [now, ids, dohs, dres, flags])
        if cur.rowcount != len(ids):  # impossible while we hold the row locks; refuse loudly
            raise Conflict(_("Stock changed underneath this operation; nothing was changed."))
    StockMovement.objects.bulk_create([
        StockMovement(kind=c.kind, variant_id=c.variant_id, warehouse_id=c.warehouse_id, on_hand_delta=c.on_hand_delta,
                      reserved_delta=c.reserved_delta, actor_id=actor_id, reason=c.reason[:300], reference=c.reference[:120],
                      created_at=now)
        for c in changes
    ])
    for alert in alerts:
        outbox_emit(topic=TOPIC_LOW_STOCK, aggregate_type="variant", aggregate_id=alert["variant_id"], payload=alert)
    _emit_listing_changed(vids)
    return after


def _audit_stock(actor, kind: str, changes: list[_Change], levels: dict) -> None:
    """One audit row per stock write: each level's on-hand before → after, keyed variant:warehouse."""
    if actor is None:
        return
    delta: dict[tuple[int, int], int] = {}
    for c in changes:
        delta[(c.variant_id, c.warehouse_id)] = delta.get((c.variant_id, c.warehouse_id), 0) + c.on_hand_delta
    before = {f"{v}:{w}": levels[(v, w)].on_hand - d for (v, w), d in delta.items()}
    after = {f"{v}:{w}": levels[(v, w)].on_hand for (v, w) in delta}
    reason = " ".join(filter(None, (changes[0].reason, changes[0].reference)))
    entity_id = f"{changes[0].variant_id}:{changes[0].warehouse_id}" if len(changes) == 1 else f"{len(changes)} levels"
    _audit(actor, "stock", entity_id, str(kind), before={"on_hand": before},
           after={"on_hand": after, **({"reason": reason} if reason else {})})


def _single(kind: str, *, variant_id, warehouse_id, on_hand_delta: int, reserved_delta: int = 0, actor=None,
            reason: str = "", reference: str = "", create_missing: bool = False) -> LevelAfter:
    for name, value in (("variant_id", variant_id), ("warehouse_id", warehouse_id)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationFailed(_("%(f)s must be an id.") % {"f": name}, field=name)
    reason = _text(reason, field="reason", max_length=300)
    reference = _text(reference, field="reference", max_length=120)
    change = _Change(variant_id, warehouse_id, on_hand_delta, reserved_delta, kind, reason, reference)
    _authorize_warehouses(actor, [warehouse_id])
    with transaction.atomic():
        if create_missing:
            if not Variant.objects.filter(pk=variant_id).exists():
                raise ValidationFailed(_("Unknown variant %(id)s.") % {"id": variant_id}, field="variant_id")
            if not Warehouse.objects.filter(pk=warehouse_id).exists():
                raise ValidationFailed(_("Unknown warehouse %(id)s.") % {"id": warehouse_id}, field="warehouse_id")
        after = _apply_changes([change], actor_id=_actor_id(actor), create_missing=create_missing)[(variant_id, warehouse_id)]
        _audit_stock(actor, kind, [change], {(variant_id, warehouse_id): after})
        return after


@merchant_only
def stock_receive(*, variant_id: int, warehouse_id: int, quantity: int, actor=None, reason: str = "",
                  reference: str = "") -> LevelAfter:
    """Goods arrived: on_hand += quantity."""
    _authorize(actor, "stock.edit")
    quantity = validate_quantity(quantity, field="quantity")
    return _single(StockMovement.Kind.RECEIPT, variant_id=variant_id, warehouse_id=warehouse_id, on_hand_delta=quantity,
                   actor=actor, reason=reason, reference=reference, create_missing=True)


@dataclass(frozen=True)
class ReceiveLine:
    variant_id: int
    warehouse_id: int
    quantity: int


@merchant_only
def stock_receive_bulk(*, lines: list[ReceiveLine], actor=None, reason: str = "", reference: str = "") -> int:
    """Receive many lines in one transaction and a constant number of statements (imports, demo). Returns units."""
    _authorize(actor, "stock.edit")
    changes = []
    for i, line in enumerate(lines):
        q = validate_quantity(line.quantity, field=f"lines[{i}].quantity")
        changes.append(_Change(line.variant_id, line.warehouse_id, q, 0, StockMovement.Kind.RECEIPT, reason, reference, f"lines[{i}]"))
    if not changes:
        return 0
    _authorize_warehouses(actor, [c.warehouse_id for c in changes])
    with transaction.atomic():
        known_v = set(Variant.objects.filter(pk__in={c.variant_id for c in changes}).values_list("id", flat=True))
        known_w = set(Warehouse.objects.filter(pk__in={c.warehouse_id for c in changes}).values_list("id", flat=True))
        for c in changes:
            if c.variant_id not in known_v:
                raise ValidationFailed(_("Unknown variant %(id)s.") % {"id": c.variant_id}, field=f"{c.field}.variant_id")
            if c.warehouse_id not in known_w:
                raise ValidationFailed(_("Unknown warehouse %(id)s.") % {"id": c.warehouse_id}, field=f"{c.field}.warehouse_id")
        levels = _apply_changes(changes, actor_id=_actor_id(actor), create_missing=True)
        _audit_stock(actor, StockMovement.Kind.RECEIPT, changes, levels)
    return sum(c.on_hand_delta for c in changes)


@merchant_only
def stock_return(*, variant_id: int, warehouse_id: int, quantity: int, actor=None, reason: str = "",
                 reference: str = "") -> LevelAfter:
    """Returned goods put back on the shelf: on_hand += quantity."""
    _authorize(actor, "stock.edit")
    quantity = validate_quantity(quantity, field="quantity")
    return _single(StockMovement.Kind.RETURN, variant_id=variant_id, warehouse_id=warehouse_id, on_hand_delta=quantity,
                   actor=actor, reason=reason, reference=reference, create_missing=True)


@merchant_only
def stock_adjust(*, variant_id: int, warehouse_id: int, delta: int, actor=None, reason: str, reference: str = "") -> LevelAfter:
    """Correct on_hand by `delta` (damage, loss, found goods). Refused if it would cut into reserved stock."""
    _authorize(actor, "stock.edit")
    delta = validate_quantity(delta, field="delta", allow_negative=True)
    if not (reason or "").strip():
        raise ValidationFailed(_("An adjustment needs a reason."), field="reason")
    return _single(StockMovement.Kind.ADJUSTMENT, variant_id=variant_id, warehouse_id=warehouse_id, on_hand_delta=delta,
                   actor=actor, reason=reason, reference=reference, create_missing=delta > 0)


@merchant_only
def stock_stocktake(*, variant_id: int, warehouse_id: int, counted: int, actor, reason: str = "stocktake",
                    reference: str = "") -> LevelAfter:
    """Set on_hand to what was counted on the shelf (a stocktake movement with the difference)."""
    _authorize(actor, "stock.edit")
    counted = validate_quantity(counted, field="counted", allow_zero=True)
    reason = _text(reason, field="reason", max_length=300) or "stocktake"
    _authorize_warehouses(actor, [warehouse_id])
    with transaction.atomic():
        if not Variant.objects.filter(pk=variant_id).exists():
            raise ValidationFailed(_("Unknown variant %(id)s.") % {"id": variant_id}, field="variant_id")
        if not Warehouse.objects.filter(pk=warehouse_id).exists():
            raise ValidationFailed(_("Unknown warehouse %(id)s.") % {"id": warehouse_id}, field="warehouse_id")
        StockLevel.objects.get_or_create(variant_id=variant_id, warehouse_id=warehouse_id, defaults={"low_alerted": True})
        level = StockLevel.objects.select_for_update().select_related("variant", "warehouse").get(
            variant_id=variant_id, warehouse_id=warehouse_id)
        if counted < level.reserved:
            raise ValidationFailed(
                _("Counted %(c)s of SKU %(sku)s but %(r)s are reserved for orders; ship or release them first.")
                % {"c": counted, "sku": level.variant.sku, "r": level.reserved}, field="counted")
        change = _Change(variant_id, warehouse_id, counted - level.on_hand, 0, StockMovement.Kind.STOCKTAKE, reason, reference)
        after = _apply_changes([change], actor_id=_actor_id(actor))[(variant_id, warehouse_id)]
        _audit_stock(actor, StockMovement.Kind.STOCKTAKE, [change], {(variant_id, warehouse_id): after})
        return after


# ---------------------------------------------------------------- reservations (the checkout hot path)

@dataclass(frozen=True)
class ReserveLine:
    variant_id: int
    warehouse_id: int
    quantity: int
    owner: str  # e.g. "suborder_line:42"


@merchant_only
def stock_reserve(*, lines: list[ReserveLine], expires_at: datetime | None, actor=None, reference: str = "",
                  want_reservations: bool = True) -> list[StockReservation]:
    """Reserve every line or nothing (OutOfStock names the short line).

    ONE statement whatever the number of lines (_RESERVE_SQL): lock the levels in (variant,
    warehouse) order, one guarded UPDATE, the movements and the reservations; then the low-stock
    and listing events (buffered by the caller's outbox batch, if any). Repeated (variant,
    warehouse) pairs are merged into one level change. A refusal is computed on the error path.
    `want_reservations=False` returns [] instead of the reservations (a channel import's thousands of lines need none).
    """
    if not lines:
        raise ValidationFailed(_("Nothing to reserve."), field="lines")
    reference = _text(reference, field="reference", max_length=120)
    merged: dict[tuple[str, int, int], list] = {}  # (owner, variant, warehouse) -> [quantity, first index]
    for i, line in enumerate(lines):
        if not isinstance(line, ReserveLine):
            raise ValidationFailed(_("Each line must be a ReserveLine."), field=f"lines[{i}]")
        for name in ("variant_id", "warehouse_id"):
            value = getattr(line, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationFailed(_("%(f)s must be an id.") % {"f": name}, field=f"lines[{i}].{name}")
        qty = validate_quantity(line.quantity, field=f"lines[{i}].quantity")
        owner = _text(line.owner, field=f"lines[{i}].owner", max_length=120, required=True)
        entry = merged.setdefault((owner, line.variant_id, line.warehouse_id), [0, i])
        entry[0] += qty
    changes = [
        _Change(v, w, 0, qty, StockMovement.Kind.RESERVATION, owner, reference or owner, f"lines[{i}]")
        for (owner, v, w), (qty, i) in merged.items()
    ]
    for c in changes:
        if c.reserved_delta > MAX_QUANTITY:
            raise ValidationFailed(_("At most %(max)s units per line.") % {"max": MAX_QUANTITY}, field=c.field)
    now = timezone.now()
    if connection.in_atomic_block:
        # Inside the caller's transaction (checkout): no savepoint of its own, two statements fewer
        # per merchant. A refusal (OutOfStock, unknown line) means the one statement wrote nothing,
        # so the caller's transaction stays usable if the caller catches it inside its own block
        # (checkout does not: the refusal leaves suborders_create_for_checkout's savepoint-less block,
        # which dooms the transaction, and order_checkout re-plans and retries it whole); a database error
        # in that statement marks the caller's transaction for rollback, so a partial reservation
        # can never be committed. All or nothing either way.
        return _reserve(changes, merged, expires_at=expires_at, now=now, actor=actor, want_reservations=want_reservations)
    with transaction.atomic():
        return _reserve(changes, merged, expires_at=expires_at, now=now, actor=actor, want_reservations=want_reservations)


# The whole reservation in ONE statement (the checkout hot path: one round trip per merchant).
# The lines arrive as one JSON array (one parameter: far cheaper to bind than a dozen arrays).
#   line    the reservations, one per (owner, variant, warehouse), in the caller's order (i);
#   want    the level changes asked for: one row per (variant, warehouse), quantities summed;
#   locked  lock those levels in (variant_id, warehouse_id) order, the lock order of every stock
#           writer, so two checkouts over the same rows queue instead of deadlocking; the values read
#           are the newest committed ones (READ COMMITTED re-reads a row after waiting for its lock);
#   ok      every asked level exists and has enough free stock: the all-or-nothing decision;
#   upd     reserve on every level or on none (gated by ok). The guard repeats the invariant so the
#           UPDATE itself can never oversell; low_alerted := available after <= threshold, which is
#           what the alert/re-arm rule of _apply_changes amounts to;
#   mov     one reservation movement per line (the journal), only for levels that were updated;
#   res     one reservation row per line, only for levels that were updated.
# The result: one row per updated level (with the before-state, for low-stock alerts) and one per
# reservation. No rows at all = refused, and then nothing was written: the caller's transaction
# stays usable, and _reserve_refusal names the short line.
_RESERVE_SQL = """
    WITH line AS (
        SELECT * FROM jsonb_to_recordset(%(lines)s::jsonb)
            AS x(i integer, owner text, variant_id bigint, warehouse_id bigint, qty bigint, reference text)
    ), want AS (
        SELECT variant_id, warehouse_id, sum(qty) AS qty FROM line GROUP BY variant_id, warehouse_id
    ), locked AS MATERIALIZED (
        SELECT s.id, s.variant_id, s.warehouse_id, s.on_hand, s.reserved, s.low_alerted, want.qty,
               (SELECT v.low_stock_threshold FROM catalog_variant v WHERE v.id = s.variant_id) AS threshold
        FROM catalog_stocklevel s
        JOIN want ON s.variant_id = want.variant_id AND s.warehouse_id = want.warehouse_id
        ORDER BY s.variant_id, s.warehouse_id
        FOR UPDATE OF s
    ), ok AS (
        SELECT count(*) = (SELECT count(*) FROM want) AND coalesce(bool_and(l.on_hand - l.reserved >= l.qty), false) AS ok FROM locked l
    ), upd AS (
        UPDATE catalog_stocklevel s
        SET reserved = s.reserved + l.qty,
            low_alerted = (s.on_hand - s.reserved - l.qty <= l.threshold),
            updated_at = %(now)s
        FROM locked l
        WHERE s.id = l.id AND (SELECT ok FROM ok) AND s.on_hand >= s.reserved + l.qty
        RETURNING s.variant_id, s.warehouse_id, s.on_hand, s.reserved, l.low_alerted AS was_alerted, l.threshold
    ), mov AS (
        INSERT INTO catalog_stockmovement (kind, variant_id, warehouse_id, on_hand_delta, reserved_delta, actor_id,
                                           reason, reference, created_at)
        SELECT %(kind)s, x.variant_id, x.warehouse_id, 0, x.qty, %(actor_id)s, x.owner, x.reference, %(now)s
        FROM line x JOIN upd u ON u.variant_id = x.variant_id AND u.warehouse_id = x.warehouse_id
        ORDER BY x.i
    ), res AS (
        INSERT INTO catalog_stockreservation (owner, variant_id, warehouse_id, quantity, shipped_quantity, status,
                                              expires_at, created_at, closed_at)
        SELECT x.owner, x.variant_id, x.warehouse_id, x.qty, 0, %(active)s, %(expires_at)s, %(now)s, NULL
        FROM line x JOIN upd u ON u.variant_id = x.variant_id AND u.warehouse_id = x.warehouse_id
        ORDER BY x.i
        RETURNING id, owner, variant_id, warehouse_id
    )
    SELECT 'level', u.variant_id, u.warehouse_id, u.on_hand, u.reserved, u.was_alerted, u.threshold,
           (SELECT v.sku FROM catalog_variant v WHERE v.id = u.variant_id),
           (SELECT wh.code FROM catalog_warehouse wh WHERE wh.id = u.warehouse_id), NULL::text
    FROM upd u
    UNION ALL
    SELECT 'reservation', r.variant_id, r.warehouse_id, r.id, NULL, NULL, NULL, NULL, NULL, r.owner
    FROM res r
"""


def _reserve(changes, merged, *, expires_at, now, actor, want_reservations: bool = True) -> list[StockReservation]:
    """Reserve `merged` ({(owner, variant, warehouse): [quantity, first index]}) with _RESERVE_SQL."""
    totals: dict[tuple[int, int], int] = {}
    first: dict[tuple[int, int], _Change] = {}
    for c in changes:
        key = (c.variant_id, c.warehouse_id)
        totals[key] = totals.get(key, 0) + c.reserved_delta
        first.setdefault(key, c)
    keys = sorted(totals)
    params = {
        "lines": json.dumps([{"i": n, "owner": c.reason, "variant_id": c.variant_id, "warehouse_id": c.warehouse_id,
                              "qty": c.reserved_delta, "reference": c.reference} for n, c in enumerate(changes)]),
        "kind": StockMovement.Kind.RESERVATION, "actor_id": _actor_id(actor),
        "active": StockReservation.Status.ACTIVE, "expires_at": expires_at, "now": now,
    }
    try:
        with connection.cursor() as cur:
            # Named after the schema: a server-side prepared statement is re-planned whenever it runs
            # under another search_path, so each merchant schema gets a statement (and plan) of its own.
            cur.execute(f"/* {connection.schema_name} */{_RESERVE_SQL}", params)
            rows = cur.fetchall()
    except BaseException:
        transaction.set_rollback(True)  # the statement may have written part of its rows before failing
        raise
    if not rows:  # refused: nothing was written
        raise _reserve_refusal(keys, totals, first)
    levels = [r for r in rows if r[0] == "level"]
    ids = {(r[9], r[1], r[2]): r[3] for r in rows if r[0] == "reservation"}
    if len(levels) != len(keys) or len(ids) != len(merged):  # impossible while we hold the row locks
        transaction.set_rollback(True)
        raise Conflict(_("Stock changed underneath this operation; nothing was changed."))
    for _kind, vid, wid, on_hand, reserved, was_alerted, threshold, sku, code, _owner in sorted(levels, key=lambda r: (r[1], r[2])):
        available = on_hand - reserved
        if available <= threshold and not was_alerted:
            outbox_emit(topic=TOPIC_LOW_STOCK, aggregate_type="variant", aggregate_id=vid,
                        payload={"sku": sku, "variant_id": vid, "available": available, "threshold": threshold,
                                 "warehouse": code, "warehouse_id": wid})
    _emit_listing_changed(key[0] for key in keys)
    if not want_reservations:
        return []
    out = []
    for (owner, v, w), (qty, _i) in merged.items():
        reservation = StockReservation(id=ids[(owner, v, w)], owner=owner, variant_id=v, warehouse_id=w, quantity=qty,
                                       shipped_quantity=0, status=StockReservation.Status.ACTIVE, expires_at=expires_at,
                                       created_at=now, closed_at=None)
        reservation._state.adding = False
        reservation._state.db = connection.alias
        out.append(reservation)
    return out


def _reserve_refusal(keys, totals, first) -> Exception:
    """Why _RESERVE_SQL reserved nothing, naming the first short line. Error path only: the
    levels are still locked by this transaction, so what we read here is what the statement saw."""
    with connection.cursor() as cur:
        cur.execute(_LOCK_SQL, [[k[0] for k in keys], [k[1] for k in keys]])
        rows = {(r[1], r[2]): r for r in cur.fetchall()}
    for key in keys:
        row = rows.get(key)
        if row is None:
            return _unknown_level(first[key])
        _id, _v, _w, on_hand, reserved, _alerted, sku, _threshold, code = row
        if on_hand - reserved < totals[key]:
            return _short(first[key], sku=sku, code=code, available=on_hand - reserved, requested=totals[key])
    return Conflict(_("Stock changed underneath this operation; nothing was changed."))


def _close_reservations(reservations: list[StockReservation], *, status: str, reason: str, actor_id: int | None) -> int:
    """Give back the open quantity of locked, active reservations; returns the units released."""
    open_res = [r for r in reservations if r.open_quantity > 0]
    changes = [
        _Change(r.variant_id, r.warehouse_id, 0, -r.open_quantity, StockMovement.Kind.RELEASE, reason, r.owner)
        for r in open_res
    ]
    _apply_changes(changes, actor_id=actor_id)
    StockReservation.objects.filter(pk__in=[r.pk for r in reservations]).update(status=status, closed_at=timezone.now())
    return sum(r.open_quantity for r in open_res)


@merchant_only
def stock_release(*, owners: list[str], reason: str, actor=None) -> int:
    """Release the active reservations of these owners (cancel, payment failed). Idempotent; returns units released."""
    owners = [o for o in dict.fromkeys(owners or []) if o]
    if not owners:
        return 0
    reason = _text(reason, field="reason", max_length=300) or "released"
    with transaction.atomic():
        reservations = list(StockReservation.objects.select_for_update()
                            .filter(owner__in=owners, status=StockReservation.Status.ACTIVE).order_by("id"))
        if not reservations:
            return 0
        return _close_reservations(reservations, status=StockReservation.Status.RELEASED, reason=reason, actor_id=_actor_id(actor))


@merchant_only
def stock_commit_shipment(*, owner: str, quantity: int | None = None, actor=None, reference: str = "") -> int:
    """Ship reserved stock: on_hand -= q and reserved -= q. Without `quantity`, ships all that is open.

    Partial shipments leave the reservation active for the rest. Returns the units shipped.
    """
    reference = _text(reference, field="reference", max_length=120)
    with transaction.atomic():
        reservations = list(StockReservation.objects.select_for_update()
                            .filter(owner=owner, status=StockReservation.Status.ACTIVE).order_by("id"))
        open_total = sum(r.open_quantity for r in reservations)
        if not reservations or open_total == 0:
            raise Conflict(_("There is no active reservation for %(owner)s.") % {"owner": owner}, field="owner")
        q = open_total if quantity is None else validate_quantity(quantity, field="quantity")
        if q > open_total:
            raise ValidationFailed(_("Only %(open)s units are reserved for %(owner)s; cannot ship %(q)s.")
                                   % {"open": open_total, "owner": owner, "q": q}, field="quantity")
        left, changes, now = q, [], timezone.now()
        for r in reservations:
            take = min(left, r.open_quantity)
            if take == 0:
                continue
            changes.append(_Change(r.variant_id, r.warehouse_id, -take, -take, StockMovement.Kind.SHIPMENT,
                                   f"shipped for {owner}", reference or owner))
            r.shipped_quantity += take
            if r.shipped_quantity == r.quantity:
                r.status, r.closed_at = StockReservation.Status.COMMITTED, now
            left -= take
        _apply_changes(changes, actor_id=_actor_id(actor))
        StockReservation.objects.bulk_update(reservations, ["shipped_quantity", "status", "closed_at"])
        return q


@merchant_only
def reservation_expire_sweep(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Release reservations past their expiry in this merchant schema; returns how many expired.

    SKIP LOCKED: two sweeps running at once split the work and never release the same one twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(StockReservation.objects.select_for_update(skip_locked=True)
                   .filter(status=StockReservation.Status.ACTIVE, expires_at__lte=now).order_by("id")[:limit])
        if not due:
            return 0
        _close_reservations(due, status=StockReservation.Status.EXPIRED, reason="reservation expired", actor_id=None)
        return len(due)


# ---------------------------------------------------------------- journal check

@dataclass(frozen=True)
class StockDrift:
    variant_id: int
    warehouse_id: int
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    journal_on_hand: int
    journal_reserved: int
    repaired: bool = False


_DRIFT_SQL = """
    SELECT COALESCE(s.variant_id, m.variant_id), COALESCE(s.warehouse_id, m.warehouse_id),
           COALESCE(s.on_hand, 0), COALESCE(s.reserved, 0), COALESCE(m.oh, 0), COALESCE(m.res, 0)
    FROM catalog_stocklevel s
    FULL OUTER JOIN (
        SELECT variant_id, warehouse_id, SUM(on_hand_delta) AS oh, SUM(reserved_delta) AS res
        FROM catalog_stockmovement GROUP BY variant_id, warehouse_id
    ) m ON m.variant_id = s.variant_id AND m.warehouse_id = s.warehouse_id
    WHERE COALESCE(s.on_hand, 0) <> COALESCE(m.oh, 0) OR COALESCE(s.reserved, 0) <> COALESCE(m.res, 0)
    ORDER BY 1, 2
"""


@merchant_only
def stock_journal_check(*, repair: bool = False, actor=None) -> list[StockDrift]:
    """Compare each level with the sum of its movements. With `repair`, the level is taken as the
    truth and a correcting adjustment movement brings the journal back in line."""
    with transaction.atomic():
        if repair:
            # block stock writes while we compare, so no change lands between the sums and the fix
            with connection.cursor() as cur:
                cur.execute("LOCK TABLE catalog_stocklevel IN SHARE ROW EXCLUSIVE MODE")
        with connection.cursor() as cur:
            cur.execute(_DRIFT_SQL)
            rows = cur.fetchall()
        skus = dict(Variant.objects.filter(pk__in={r[0] for r in rows}).values_list("id", "sku"))
        codes = dict(Warehouse.objects.filter(pk__in={r[1] for r in rows}).values_list("id", "code"))
        drifts = [StockDrift(v, w, skus.get(v, "?"), codes.get(w, "?"), oh, res, joh, jres, repair)
                  for v, w, oh, res, joh, jres in rows]
        if repair and drifts:
            StockMovement.objects.bulk_create([
                StockMovement(kind=StockMovement.Kind.ADJUSTMENT, variant_id=d.variant_id, warehouse_id=d.warehouse_id,
                              on_hand_delta=d.on_hand - d.journal_on_hand, reserved_delta=d.reserved - d.journal_reserved,
                              actor_id=_actor_id(actor), reason="journal repair: level taken as truth", reference="stock_check")
                for d in drifts
            ])
    return drifts


@merchant_only
def stock_reservations_keep(*, owners: list[str]) -> int:
    """The order was paid: its reservations no longer expire (they end by shipping, release or cancel)."""
    return StockReservation.objects.filter(owner__in=owners, status=StockReservation.Status.ACTIVE).update(expires_at=None)


@merchant_only
def stock_release_quantity(*, owner: str, quantity: int, reason: str, actor=None) -> int:
    """Give back `quantity` units of an owner's open reservation (some units refused or cancelled);
    the rest stays reserved. Returns the units released (never more than are open)."""
    quantity = validate_quantity(quantity, field="quantity")
    reason = _text(reason, field="reason", max_length=300) or "released"
    with transaction.atomic():
        reservations = list(StockReservation.objects.select_for_update()
                            .filter(owner=owner, status=StockReservation.Status.ACTIVE).order_by("-id"))
        left, changes, now = quantity, [], timezone.now()
        for r in reservations:
            take = min(left, r.open_quantity)
            if take == 0:
                continue
            changes.append(_Change(r.variant_id, r.warehouse_id, 0, -take, StockMovement.Kind.RELEASE, reason, owner))
            if take == r.open_quantity:  # nothing left open: closed (its shipped part, if any, stays committed)
                if r.shipped_quantity:
                    r.quantity, r.status = r.shipped_quantity, StockReservation.Status.COMMITTED
                else:
                    r.status = StockReservation.Status.RELEASED  # keeps its size (quantity > 0), like a full release
                r.closed_at = now
            else:
                r.quantity -= take
            left -= take
            if left == 0:
                break
        if not changes:
            return 0
        _apply_changes(changes, actor_id=_actor_id(actor))
        StockReservation.objects.bulk_update(reservations, ["quantity", "status", "closed_at"])
        return quantity - left


# ---------------------------------------------------------------- warehouse grants (object permissions)

@merchant_only
def warehouse_grants_set(*, actor, user, warehouse_ids) -> list[int]:
    """Limit a warehouse user to these warehouses (an empty list lifts the limit). Owners only; one
    audit row with the warehouse codes before → after. Stored as django-guardian object permissions
    in the direct foreign-key table catalog.WarehouseUserObjectPermission."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from catalog.models import WarehouseUserObjectPermission
    from catalog.selectors import WORK_IN_WAREHOUSE
    from core.errors import PermissionDenied
    from permissions.roles import Role
    from permissions.selectors import membership_roles, platform_can

    merchant = current_merchant()
    _authorize(actor, "staff.manage")
    if not platform_can(actor, "merchants.act") and Role.OWNER not in membership_roles(user=actor, merchant=merchant):
        raise PermissionDenied(_("Only an owner grants warehouses."), field="warehouses")
    if not membership_roles(user=user, merchant=merchant):
        raise ValidationFailed(_("%(email)s is not on this store's staff.") % {"email": user.email}, field="user")
    wanted = set()
    for i, wid in enumerate(warehouse_ids or []):
        if isinstance(wid, bool) or not isinstance(wid, int):
            raise ValidationFailed(_("Warehouse must be an id."), field=f"warehouses[{i}]")
        wanted.add(wid)
    with transaction.atomic():
        known = dict(Warehouse.objects.filter(pk__in=wanted).values_list("id", "code"))
        missing = sorted(wanted - set(known))
        if missing:
            raise ValidationFailed(_("Unknown warehouse %(id)s.") % {"id": missing[0]}, field="warehouses")
        perm, _created = Permission.objects.get_or_create(
            codename=WORK_IN_WAREHOUSE, content_type=ContentType.objects.get_for_model(Warehouse),
            defaults={"name": "Work in this warehouse (ship from it, see its stock)"})
        current = WarehouseUserObjectPermission.objects.select_for_update().filter(user=user, permission=perm)
        before = set(current.values_list("content_object_id", flat=True))
        current.exclude(content_object_id__in=wanted).delete()
        WarehouseUserObjectPermission.objects.bulk_create([
            WarehouseUserObjectPermission(user=user, permission=perm, content_object_id=wid) for wid in sorted(wanted - before)])
        if before != wanted:
            codes = dict(Warehouse.objects.filter(pk__in=before | wanted).values_list("id", "code"))
            _audit(actor, "warehouse_grants", user.pk, "set", before={"warehouses": sorted(codes[w] for w in before if w in codes)},
                   after={"warehouses": sorted(codes[w] for w in wanted), "user": user.email})
    if hasattr(user, "_mallard_warehouse_scope"):
        user._mallard_warehouse_scope.pop(merchant.pk, None)
    return sorted(wanted)
