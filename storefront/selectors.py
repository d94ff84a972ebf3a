"""Reads of the public listing index for shoppers: search across stores, one product's variants."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from storefront.models import ListingEntry, ListingProduct
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


# ---------------------------------------------------------------- products (one card per product)

SORTS = ("relevance", "price_asc", "price_desc", "newest", "best_selling")
PAGE_SIZE = 24
MAX_PAGE = 400  # OFFSET paging: deeper pages are refused (narrow the search instead)


@dataclass(frozen=True)
class ProductQuery:
    q: str = ""
    store: str = ""
    category: str = ""
    price_min_minor: int | None = None
    price_max_minor: int | None = None
    in_stock: bool = False
    sort: str = "relevance"
    page: int = 1


@dataclass
class ProductSearch:
    rows: list[ListingProduct]
    total: int
    page: int
    pages: int
    store_facets: list[dict] = field(default_factory=list)  # [{"slug", "name", "count"}]
    category_facets: list[dict] = field(default_factory=list)  # [{"name", "count"}]


def _product_base() -> QuerySet[ListingProduct]:
    return ListingProduct.objects.filter(merchant__status=Merchant.Status.ACTIVE)


def _active_stores() -> dict[int, str]:
    """id -> slug of the active merchants, read per search (a few hundred rows, one index-only scan):
    the search then filters `merchant_id = ANY(list)` with no join, which the planner estimates well,
    and a suspension still takes effect at once."""
    return dict(Merchant.objects.filter(status=Merchant.Status.ACTIVE, is_template=False).values_list("id", "slug"))


def _filtered(query: ProductQuery, *, skip: str = "", stores: dict[int, str] | None = None) -> QuerySet[ListingProduct]:
    if stores is None:
        stores = _active_stores()
    qs = ListingProduct.objects.filter(merchant_id__in=list(stores))
    q = (query.q or "").strip()[:100]
    if q:
        qs = qs.filter(name__icontains=q)  # UPPER(name) LIKE: the trigram index
    if query.store and skip != "store":
        qs = qs.filter(merchant_id__in=[i for i, slug in stores.items() if slug == query.store])
    if query.category and skip != "category":
        qs = qs.filter(category=query.category)
    if query.price_min_minor is not None:
        qs = qs.filter(min_price_minor__gte=query.price_min_minor)
    if query.price_max_minor is not None:
        qs = qs.filter(min_price_minor__lte=query.price_max_minor)
    if query.in_stock:
        qs = qs.filter(in_stock=True)
    return qs


def _ordered(qs: QuerySet[ListingProduct], query: ProductQuery) -> QuerySet[ListingProduct]:
    sort = query.sort if query.sort in SORTS else "relevance"
    if sort == "price_asc":
        return qs.order_by("min_price_minor", "id")
    if sort == "price_desc":
        return qs.order_by("-min_price_minor", "-id")
    if sort == "newest":
        return qs.order_by("-listed_at", "-id")
    if sort == "best_selling":
        return qs.order_by("-sold_count", "-id")
    q = (query.q or "").strip()[:100]
    if q:
        # Relevance: names that start with the words first, then what sells, then newest.
        starts = Case(When(name__istartswith=q, then=Value(0)), default=Value(1), output_field=IntegerField())
        return qs.annotate(_rank=starts).order_by("_rank", "-sold_count", "-id")
    return qs.order_by("-sold_count", "-id")


def product_search(query: ProductQuery, *, size: int = PAGE_SIZE, facets: bool = True) -> ProductSearch:
    """One page of product cards with the total and the store/category facet counts.

    Each facet is counted with every filter except its own (choosing a store still shows how many
    matches the other stores have)."""
    stores = _active_stores()
    qs = _filtered(query, stores=stores)
    total = qs.count()
    pages = max(1, -(-total // size))
    page = min(max(1, query.page), pages, MAX_PAGE)
    start = (page - 1) * size
    rows = list(_ordered(qs, query).select_related("merchant")[start:start + size])
    result = ProductSearch(rows=rows, total=total, page=page, pages=min(pages, MAX_PAGE))
    if facets:
        by_store = (_filtered(query, skip="store", stores=stores).values("merchant_id", "store_name")
                    .annotate(n=Count("id")).order_by("-n", "store_name")[:50])
        result.store_facets = [{"slug": stores[s["merchant_id"]], "name": s["store_name"], "count": s["n"]}
                               for s in by_store]
        cats = (_filtered(query, skip="category", stores=stores).exclude(category="").values("category")
                .annotate(n=Count("id")).order_by("-n", "category")[:50])
        result.category_facets = [{"name": c["category"], "count": c["n"]} for c in cats]
    return result


def product_featured(*, limit: int = 8) -> list[ListingProduct]:
    """The home page's cards: best sellers in stock."""
    return list(_product_base().filter(in_stock=True).select_related("merchant").order_by("-sold_count", "-id")[:limit])


def product_newest(*, limit: int = 8) -> list[ListingProduct]:
    return list(_product_base().filter(in_stock=True).select_related("merchant").order_by("-listed_at", "-id")[:limit])


def product_get_for_shopper(*, store: str, product_id: int) -> tuple[ListingProduct, list[ListingEntry]] | None:
    """A product card's row and its listed variants (cheapest first); None if not for sale."""
    product = _product_base().filter(merchant__slug=store, product_id=product_id).select_related("merchant").first()
    if product is None:
        return None
    variants = list(ListingEntry.objects.filter(merchant_id=product.merchant_id, product_id=product_id, is_listed=True)
                    .order_by("price_minor", "id"))
    if not variants:
        return None
    return product, variants


def store_get_for_shopper(*, slug: str) -> Merchant | None:
    return Merchant.objects.filter(slug=slug, status=Merchant.Status.ACTIVE, is_template=False).first()


def store_policies(*, merchant: Merchant) -> dict:
    """What the store page says about shipping and returns: the store's active shipping rules and its
    return policy (the operator's defaults when it has none)."""
    from core.tenancy import in_merchant_schema
    from fulfillment.selectors import shipping_rules_many

    rules = shipping_rules_many(schemas=[merchant.schema_name]).get(merchant.schema_name, [])
    returns = None
    try:
        from returns.services import return_policy_get

        with in_merchant_schema(merchant):
            returns = return_policy_get()
    except ImportError:  # a deployment without the returns app
        returns = None
    return {"shipping": rules, "returns": returns}
