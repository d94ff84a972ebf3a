"""The public listing index: sync from snapshots, search across stores, suspension, pages and API."""
from types import SimpleNamespace

import pytest

from merchants.services import merchant_reinstate, merchant_suspend
from storefront.models import ListingEntry
from storefront.services import listing_sync


def snap(variant_id, name, *, product_id=None, sku=None, price_minor=1999, currency="CNY", available=10,
         low=3, category="Tents", listed=True, options=None):
    return SimpleNamespace(
        variant_id=variant_id, product_id=product_id if product_id is not None else variant_id, sku=sku or f"SKU-{variant_id}", name=name,
        category=category, price_minor=price_minor, currency=currency, image_url="", is_listed=listed,
        available=available, low_stock_threshold=low, options=options or {},
    )


def sync(merchant, snaps, ids=None):
    by_id = {s.variant_id: s for s in snaps}
    ids = ids if ids is not None else list(by_id)
    return listing_sync(merchant=merchant, variant_ids=ids,
                        snapshot_reader=lambda vids: [by_id[v] for v in vids if v in by_id])


def test_sync_upserts_sets_stock_state_and_store_name(mall):
    result = sync(mall.acme, [snap(1, "Trail Tent", available=10), snap(2, "Trail Tent", available=2),
                              snap(3, "Trail Tent", available=0)])
    assert result == {"upserted": 3, "removed": 0}
    rows = {e.variant_id: e for e in ListingEntry.objects.filter(merchant=mall.acme)}
    assert {v: rows[v].stock_state for v in rows} == {1: "in_stock", 2: "low", 3: "out"}
    assert rows[1].store_name == "Acme Outfitters" and rows[1].price_minor == 1999


def test_sync_is_idempotent_and_removes_unlisted_or_missing(mall):
    snaps = [snap(1, "Trail Tent"), snap(2, "Camp Stove")]
    sync(mall.acme, snaps)
    sync(mall.acme, snaps)
    assert ListingEntry.objects.filter(merchant=mall.acme).count() == 2
    # variant 1 is now a draft, variant 2 was deleted: both leave the index
    result = sync(mall.acme, [snap(1, "Trail Tent", listed=False)], ids=[1, 2])
    assert result == {"upserted": 0, "removed": 2}
    assert ListingEntry.objects.filter(merchant=mall.acme).count() == 0


def test_same_variant_id_in_two_stores_is_two_rows(mall):
    sync(mall.acme, [snap(1, "Trail Tent")])
    sync(mall.globex, [snap(1, "USB Cable")])
    assert sorted(ListingEntry.objects.filter(variant_id=1).values_list("store_name", "name")) == [
        ("Acme Outfitters", "Trail Tent"), ("Globex Electronics", "USB Cable")]


def test_search_across_stores_and_filter_by_store(mall, client_at, api_at):
    sync(mall.acme, [snap(1, "Waterproof Jacket", price_minor=59900), snap(2, "Wool Socks", category="Socks")])
    sync(mall.globex, [snap(7, "Waterproof Phone Case", price_minor=8800, currency="USD")])
    body = client_at(None).get("/products/", {"q": "waterproof"}).content.decode()
    assert "Waterproof Jacket" in body and "Waterproof Phone Case" in body and "Wool Socks" not in body
    assert "CNY 599.00" in body and "USD 88.00" in body and "Globex Electronics" in body
    body = client_at(None).get("/products/", {"q": "waterproof", "store": "globex"}).content.decode()
    assert "Waterproof Phone Case" in body and "Waterproof Jacket" not in body
    body = client_at(None).get("/products/", {"category": "Socks"}).content.decode()
    assert "Wool Socks" in body and "Waterproof" not in body
    resp = api_at(None).get("/api/v1/listings/", {"q": "waterproof"})
    assert resp.status_code == 200
    names = [(r["name"], r["store"], r["price"], r["stock_state"]) for r in resp.json()["results"]]
    assert names == [("Waterproof Jacket", "acme", "CNY 599.00", "in_stock"),
                     ("Waterproof Phone Case", "globex", "USD 88.00", "in_stock")]
    resp = api_at(None).get("/api/v1/listings/", {"q": "waterproof", "store": "acme"})
    assert [r["sku"] for r in resp.json()["results"]] == ["SKU-1"]


def test_api_cursor_pagination_walks_every_row_once(mall, api_at):
    sync(mall.acme, [snap(i, f"Cursor Item {i:03d}") for i in range(1, 8)])
    seen, url = [], "/api/v1/listings/?q=Cursor+Item&page_size=3"
    client = api_at(None)
    while url:
        body = client.get(url).json()
        seen += [r["variant_id"] for r in body["results"]]
        url = body["next"]
    assert seen == [1, 2, 3, 4, 5, 6, 7]


def test_page_pagination_with_a_total(mall, client_at):
    sync(mall.acme, [snap(i, f"Paged Item {i:03d}") for i in range(1, 31)])
    client = client_at(None)
    first = client.get("/products/", {"q": "Paged Item", "sort": "newest"})
    assert first.context["result"].total == 30
    assert [r.product_id for r in first.context["result"].rows] == list(range(30, 6, -1))
    second = client.get("/products/?" + first.context["pages"]["next"])
    assert [r.product_id for r in second.context["result"].rows] == list(range(6, 0, -1))
    assert second.context["pages"]["next"] == "" and second.context["result"].page == 2


def test_suspended_merchant_is_not_listed_and_returns_when_reinstated(mall, client_at, api_at):
    sync(mall.acme, [snap(1, "Suspender Belt")])
    assert "Suspender Belt" in client_at(None).get("/products/", {"q": "Suspender"}).content.decode()
    merchant_suspend(merchant=mall.acme, reason="test")
    assert "Suspender Belt" not in client_at(None).get("/products/", {"q": "Suspender"}).content.decode()
    assert api_at(None).get("/api/v1/listings/", {"q": "Suspender"}).json()["results"] == []
    assert client_at(None).get("/products/acme/1/").status_code == 404
    merchant_reinstate(merchant=mall.acme)
    assert "Suspender Belt" in client_at(None).get("/products/", {"q": "Suspender"}).content.decode()


def test_product_page_shows_variants_store_and_stock_state(mall, client_at):
    sync(mall.acme, [
        snap(1, "Trail Tent", product_id=5, options={"size": "2P"}, available=10, price_minor=129900),
        snap(2, "Trail Tent", product_id=5, options={"size": "3P"}, available=1, price_minor=159900),
        snap(3, "Camp Stove", product_id=6),
    ])
    resp = client_at(None).get("/products/acme/5/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "Acme Outfitters" in body and '<option value="2P" selected>' in body and '<option value="3P">' in body
    assert "CNY 1,299.00" in body and "CNY 1,599.00" in body
    assert "In stock" in body and "Low stock" in body and "Camp Stove" not in body
    assert client_at(None).get("/products/globex/5/").status_code == 404


def test_home_links_products_and_shows_featured(mall, client_at):
    sync(mall.acme, [snap(1, "Featured Lantern")])
    body = client_at(None).get("/").content.decode()
    assert 'href="/products/"' in body and "Featured Lantern" in body


@pytest.mark.parametrize("path", ["/products/", "/api/v1/listings/"])
def test_browsing_needs_no_sign_in(mall, client_at, path):
    assert client_at(None).get(path).status_code == 200


def test_name_search_uses_the_trigram_index(mall):
    """On a realistically sized index, the shopper search is served by the GIN trigram index."""
    from django.db import connection

    from storefront.selectors import listing_list_for_shopper

    words = ["Tent", "Stove", "Jacket", "Lamp", "Cable", "Phone", "Boot", "Sock"]
    sync(mall.acme, [snap(i, f"{words[i % 8]} model {i}") for i in range(1, 3001)])
    sync(mall.acme, [snap(5000, "Ultralight Bivvy")], ids=[5000])
    sql, params = listing_list_for_shopper(q="ralight biv").query.sql_with_params()
    with connection.cursor() as cur:
        # autovacuum would merge GIN's pending list; in one test transaction we do it by hand
        cur.execute("SELECT gin_clean_pending_list('listing_name_trgm'::regclass)")
        cur.execute("ANALYZE storefront_listingentry")
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "listing_name_trgm" in plan, plan
    assert [e.name for e in listing_list_for_shopper(q="ralight biv")] == ["Ultralight Bivvy"]
