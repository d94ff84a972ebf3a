"""Reads of the public listing index for shoppers: search across stores, one product's variants."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from storefront.models import ListingEntry
from tenants.models import Merchant


def listing_list_for_shopper(*, q: str = "", store: str = "", category: str = "") -> QuerySet[ListingEntry]:
    """Listed variants of active merchants; `q` searches the name across all stores.

    Suspended merchants' rows stay in the table but never reach a shopper: the filter is on
    the merchant's live status, so suspending or reinstating takes effect at once.
    """
    qs = ListingEntry.objects.filter(is_listed=True, merchant__status=Merchant.Status.ACTIVE)
    q = (q or "").strip()[:100]
    if q:
        # ILIKE '%q%' uses the trigram GIN index on name.
        qs = qs.filter(name__icontains=q)
    if store:
        qs = qs.filter(merchant__slug=store)
    if category:
        qs = qs.filter(category=category)
    return qs.select_related("merchant").order_by("name", "id")


def listing_featured(*, limit: int = 8) -> list[ListingEntry]:
    qs = ListingEntry.objects.filter(is_listed=True, merchant__status=Merchant.Status.ACTIVE).exclude(
        stock_state="out"
    )
    return list(qs.select_related("merchant").order_by("-updated_at", "-id")[:limit])


def listing_product_variants(*, store: str, product_id: int) -> list[ListingEntry]:
    return list(
        ListingEntry.objects.filter(
            merchant__slug=store, merchant__status=Merchant.Status.ACTIVE, product_id=product_id, is_listed=True
        ).order_by("price_minor", "id")
    )


def listing_categories(*, store: str = "") -> list[str]:
    qs = ListingEntry.objects.filter(is_listed=True, merchant__status=Merchant.Status.ACTIVE).exclude(category="")
    if store:
        qs = qs.filter(merchant__slug=store)
    return list(qs.order_by("category").values_list("category", flat=True).distinct()[:200])


def listing_stores() -> list[dict]:
    return list(
        Merchant.objects.filter(status=Merchant.Status.ACTIVE, is_template=False)
        .exclude(schema_name="public").order_by("name").values("slug", "name")
    )


def listing_page(qs: QuerySet[ListingEntry], *, after: str = "", size: int = 24) -> tuple[list[ListingEntry], str]:
    """Keyset page over a (name, id)-ordered queryset: no OFFSET, no COUNT, fast on any page.

    `after` is the opaque token of the previous page's last row; returns (rows, next token or "").
    """
    import base64
    import json

    if after:
        try:
            name, pk = json.loads(base64.urlsafe_b64decode(after.encode()).decode())
            qs = qs.filter(Q(name__gt=name) | Q(name=name, id__gt=int(pk)))
        except (ValueError, TypeError):
            pass  # a mangled token just starts from the first page
    rows = list(qs[: size + 1])
    token = ""
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        token = base64.urlsafe_b64encode(json.dumps([last.name, last.pk]).encode()).decode()
    return rows, token
