"""Shopper-facing pages on the mall's root host: home, product search across stores, product page, store page."""
from __future__ import annotations

from decimal import Decimal

from django.core.files.storage import default_storage
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ValidationFailed
from core.inputs import parse_decimal, parse_int
from core.money import Money
from storefront.models import StockState
from storefront.selectors import (
    SORTS,
    ProductQuery,
    product_featured,
    product_get_for_shopper,
    product_newest,
    product_search,
    store_get_for_shopper,
    store_policies,
)
from storefront.variant_picker import picker_model, selection_from_query
from tenants.selectors import merchant_list

SORT_LABELS = {
    "relevance": gettext_lazy("Relevance"),
    "price_asc": gettext_lazy("Price: low to high"),
    "price_desc": gettext_lazy("Price: high to low"),
    "newest": gettext_lazy("Newest"),
    "best_selling": gettext_lazy("Best selling"),
}
MALL_CURRENCY_EXPONENT = 2  # prices are filtered in the mall's settlement currency (CNY: fen)


def image_urls(product) -> list[dict]:
    """The product's pictures as URLs of the current storage (resolved now: signed URLs may expire)."""
    return [{"full": default_storage.url(i["full"]), "thumb": default_storage.url(i["thumb"]), "alt": i.get("alt", "")}
            for i in (product.images or [])]


def _card(product) -> dict:
    images = product.images or []
    # Only pictures in our storage are shown: a variant's typed image URL may name an outside host,
    # and no shopper page loads anything from one (docs/decisions.md).
    thumb = default_storage.url(images[0]["thumb"]) if images else ""
    return {"p": product, "thumb": thumb}


def home(request):
    stores = [{"name": m.name, "slug": m.slug} for m in merchant_list(active_only=True)]
    return render(request, "storefront/home.html", {
        "stores": stores,
        "featured": [_card(p) for p in product_featured(limit=8)],
        "newest": [_card(p) for p in product_newest(limit=4)],
    })


def _price(raw: str, *, field: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    amount = parse_decimal(raw, field=field, message=_("Enter a price such as 99 or 99.50."))
    if amount < 0 or amount > Decimal(10**9):
        raise ValidationFailed(_("Enter a price from 0 to 1,000,000,000."), field=field)
    return int((amount * 10**MALL_CURRENCY_EXPONENT).to_integral_value())


def parse_product_query(params) -> ProductQuery:
    """The search form's parameters; a bad one raises ValidationFailed naming it."""
    sort = params.get("sort", "") or "relevance"
    if sort not in SORTS:
        raise ValidationFailed(_("Choose a sort order from the list."), field="sort")
    page_raw = (params.get("page", "") or "1").strip()
    page = parse_int(page_raw, field="page", minimum=1, maximum=10_000, message=_("Page must be a number from 1."))
    lo = _price(params.get("price_min", ""), field="price_min")
    hi = _price(params.get("price_max", ""), field="price_max")
    if lo is not None and hi is not None and lo > hi:
        raise ValidationFailed(_("The lowest price is above the highest price."), field="price_min")
    return ProductQuery(
        q=(params.get("q", "") or "").replace("\x00", "").strip()[:100],
        store=(params.get("store", "") or "").strip()[:40],
        category=(params.get("category", "") or "").strip()[:120],
        price_min_minor=lo, price_max_minor=hi, in_stock=params.get("in_stock", "") in ("1", "on", "true"),
        sort=sort, page=page,
    )


def _query_string(params, **changes) -> str:
    qd = params.copy()
    for k, v in changes.items():
        if v in (None, ""):
            qd.pop(k, None)
        else:
            qd[k] = str(v)
    return qd.urlencode()


def product_list(request):
    error = None
    try:
        query = parse_product_query(request.GET)
    except ValidationFailed as exc:
        error = exc
        query = ProductQuery(q=(request.GET.get("q", "") or "").replace("\x00", "").strip()[:100])
    result = product_search(query)
    params = request.GET.copy()
    pages = {
        "prev": _query_string(params, page=result.page - 1) if result.page > 1 else "",
        "next": _query_string(params, page=result.page + 1) if result.page < result.pages else "",
    }
    context = {
        "query": query, "result": result, "cards": [_card(p) for p in result.rows], "error": error,
        "sorts": [(k, SORT_LABELS[k]) for k in SORTS], "pages": pages,
        "price_min": request.GET.get("price_min", "")[:20], "price_max": request.GET.get("price_max", "")[:20],
        "store_links": [{**f, "qs": _query_string(params, store=f["slug"], page=None)} for f in result.store_facets],
        "category_links": [{**f, "qs": _query_string(params, category=f["name"], page=None)} for f in result.category_facets],
        "clear_store": _query_string(params, store=None, page=None),
        "clear_category": _query_string(params, category=None, page=None),
        "has_filters": bool(query.store or query.category or query.in_stock or query.price_min_minor is not None
                            or query.price_max_minor is not None),
        "clear_all": _query_string(params, store=None, category=None, in_stock=None, price_min=None, price_max=None,
                                   page=None),
    }
    return render(request, "storefront/product_list.html", context, status=400 if error else 200)


def product_detail(request, store: str, product_id: int):
    found = product_get_for_shopper(store=store, product_id=product_id)
    if found is None:
        raise Http404(_("No such product"))
    product, variants = found
    model = picker_model(variants)
    selection = selection_from_query(model, request.GET)
    chosen = model.resolve(selection)
    entry = next((v for v in variants if chosen and v.variant_id == chosen.variant_id), None)
    combos = {
        key: {"variant_id": c.variant_id, "price": Money(c.price_minor, c.currency).format(), "sku": c.sku,
              "stock_state": c.stock_state, "available": c.available,
              "stock_label": str(StockState(c.stock_state).label) if c.stock_state in StockState.values else c.stock_state}
        for key, c in model.combos.items()
    }
    return render(request, "storefront/product_detail.html", {
        "product": product, "variants": variants, "store_slug": store, "entry": entry, "chosen": chosen,
        "axes": [{"name": a, "values": model.values[a], "selected": selection.get(a, "")} for a in model.axes],
        "picker": {"axes": model.axes, "combos": combos},
        "images": image_urls(product),
    })


def store_page(request, slug: str):
    merchant = store_get_for_shopper(slug=slug)
    if merchant is None:
        raise Http404(_("No such store"))
    try:
        query = parse_product_query(request.GET)
    except ValidationFailed:
        query = ProductQuery()
    query = ProductQuery(store=merchant.slug, sort=query.sort if query.sort != "relevance" else "best_selling",
                         page=query.page)
    result = product_search(query, facets=False)
    params = request.GET.copy()
    return render(request, "storefront/store.html", {
        "store": merchant, "result": result, "cards": [_card(p) for p in result.rows],
        "policies": store_policies(merchant=merchant), "sorts": [(k, SORT_LABELS[k]) for k in SORTS if k != "relevance"],
        "query": query,
        "pages": {"prev": _query_string(params, page=result.page - 1) if result.page > 1 else "",
                  "next": _query_string(params, page=result.page + 1) if result.page < result.pages else ""},
    })
