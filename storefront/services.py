"""Writes to the public listing index. Called by the outbox handler and the rebuild command."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from storefront.models import ListingEntry, ListingProduct, StockState

# pg_advisory_xact_lock(class, merchant_id): serialises index writes per merchant so that two
# relay workers can never write an older snapshot over a newer one.
_LOCK_CLASS = 4711

_UPDATE_FIELDS = [
    "product_id", "sku", "name", "options", "store_name", "category", "price_minor", "currency",
    "image_url", "available", "stock_state", "is_listed", "updated_at",
]


def stock_state_for(*, available: int, low_stock_threshold: int | None) -> str:
    if available <= 0:
        return StockState.OUT
    if low_stock_threshold and available <= low_stock_threshold:
        return StockState.LOW
    return StockState.IN_STOCK


def _lock_merchant(merchant_id: int) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, merchant_id])


def _entry_from(merchant, snap: Any, now) -> ListingEntry:
    available = int(getattr(snap, "available", 0) or 0)
    return ListingEntry(
        merchant_id=merchant.pk,
        variant_id=snap.variant_id,
        product_id=snap.product_id,
        sku=snap.sku,
        name=snap.name,
        options=getattr(snap, "options", None) or {},
        store_name=merchant.name,
        category=getattr(snap, "category", None) or getattr(snap, "category_name", None) or "",
        price_minor=snap.price_minor,
        currency=snap.currency,
        image_url=getattr(snap, "image_url", "") or "",
        available=max(available, 0),
        stock_state=stock_state_for(available=available, low_stock_threshold=getattr(snap, "low_stock_threshold", 0)),
        is_listed=True,
        updated_at=now,
    )


def listing_sync(*, merchant, variant_ids: Iterable[int], snapshot_reader, product_reader=None) -> dict[str, int]:
    """Make the index agree with the merchant's current catalog for `variant_ids`.

    `snapshot_reader(variant_ids)` returns the current ListingSnapshot rows (it must run in the
    merchant's schema, i.e. the caller has put the connection there). Listed variants are
    upserted; variants that are gone or not listed are removed. Reading current state makes the
    sync idempotent and insensitive to the order events arrive in.

    The products of those variants get their ListingProduct row recomputed from their variant rows
    (and from `product_reader(product_ids)` -> {id: ListingProductSnapshot}, when given: description,
    specifications, images, sales); a product left without listed variants loses its row.
    """
    ids = sorted({int(v) for v in variant_ids})
    if not ids:
        return {"upserted": 0, "removed": 0}
    with transaction.atomic():
        _lock_merchant(merchant.pk)
        snapshots = snapshot_reader(ids)
        now = timezone.now()
        listed = [_entry_from(merchant, s, now) for s in snapshots if getattr(s, "is_listed", True)]
        listed_ids = {e.variant_id for e in listed}
        product_ids = {s.product_id for s in snapshots} | set(
            ListingEntry.objects.filter(merchant_id=merchant.pk, variant_id__in=ids).values_list("product_id", flat=True))
        removed, _ = ListingEntry.objects.filter(merchant_id=merchant.pk, variant_id__in=ids).exclude(
            variant_id__in=listed_ids
        ).delete()
        if listed:
            ListingEntry.objects.bulk_create(
                listed, batch_size=1000, update_conflicts=True,
                unique_fields=["merchant", "variant_id"], update_fields=_UPDATE_FIELDS,
            )
        _products_refresh(merchant=merchant, product_ids=product_ids, product_reader=product_reader, now=now)
    return {"upserted": len(listed), "removed": removed}


_PRODUCT_FIELDS = [
    "name", "description", "specifications", "store_name", "category", "min_price_minor", "max_price_minor",
    "currency", "variant_count", "available", "stock_state", "in_stock", "images", "image_url", "sold_count",
    "listed_at", "updated_at",
]


def _product_state(states: set[str]) -> str:
    if StockState.IN_STOCK in states:
        return StockState.IN_STOCK
    if StockState.LOW in states:
        return StockState.LOW
    return StockState.OUT


def _products_refresh(*, merchant, product_ids: set[int], product_reader, now) -> None:
    """Recompute the product rows of `product_ids` from their (already written) variant rows."""
    ids = sorted(int(p) for p in product_ids)
    if not ids:
        return
    facts = product_reader(ids) if product_reader is not None else {}
    existing = {p.product_id: p for p in ListingProduct.objects.filter(merchant_id=merchant.pk, product_id__in=ids)}
    entries: dict[int, list[ListingEntry]] = {}
    for e in ListingEntry.objects.filter(merchant_id=merchant.pk, product_id__in=ids, is_listed=True).order_by("price_minor", "id"):
        entries.setdefault(e.product_id, []).append(e)
    rows = []
    for pid in ids:
        variants = entries.get(pid)
        if not variants:
            continue
        fact = facts.get(pid)
        old = existing.get(pid)
        cheapest = variants[0]
        # A product's variants share one currency in practice; the range is over the cheapest's currency.
        same = [v for v in variants if v.currency == cheapest.currency]
        state = _product_state({v.stock_state for v in variants})
        rows.append(ListingProduct(
            merchant_id=merchant.pk, product_id=pid,
            name=fact.name if fact else (old.name if old else cheapest.name),
            description=fact.description if fact else (old.description if old else ""),
            specifications=fact.specifications if fact else (old.specifications if old else []),
            store_name=merchant.name, category=cheapest.category,
            min_price_minor=cheapest.price_minor, max_price_minor=max(v.price_minor for v in same),
            currency=cheapest.currency, variant_count=len(variants), available=sum(v.available for v in variants),
            stock_state=state, in_stock=state != StockState.OUT,
            images=fact.images if fact else (old.images if old else []),
            image_url=next((v.image_url for v in variants if v.image_url), ""),
            sold_count=fact.sold_count if fact else (old.sold_count if old else 0),
            listed_at=fact.created_at if fact else (old.listed_at if old else now),
            updated_at=now,
        ))
    keep = {r.product_id for r in rows}
    ListingProduct.objects.filter(merchant_id=merchant.pk, product_id__in=[p for p in ids if p not in keep]).delete()
    if rows:
        ListingProduct.objects.bulk_create(rows, batch_size=1000, update_conflicts=True,
                                           unique_fields=["merchant", "product_id"], update_fields=_PRODUCT_FIELDS)


def listing_remove_all(*, merchant) -> int:
    with transaction.atomic():
        _lock_merchant(merchant.pk)
        deleted, _ = ListingEntry.objects.filter(merchant_id=merchant.pk).delete()
        ListingProduct.objects.filter(merchant_id=merchant.pk).delete()
    return deleted


def listing_prune(*, merchant, keep_variant_ids: set[int]) -> int:
    """Remove index rows of variants that no longer exist in the merchant's catalog."""
    with transaction.atomic():
        _lock_merchant(merchant.pk)
        stale = [v for v in ListingEntry.objects.filter(merchant_id=merchant.pk).values_list("variant_id", flat=True)
                 if v not in keep_variant_ids]
        deleted = 0
        for i in range(0, len(stale), 5000):
            d, _ = ListingEntry.objects.filter(merchant_id=merchant.pk, variant_id__in=stale[i:i + 5000]).delete()
            deleted += d
        # products whose every variant is gone
        ListingProduct.objects.filter(merchant_id=merchant.pk).exclude(
            product_id__in=ListingEntry.objects.filter(merchant_id=merchant.pk).values("product_id")).delete()
    return deleted


def listing_store_rename(*, merchant) -> int:
    ListingProduct.objects.filter(merchant_id=merchant.pk).exclude(store_name=merchant.name).update(store_name=merchant.name)
    return ListingEntry.objects.filter(merchant_id=merchant.pk).exclude(store_name=merchant.name).update(
        store_name=merchant.name
    )
