"""Shopper-facing pages on the mall's root host: home, product search across stores, product page."""
from django.http import Http404
from django.shortcuts import render

from storefront.models import StockState
from storefront.selectors import (
    listing_categories,
    listing_featured,
    listing_list_for_shopper,
    listing_page,
    listing_product_variants,
    listing_stores,
)
from tenants.selectors import merchant_host, merchant_list


def home(request):
    stores = [{"name": m.name, "host": merchant_host(m), "slug": m.slug} for m in merchant_list(active_only=True)]
    return render(request, "storefront/home.html", {"stores": stores, "featured": listing_featured(limit=8)})


def product_list(request):
    q = request.GET.get("q", "").strip()[:100]
    store = request.GET.get("store", "").strip()[:40]
    category = request.GET.get("category", "").strip()[:120]
    rows, next_token = listing_page(
        listing_list_for_shopper(q=q, store=store, category=category), after=request.GET.get("after", ""), size=24
    )
    params = request.GET.copy()
    params.pop("after", None)
    next_query = ""
    if next_token:
        params["after"] = next_token
        next_query = params.urlencode()
    return render(request, "storefront/product_list.html", {
        "rows": rows, "q": q, "store": store, "category": category, "stores": listing_stores(),
        "categories": listing_categories(store=store), "next_query": next_query,
        "is_first_page": not request.GET.get("after"), "states": StockState,
    })


def product_detail(request, store: str, product_id: int):
    variants = listing_product_variants(store=store, product_id=product_id)
    if not variants:
        raise Http404("No such product")
    first = variants[0]
    return render(request, "storefront/product_detail.html", {
        "variants": variants, "product": first, "store_slug": store,
    })
