"""Catalog and stock reads of one merchant: checkout snapshots, availability, listing rows, dashboard lists."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from catalog.models import Category, ImportJob, Product, StockLevel, StockMovement, StockReservation, Variant, Warehouse
from core.errors import NotFound
from core.tenancy import merchant_only


@dataclass(frozen=True)
class VariantSnapshot:
    id: int
    sku: str
    name: str  # product name + variant suffix
    price_minor: int
    currency: str
    weight_g: int
    is_active: bool  # variant active AND product active
    image_url: str


@dataclass(frozen=True)
class WarehouseStock:
    warehouse_id: int
    warehouse_code: str
    warehouse_name: str
    region: str
    priority: int
    available: int


@dataclass(frozen=True)
class ListingSnapshot:
    variant_id: int
    product_id: int
    sku: str
    name: str
    category: str
    price_minor: int
    currency: str
    image_url: str
    is_listed: bool  # active variant of an active product
    available: int  # summed over active warehouses
    low_stock_threshold: int
    options: dict = field(default_factory=dict)  # {"size": "M", "colour": "red"}: the product page's selectors


@dataclass(frozen=True)
class ListingProductSnapshot:
    """Product-level facts of the storefront index (one per product): text, pictures, sales."""

    product_id: int
    name: str
    description: str
    specifications: list
    images: list  # [{"full": storage name, "thumb": storage name, "alt": ...}], in display order
    created_at: datetime
    sold_count: int  # units in reservations not released or expired (ordered, paid or not yet)


def _json(value) -> dict:
    """A jsonb column read by a raw cursor: Django's psycopg setup hands it over as text."""
    if isinstance(value, str):
        import json

        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _name(product_name: str, suffix: str) -> str:
    return f"{product_name} {suffix}".strip() if suffix else product_name


@merchant_only
def variants_for_checkout(*, variant_ids: list[int]) -> dict[int, VariantSnapshot]:
    """Live price and state of these variants, one query. Unknown ids are simply absent."""
    rows = (Variant.objects.filter(pk__in=list(variant_ids))
            .values_list("id", "sku", "product__name", "name_suffix", "price_minor", "currency", "weight_g",
                         "is_active", "product__status", "image_url"))
    return {
        r[0]: VariantSnapshot(id=r[0], sku=r[1], name=_name(r[2], r[3]), price_minor=r[4], currency=r[5], weight_g=r[6],
                              is_active=bool(r[7] and r[8] == Product.Status.ACTIVE), image_url=r[9])
        for r in rows
    }


@merchant_only
def stock_availability(*, variant_ids: list[int]) -> dict[int, list[WarehouseStock]]:
    """Available units per active warehouse for each variant, best warehouse first; one query."""
    rows = (StockLevel.objects.filter(variant_id__in=list(variant_ids), warehouse__is_active=True)
            .order_by("variant_id", "warehouse__priority", "warehouse_id")
            .values_list("variant_id", "warehouse_id", "warehouse__code", "warehouse__name", "warehouse__region",
                         "warehouse__priority", "on_hand", "reserved"))
    out: dict[int, list[WarehouseStock]] = {int(v): [] for v in variant_ids}
    for vid, wid, code, name, region, priority, on_hand, reserved in rows:
        out.setdefault(vid, []).append(WarehouseStock(wid, code, name, region, priority, on_hand - reserved))
    return out


_LISTING_SQL = """
    SELECT v.id, p.id, v.sku, p.name, v.name_suffix, COALESCE(c.name, ''), v.price_minor, v.currency, v.image_url,
           (v.is_active AND p.status = 'active'), COALESCE(st.available, 0), v.low_stock_threshold, v.options
    FROM catalog_variant v
    JOIN catalog_product p ON p.id = v.product_id
    LEFT JOIN catalog_category c ON c.id = p.category_id
    LEFT JOIN (
        SELECT s.variant_id, SUM(s.on_hand - s.reserved) AS available
        FROM catalog_stocklevel s JOIN catalog_warehouse w ON w.id = s.warehouse_id AND w.is_active
        WHERE s.variant_id = ANY(%s) GROUP BY s.variant_id
    ) st ON st.variant_id = v.id
    WHERE v.id = ANY(%s)
    ORDER BY v.id
"""


@merchant_only
def listing_snapshot(*, variant_ids: list[int]) -> list[ListingSnapshot]:
    """What the public storefront index shows for these variants; one query. Deleted ids are absent."""
    ids = [int(v) for v in variant_ids]
    if not ids:
        return []
    with connection.cursor() as cur:
        cur.execute(_LISTING_SQL, [ids, ids])
        rows = cur.fetchall()
    return [
        ListingSnapshot(variant_id=r[0], product_id=r[1], sku=r[2], name=_name(r[3], r[4]), category=r[5],
                        price_minor=r[6], currency=r[7], image_url=r[8], is_listed=bool(r[9]), available=int(r[10]),
                        low_stock_threshold=r[11], options=_json(r[12]))
        for r in rows
    ]


@merchant_only
def listing_product_snapshot(*, product_ids: list[int]) -> dict[int, ListingProductSnapshot]:
    """What the storefront index shows of these products; three queries whatever their number."""
    from django.db.models import Sum

    from catalog.models import ProductImage

    ids = sorted({int(p) for p in product_ids})
    if not ids:
        return {}
    images: dict[int, list] = {}
    for pid, path, thumb, alt in (ProductImage.objects.filter(product_id__in=ids).order_by("product_id", "position", "id")
                                  .values_list("product_id", "path", "thumb_path", "alt")):
        images.setdefault(pid, []).append({"full": path, "thumb": thumb, "alt": alt})
    sold = dict(StockReservation.objects.filter(variant__product_id__in=ids)
                .exclude(status__in=[StockReservation.Status.RELEASED, StockReservation.Status.EXPIRED])
                .values("variant__product_id").annotate(n=Sum("quantity")).values_list("variant__product_id", "n"))
    return {
        p.pk: ListingProductSnapshot(product_id=p.pk, name=p.name, description=p.description,
                                     specifications=p.specifications or [], images=images.get(p.pk, []),
                                     created_at=p.created_at, sold_count=int(sold.get(p.pk) or 0))
        for p in Product.objects.filter(pk__in=ids).only("id", "name", "description", "specifications", "created_at")
    }


@merchant_only
def low_stock_count() -> int:
    """How many active variants are at or below their threshold in some warehouse (dashboard badge)."""
    return (StockLevel.objects.filter(low_alerted=True, variant__is_active=True, warehouse__is_active=True)
            .values("variant_id").distinct().count())


@merchant_only
def low_stock_list(*, limit: int = 100) -> list[StockLevel]:
    return list(StockLevel.objects.filter(low_alerted=True, variant__is_active=True, warehouse__is_active=True)
                .select_related("variant__product", "warehouse").order_by("variant_id", "warehouse_id")[:limit])


# ---------------------------------------------------------------- dashboard / API lists

@merchant_only
def product_list_for_merchant(*, search: str = "", category_id: int | None = None, status: str | None = None) -> QuerySet:
    """Products matching a name or SKU search, newest first; paginate with a cursor on -id."""
    qs = Product.objects.select_related("category")
    search = (search or "").strip()
    if search:
        sku_match = Variant.objects.filter(sku__istartswith=search).values("product_id")
        qs = qs.filter(Q(name__icontains=search) | Q(pk__in=sku_match))
    if category_id is not None:
        qs = qs.filter(category_id=category_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


@merchant_only
def product_get(*, product_id: int) -> Product:
    product = Product.objects.select_related("category").prefetch_related("variants").filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No product %(id)s.") % {"id": product_id}, field="product_id")
    return product


@merchant_only
def variant_get(*, variant_id: int) -> Variant:
    variant = Variant.objects.select_related("product").filter(pk=variant_id).first()
    if variant is None:
        raise NotFound(_("No variant %(id)s.") % {"id": variant_id}, field="variant_id")
    return variant


@merchant_only
def variant_get_by_sku(*, sku: str) -> Variant:
    variant = Variant.objects.select_related("product").filter(sku=sku).first()
    if variant is None:
        raise NotFound(_("No variant with SKU %(sku)s.") % {"sku": repr(sku)}, field="sku")
    return variant


@merchant_only
def variant_ids_by_sku(*, skus: list[str]) -> dict[str, int]:
    return dict(Variant.objects.filter(sku__in=list(skus)).values_list("sku", "id"))


@merchant_only
def variant_ids_by_id(*, ids: list[int]) -> dict[int, int]:
    """The ids among `ids` that exist (id -> id)."""
    return {i: i for i in Variant.objects.filter(pk__in=list(ids)).values_list("id", flat=True)}


@merchant_only
def warehouse_id_by(*, warehouse_id: int | None = None, code: str | None = None) -> int | None:
    qs = Warehouse.objects.filter(pk=warehouse_id) if warehouse_id is not None else Warehouse.objects.filter(code__iexact=code or "")
    return qs.values_list("id", flat=True).first()


@merchant_only
def category_list() -> list[Category]:
    return list(Category.objects.order_by("name", "id"))


@merchant_only
def warehouse_list(*, active_only: bool = False) -> list[Warehouse]:
    qs = Warehouse.objects.order_by("priority", "id")
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs)


@merchant_only
def warehouse_get(*, warehouse_id: int) -> Warehouse:
    wh = Warehouse.objects.filter(pk=warehouse_id).first()
    if wh is None:
        raise NotFound(_("No warehouse %(id)s.") % {"id": warehouse_id}, field="warehouse_id")
    return wh


@merchant_only
def stock_levels_for_variant(*, variant_id: int) -> list[StockLevel]:
    return list(StockLevel.objects.filter(variant_id=variant_id).select_related("warehouse")
                .order_by("warehouse__priority", "warehouse_id"))


@merchant_only
def movement_list_for_variant(*, variant_id: int) -> QuerySet:
    return StockMovement.objects.filter(variant_id=variant_id).select_related("warehouse").order_by("-id")


@merchant_only
def reservation_list_for_owner(*, owner: str) -> list[StockReservation]:
    return list(StockReservation.objects.filter(owner=owner).order_by("id"))


@merchant_only
def import_job_get(*, job_id) -> ImportJob:
    """One import job of the current merchant; NotFound (404) for an unknown or malformed id."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("No import %(id)s.") % {"id": job_id}, field="job")
    return job


# --- warehouse grants (django-guardian object permissions) ----------------------------------------------

WORK_IN_WAREHOUSE = "work_in_warehouse"


@merchant_only
def warehouse_scope_for(*, user, merchant) -> frozenset[int] | None:
    """The warehouses `user` is limited to at this store, or None when not limited. Only a user whose
    only role here is warehouse can be limited, and only once an owner granted them warehouses:
    owners, managers, customer service and finance always see every warehouse's orders."""
    from catalog.models import WarehouseUserObjectPermission
    from permissions.roles import Role
    from permissions.selectors import membership_roles

    if user is None or getattr(user, "is_staff", False) or not getattr(user, "is_authenticated", False):
        return None
    if set(membership_roles(user=user, merchant=merchant)) != {Role.WAREHOUSE}:
        return None
    cache = getattr(user, "_mallard_warehouse_scope", None)
    if cache is None:
        cache = user._mallard_warehouse_scope = {}
    if merchant.pk not in cache:
        ids = frozenset(WarehouseUserObjectPermission.objects.filter(
            user_id=user.pk, permission__codename=WORK_IN_WAREHOUSE).values_list("content_object_id", flat=True))
        cache[merchant.pk] = ids or None
    return cache[merchant.pk]


@merchant_only
def warehouse_grants_for(*, user_ids) -> dict[int, list[int]]:
    """user id → the warehouse ids granted (for the staff page)."""
    from catalog.models import WarehouseUserObjectPermission

    out: dict[int, list[int]] = {}
    for uid, wid in (WarehouseUserObjectPermission.objects.filter(user_id__in=list(user_ids), permission__codename=WORK_IN_WAREHOUSE)
                     .order_by("content_object_id").values_list("user_id", "content_object_id")):
        out.setdefault(uid, []).append(wid)
    return out


@merchant_only
def stock_level_list(*, sku: str | None = None, warehouse_id: int | None = None, warehouse_ids: frozenset[int] | None = None,
                     after_id: int = 0, limit: int = 100) -> list[StockLevel]:
    """Stock levels by level id (keyset), optionally of one SKU and/or one warehouse, only within
    `warehouse_ids` when the reader is limited to some warehouses (warehouse_scope_for)."""
    qs = StockLevel.objects.select_related("variant", "warehouse").filter(pk__gt=after_id)
    if sku is not None:
        qs = qs.filter(variant__sku=sku)
    if warehouse_id is not None:
        qs = qs.filter(warehouse_id=warehouse_id)
    if warehouse_ids is not None:
        qs = qs.filter(warehouse_id__in=sorted(warehouse_ids))
    return list(qs.order_by("pk")[:limit])
