"""Warehouse staff work the catalog and stock without ever seeing a price: pages, API and export."""
from core.tenancy import in_merchant_schema


def _product(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=3, price_minor=45678)
    return v, w


def test_warehouse_sees_no_price_on_catalog_pages_api_and_export(mall, client_at, api_at, make_stock):
    v, _w = _product(mall, make_stock)
    wh = client_at(mall.acme, mall.users["acme:warehouse"])
    for url in ("/catalog/products/", f"/catalog/stock/{v.pk}/"):
        resp = wh.get(url, {"q": v.sku} if "products" in url else {})
        assert resp.status_code == 200 and v.sku in resp.content.decode() and "456.78" not in resp.content.decode()
    export = b"".join(wh.get("/catalog/export/").streaming_content).decode()
    header = export.lstrip("\ufeff").splitlines()[0].split(",")
    assert "price" not in header and "currency" not in header and "456.78" not in export and v.sku in export
    api = api_at(mall.acme, mall.users["acme:warehouse"])
    listed = api.get("/api/v1/catalog/products/", {"search": v.sku}).json()["results"]
    detail = api.get(f"/api/v1/catalog/products/{v.product_id}/").json()
    for body in (listed[0], detail):
        variant = body["variants"][0]
        assert variant["sku"] == v.sku and "price" not in variant and "price_minor" not in variant


def test_the_same_pages_show_prices_to_the_owner(mall, client_at, api_at, make_stock):
    v, _w = _product(mall, make_stock)
    owner = client_at(mall.acme, mall.users["acme:owner"])
    assert "456.78" in owner.get("/catalog/products/", {"q": v.sku}).content.decode()
    assert "456.78" in b"".join(owner.get("/catalog/export/").streaming_content).decode()
    detail = api_at(mall.acme, mall.users["acme:owner"]).get(f"/api/v1/catalog/products/{v.product_id}/").json()
    assert detail["variants"][0]["price_minor"] == 45678
