"""One card per product: search sorting, filters, facet counts, pagination with a total, empty state,
store page, product page (picker, description, specifications)."""
import datetime as dt
import re
from types import SimpleNamespace

import pytest

from storefront.models import ListingProduct
from storefront.selectors import ProductQuery, product_search
from storefront.services import listing_sync

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def vsnap(variant_id, product_id, name, *, price_minor, available=10, category="Tents", options=None):
    return SimpleNamespace(variant_id=variant_id, product_id=product_id, sku=f"SKU-{variant_id}", name=name,
                           category=category, price_minor=price_minor, currency="CNY", image_url="", is_listed=True,
                           available=available, low_stock_threshold=3, options=options or {})


def psnap(product_id, name, *, sold=0, day=0, description="", specs=None):
    return SimpleNamespace(product_id=product_id, name=name, description=description, specifications=specs or [],
                           images=[], created_at=T0 + dt.timedelta(days=day), sold_count=sold)


def load(merchant, products):
    """products: [(psnap, [vsnap, ...])]"""
    variants = {v.variant_id: v for _p, vs in products for v in vs}
    facts = {p.product_id: p for p, _vs in products}
    listing_sync(merchant=merchant, variant_ids=list(variants),
                 snapshot_reader=lambda ids: [variants[i] for i in ids if i in variants],
                 product_reader=lambda ids: {i: facts[i] for i in ids if i in facts})


@pytest.fixture
def catalog(mall):
    load(mall.acme, [
        (psnap(1, "Alpine Jacket", sold=5, day=1, description="Warm and dry.", specs=[["Material", "Nylon"]]),
         [vsnap(11, 1, "Alpine Jacket S", price_minor=50000, options={"size": "S", "colour": "red"}),
          vsnap(12, 1, "Alpine Jacket M", price_minor=52000, options={"size": "M", "colour": "red"}),
          vsnap(13, 1, "Alpine Jacket M", price_minor=53000, available=0, options={"size": "M", "colour": "navy"})]),
        (psnap(2, "Trail Tent", sold=50, day=2), [vsnap(21, 2, "Trail Tent", price_minor=120000)]),
        (psnap(3, "Camp Stove", sold=1, day=3), [vsnap(31, 3, "Camp Stove", price_minor=30000, available=0, category="Stoves")]),
    ])
    load(mall.globex, [
        (psnap(1, "Jacket Cable Organizer", sold=9, day=4), [vsnap(1, 1, "Jacket Cable Organizer", price_minor=9900, category="Cables")]),
        (psnap(2, "USB Cable", sold=30, day=5), [vsnap(2, 2, "USB Cable", price_minor=2900, category="Cables")]),
    ])
    return mall


def names(result):
    return [r.name for r in result.rows]


def test_one_row_per_product_with_price_range_and_stock_state(catalog):
    p = ListingProduct.objects.get(merchant=catalog.acme, product_id=1)
    assert (p.min_price_minor, p.max_price_minor, p.variant_count, p.stock_state, p.in_stock) == (50000, 53000, 3, "in_stock", True)
    assert (p.description, p.specifications, p.sold_count) == ("Warm and dry.", [["Material", "Nylon"]], 5)
    stove = ListingProduct.objects.get(merchant=catalog.acme, product_id=3)
    assert (stove.stock_state, stove.in_stock) == ("out", False)
    assert ListingProduct.objects.filter(merchant__in=[catalog.acme, catalog.globex]).count() == 5


def test_every_sort_order(catalog):
    assert names(product_search(ProductQuery(sort="price_asc"))) == [
        "USB Cable", "Jacket Cable Organizer", "Camp Stove", "Alpine Jacket", "Trail Tent"]
    assert names(product_search(ProductQuery(sort="price_desc")))[:2] == ["Trail Tent", "Alpine Jacket"]
    assert names(product_search(ProductQuery(sort="newest"))) == [
        "USB Cable", "Jacket Cable Organizer", "Camp Stove", "Trail Tent", "Alpine Jacket"]
    assert names(product_search(ProductQuery(sort="best_selling"))) == [
        "Trail Tent", "USB Cable", "Jacket Cable Organizer", "Alpine Jacket", "Camp Stove"]
    # relevance: names starting with the word first, then best selling
    assert names(product_search(ProductQuery(q="jacket"))) == ["Jacket Cable Organizer", "Alpine Jacket"]


def test_price_range_and_in_stock_filters(catalog):
    r = product_search(ProductQuery(price_min_minor=9900, price_max_minor=50000, sort="price_asc"))
    assert names(r) == ["Jacket Cable Organizer", "Camp Stove", "Alpine Jacket"] and r.total == 3
    r = product_search(ProductQuery(price_min_minor=9900, price_max_minor=50000, in_stock=True, sort="price_asc"))
    assert names(r) == ["Jacket Cable Organizer", "Alpine Jacket"] and r.total == 2


def test_facet_counts_apply_every_filter_but_their_own(catalog):
    r = product_search(ProductQuery(store="acme"))
    assert r.total == 3
    # the store facet still counts the other store (its own filter is left out)
    assert {f["slug"]: f["count"] for f in r.store_facets} == {"acme": 3, "globex": 2}
    # the category facet is within acme
    assert {f["name"]: f["count"] for f in r.category_facets} == {"Tents": 2, "Stoves": 1}
    r = product_search(ProductQuery(category="Cables"))
    assert {f["slug"]: f["count"] for f in r.store_facets} == {"globex": 2}
    assert {f["name"]: f["count"] for f in r.category_facets} == {"Tents": 2, "Stoves": 1, "Cables": 2}


def test_pagination_has_a_total_and_walks_every_product_once(catalog):
    seen = []
    for page in (1, 2, 3):
        r = product_search(ProductQuery(sort="price_asc", page=page), size=2)
        assert (r.total, r.pages, r.page) == (5, 3, page)
        seen += names(r)
    assert len(seen) == 5 and len(set(seen)) == 5
    assert product_search(ProductQuery(page=99), size=2).page == 3  # past the end: the last page


def test_search_page_shows_cards_total_facets_and_bad_input_is_named(catalog, client_at):
    resp = client_at(None).get("/products/", {"q": "jacket", "sort": "price_asc"})
    body = resp.content.decode()
    assert resp.status_code == 200
    assert body.count('data-testid="product-card"') == 2
    assert "from CNY 500.00" in body and "CNY 500.00 – CNY 530.00" in body
    assert re.search(r'data-testid="result-total">\s*2 products', body)
    resp = client_at(None).get("/products/", {"price_min": "abc"})
    assert resp.status_code == 400 and 'data-field="price_min"' in resp.content.decode()
    resp = client_at(None).get("/products/", {"sort": "cheapest"})
    assert resp.status_code == 400 and 'data-field="sort"' in resp.content.decode()
    resp = client_at(None).get("/products/", {"price_min": "90", "price_max": "10"})
    assert resp.status_code == 400 and 'data-field="price_min"' in resp.content.decode()
    resp = client_at(None).get("/products/", {"page": "1\x00"})
    assert resp.status_code == 400


def test_empty_state_helps(catalog, client_at):
    body = client_at(None).get("/products/", {"q": "zeppelin", "in_stock": "1"}).content.decode()
    assert 'data-testid="no-results"' in body and 'data-testid="clear-filters"' in body
    assert "Check the spelling" in body and 'data-testid="product-card"' not in body


def test_store_page_shows_only_its_products_and_its_policies(catalog, client_at):
    body = client_at(None).get("/stores/globex/").content.decode()
    assert "USB Cable" in body and "Jacket Cable Organizer" in body
    assert "Alpine Jacket" not in body and "Trail Tent" not in body
    assert 'data-testid="store-policies"' in body and "Returns accepted within" in body
    assert client_at(None).get("/stores/no-such-store/").status_code == 404


def test_product_page_shows_selectors_description_specs_and_the_chosen_variant(catalog, client_at):
    client = client_at(None)
    body = client.get("/products/acme/1/").content.decode()
    assert 'data-testid="opt-size"' in body and 'data-testid="opt-colour"' in body
    assert "Warm and dry." in body and "<dt>Material</dt><dd>Nylon</dd>" in body
    assert 'value="11" data-testid="variant-id"' in body  # the cheapest in stock
    body = client.get("/products/acme/1/", {"opt.size": "M", "opt.colour": "navy"}).content.decode()
    assert 'value="13" data-testid="variant-id"' in body and "CNY 530.00" in body
    assert re.search(r'data-testid="add-button"\s+disabled', body)  # out of stock
    # a combination that is not sold: nothing can be added
    body = client.get("/products/acme/1/", {"opt.size": "S", "opt.colour": "navy"}).content.decode()
    assert 'value="" data-testid="variant-id"' in body
    assert 'data-testid="image-placeholder"' in body  # no picture: the placeholder
    assert client.get("/products/acme/999/").status_code == 404


def test_a_product_whose_variants_all_leave_loses_its_card(catalog):
    v = vsnap(21, 2, "Trail Tent", price_minor=120000)
    v.is_listed = False
    listing_sync(merchant=catalog.acme, variant_ids=[21], snapshot_reader=lambda ids: [v])
    assert not ListingProduct.objects.filter(merchant=catalog.acme, product_id=2).exists()


def test_the_backfill_migration_builds_product_rows_from_variant_rows(catalog):
    import importlib

    from django.db import connection

    forward = importlib.import_module("storefront.migrations.0004_listing_product_backfill").FORWARD
    ListingProduct.objects.filter(merchant=catalog.acme).delete()
    with connection.cursor() as cur:
        cur.execute(forward)
        cur.execute(forward)  # safe to run twice
    p = ListingProduct.objects.get(merchant=catalog.acme, product_id=1)
    assert (p.min_price_minor, p.max_price_minor, p.variant_count, p.available, p.stock_state, p.in_stock) == (
        50000, 53000, 3, 20, "in_stock", True)
    assert ListingProduct.objects.get(merchant=catalog.acme, product_id=3).stock_state == "out"
    assert ListingProduct.objects.filter(merchant=catalog.acme).count() == 3
