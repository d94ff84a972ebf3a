"""Merchant catalog/stock API: happy paths, bad input (clear 400 naming the field, nothing written), isolation."""
import pytest

from catalog.models import Category, Product, StockLevel, StockMovement, Variant, Warehouse
from core.tenancy import in_merchant_schema
from tests.catalog.conftest import uniq


def counts(merchant):
    with in_merchant_schema(merchant):
        return (Product.objects.count(), Variant.objects.count(), Warehouse.objects.count(),
                StockMovement.objects.count(), list(StockLevel.objects.order_by("id").values_list("on_hand", "reserved")),
                list(Category.objects.order_by("id").values_list("name", "parent_id")),
                list(Warehouse.objects.order_by("id").values_list("name", "address", "region", "priority", "is_active")))


def product_body(sku_, **variant):
    return {"name": "Trail jacket 冲锋衣", "variants": [{"sku": sku_, "price": "399.00", "currency": "CNY",
                                                      "options": {"size": "M"}, **variant}]}


def test_create_get_search_update_product(mall, api_at):
    api = api_at(mall.acme, mall.users["acme:manager"])
    sku = uniq("JKT")
    resp = api.post("/api/v1/catalog/products/", product_body(sku), format="json")
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["name"] == "Trail jacket 冲锋衣" and body["status"] == "active"
    assert [(v["sku"], v["price_minor"], v["price"], v["name_suffix"]) for v in body["variants"]] == [(sku, 39900, "399.00", "M")]
    pid = body["id"]
    found = api.get("/api/v1/catalog/products/", {"search": sku}).json()
    assert [p["id"] for p in found["results"]] == [pid]
    found = api.get("/api/v1/catalog/products/", {"search": "冲锋"}).json()
    assert pid in [p["id"] for p in found["results"]]
    resp = api.patch(f"/api/v1/catalog/products/{pid}/", {"status": "draft", "variants": [
        {"id": body["variants"][0]["id"], "price": "349.5"}, {"sku": sku + "-L", "price": "399", "options": {"size": "L"}}]},
        format="json")
    assert resp.status_code == 200, resp.json()
    got = resp.json()
    assert got["status"] == "draft"
    assert [(v["sku"], v["price_minor"]) for v in got["variants"]] == [(sku, 34950), (sku + "-L", 39900)]
    assert api.get(f"/api/v1/catalog/products/{pid}/").json()["status"] == "draft"
    drafts = api.get("/api/v1/catalog/products/", {"status": "draft", "search": sku}).json()["results"]
    assert [p["id"] for p in drafts] == [pid]


def test_product_list_is_cursor_paginated(mall, api_at):
    api = api_at(mall.acme, mall.users["acme:owner"])
    prefix = uniq("PG")
    for i in range(3):
        assert api.post("/api/v1/catalog/products/", {"name": f"{prefix} item {i}", "variants": [
            {"sku": f"{prefix}-{i}", "price": "1"}]}, format="json").status_code == 201
    page1 = api.get("/api/v1/catalog/products/", {"search": prefix, "limit": 2}).json()
    assert [p["name"] for p in page1["results"]] == [f"{prefix} item 2", f"{prefix} item 1"]
    assert "cursor=" in page1["next"]
    page2 = api.get(page1["next"]).json()
    assert [p["name"] for p in page2["results"]] == [f"{prefix} item 0"] and page2["next"] is None


def test_warehouses_stock_receipts_adjustments_movements(mall, api_at):
    api = api_at(mall.acme, mall.users["acme:owner"])
    code = uniq("SH")
    resp = api.post("/api/v1/catalog/warehouses/", {"code": code, "name": "Shanghai", "region": "CN-SH", "priority": 1}, format="json")
    assert resp.status_code == 201, resp.json()
    assert code in [w["code"] for w in api.get("/api/v1/catalog/warehouses/").json()["results"]]
    sku = uniq("TEE")
    vid = api.post("/api/v1/catalog/products/", product_body(sku), format="json").json()["variants"][0]["id"]
    clerk = api_at(mall.acme, mall.users["acme:warehouse"])
    resp = clerk.post("/api/v1/catalog/stock/receipts/", {"sku": sku, "warehouse": code, "quantity": 12, "reference": "PO-1"}, format="json")
    assert resp.status_code == 201, resp.json()
    assert resp.json()["available"] == 12
    resp = clerk.post("/api/v1/catalog/stock/adjustments/", {"variant_id": vid, "warehouse": code, "delta": -2, "reason": "damaged"}, format="json")
    assert resp.status_code == 201, resp.json()
    stock = clerk.get(f"/api/v1/catalog/variants/{vid}/stock/").json()
    assert [(lv["warehouse"], lv["on_hand"], lv["reserved"], lv["available"]) for lv in stock["levels"]] == [(code, 10, 0, 10)]
    moves = clerk.get(f"/api/v1/catalog/variants/{vid}/movements/").json()["results"]
    assert [(m["kind"], m["on_hand_delta"], m["reason"], m["actor_id"]) for m in moves] == [
        ("adjustment", -2, "damaged", mall.users["acme:warehouse"].pk), ("receipt", 12, "", mall.users["acme:warehouse"].pk)]


@pytest.fixture
def stocked(mall, api_at):
    api = api_at(mall.acme, mall.users["acme:owner"])
    code, sku = uniq("WH"), uniq("SKU")
    assert api.post("/api/v1/catalog/warehouses/", {"code": code, "name": "Main"}, format="json").status_code == 201
    vid = api.post("/api/v1/catalog/products/", product_body(sku), format="json").json()["variants"][0]["id"]
    assert api.post("/api/v1/catalog/stock/receipts/", {"sku": sku, "warehouse": code, "quantity": 5}, format="json").status_code == 201
    return api, code, sku, vid


@pytest.mark.parametrize("quantity,fragment", [(-3, "negative"), (1.5, "whole number"), (True, "whole number"),
                                               ("abc", "whole number"), (0, "zero"), (10_000_000, "at most")])
def test_receipt_bad_quantity_is_a_clear_400_and_writes_nothing(mall, stocked, quantity, fragment):
    api, code, sku, _vid = stocked
    before = counts(mall.acme)
    resp = api.post("/api/v1/catalog/stock/receipts/", {"sku": sku, "warehouse": code, "quantity": quantity}, format="json")
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == "invalid" and body["field"] == "quantity" and fragment in body["message"]
    assert counts(mall.acme) == before


@pytest.mark.parametrize("payload,field", [
    ({"sku": "NO-SUCH-SKU", "quantity": 1}, "sku"),
    ({"variant_id": 987654321, "quantity": 1}, "variant_id"),
    ({"quantity": 1, "warehouse": "NOPE"}, "warehouse"),
])
def test_receipt_unknown_sku_variant_or_warehouse(mall, stocked, payload, field):
    api, code, sku, _vid = stocked
    payload = {"warehouse": code, **({"sku": sku} if "sku" not in payload and "variant_id" not in payload else {}), **payload}
    before = counts(mall.acme)
    resp = api.post("/api/v1/catalog/stock/receipts/", payload, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == field, resp.json()
    assert "Unknown" in resp.json()["message"]
    assert counts(mall.acme) == before


def test_adjustment_below_reserved_or_zero_is_refused(mall, stocked):
    api, code, sku, _vid = stocked
    before = counts(mall.acme)
    resp = api.post("/api/v1/catalog/stock/adjustments/", {"sku": sku, "warehouse": code, "delta": -6, "reason": "lost"}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "out_of_stock"
    assert resp.json()["details"] == {"sku": sku, "warehouse": code, "requested": 6, "available": 5}
    resp = api.post("/api/v1/catalog/stock/adjustments/", {"sku": sku, "warehouse": code, "delta": -1}, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == "reason"
    assert counts(mall.acme) == before


@pytest.mark.parametrize("variant,field,fragment", [
    ({"price": "12.345"}, "variants[0].price", "decimal places"),
    ({"price": "abc"}, "variants[0].price", "not an amount"),
    ({"price": "-1"}, "variants[0].price", "negative"),
    ({"currency": "XYZ"}, "variants[0].currency", "Unsupported currency"),
    ({"sku": "has space"}, "variants[0].sku", "no spaces"),
    ({"weight_g": 1.5}, "variants[0].weight_g", "whole number"),
    ({"sku": ""}, "variants[0].sku", "blank"),
])
def test_product_bad_input_is_a_clear_400_and_writes_nothing(mall, api_at, variant, field, fragment):
    api = api_at(mall.acme, mall.users["acme:owner"])
    before = counts(mall.acme)
    resp = api.post("/api/v1/catalog/products/", product_body(uniq("BAD"), **variant), format="json")
    assert resp.status_code == 400, resp.json()
    assert resp.json()["field"] == field and fragment in resp.json()["message"], resp.json()
    assert counts(mall.acme) == before


def test_duplicate_sku_is_refused(mall, api_at):
    api = api_at(mall.acme, mall.users["acme:owner"])
    sku = uniq("DUP")
    assert api.post("/api/v1/catalog/products/", product_body(sku), format="json").status_code == 201
    before = counts(mall.acme)
    resp = api.post("/api/v1/catalog/products/", product_body(sku), format="json")
    assert resp.status_code == 400 and resp.json()["field"] == "variants[0].sku" and "already used" in resp.json()["message"]
    body = {"name": "Two of one", "variants": [{"sku": sku + "x", "price": "1"}, {"sku": sku + "X", "price": "1"}]}
    resp = api.post("/api/v1/catalog/products/", body, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == "variants[1].sku" and "twice" in resp.json()["message"]
    assert counts(mall.acme) == before


ENDPOINTS = [
    ("get", "/api/v1/catalog/products/", None),
    ("post", "/api/v1/catalog/products/", {"name": "x", "variants": []}),
    ("get", "/api/v1/catalog/warehouses/", None),
    ("post", "/api/v1/catalog/warehouses/", {"code": "X1", "name": "x"}),
    ("get", "/api/v1/catalog/variants/{vid}/stock/", None),
    ("get", "/api/v1/catalog/variants/{vid}/movements/", None),
    ("post", "/api/v1/catalog/stock/receipts/", {"variant_id": "{vid}", "warehouse": "{code}", "quantity": 1}),
    ("post", "/api/v1/catalog/stock/adjustments/", {"variant_id": "{vid}", "warehouse": "{code}", "delta": 1, "reason": "x"}),
    ("get", "/api/v1/catalog/categories/", None),
    ("post", "/api/v1/catalog/categories/", {"name": "Globex was here"}),
    ("post", "/api/v1/catalog/stock/stocktakes/", {"variant_id": "{vid}", "warehouse": "{code}", "counted": 0}),
    ("patch", "/api/v1/catalog/warehouses/{whid}/", {"name": "Globex was here"}),
]


def warehouse_pk(merchant, code):
    with in_merchant_schema(merchant):
        return Warehouse.objects.get(code=code).pk


@pytest.mark.parametrize("method,url,payload", ENDPOINTS)
def test_globex_user_is_refused_on_acme_catalog_and_stock(mall, api_at, stocked, method, url, payload):
    _api, code, _sku, vid = stocked
    url = url.format(vid=vid, whid=warehouse_pk(mall.acme, code))
    if payload:
        payload = {k: (vid if v == "{vid}" else code if v == "{code}" else v) for k, v in payload.items()}
    before = counts(mall.acme)
    for user in ("globex:owner", "globex:manager", "nobody"):
        resp = getattr(api_at(mall.acme, mall.users[user]), method)(url, payload, format="json")
        assert resp.status_code == 403 and resp.json()["code"] == "permission_denied", (user, resp.content)
    assert api_at(mall.acme, None).get(url).status_code in (401, 403)
    assert counts(mall.acme) == before


@pytest.mark.parametrize("user,method,url,payload", [
    ("acme:finance", "post", "/api/v1/catalog/stock/receipts/", {"variant_id": "{vid}", "warehouse": "{code}", "quantity": 1}),
    ("acme:customer_service", "post", "/api/v1/catalog/stock/adjustments/", {"variant_id": "{vid}", "warehouse": "{code}", "delta": 1, "reason": "x"}),
    ("acme:warehouse", "post", "/api/v1/catalog/products/", {"name": "x", "variants": []}),
    ("acme:finance", "patch", "/api/v1/catalog/products/{pid}/", {"name": "renamed"}),
    ("acme:warehouse", "post", "/api/v1/catalog/warehouses/", {"code": "X2", "name": "x"}),
    ("acme:warehouse", "post", "/api/v1/catalog/categories/", {"name": "Not mine to make"}),
    ("acme:finance", "post", "/api/v1/catalog/stock/stocktakes/", {"variant_id": "{vid}", "warehouse": "{code}", "counted": 0}),
    ("acme:customer_service", "post", "/api/v1/catalog/stock/stocktakes/", {"sku": "{sku}", "warehouse": "{code}", "counted": 9}),
    ("acme:warehouse", "patch", "/api/v1/catalog/warehouses/{whid}/", {"name": "renamed", "is_active": False}),
])
def test_same_merchant_user_without_the_role_is_refused(mall, api_at, stocked, user, method, url, payload):
    _api, code, sku, vid = stocked
    with in_merchant_schema(mall.acme):
        pid = Variant.objects.get(pk=vid).product_id
    url = url.format(vid=vid, pid=pid, whid=warehouse_pk(mall.acme, code))
    payload = {k: {"{vid}": vid, "{code}": code, "{sku}": sku}.get(v, v) if isinstance(v, str) else v
               for k, v in payload.items()}
    before = counts(mall.acme)
    resp = getattr(api_at(mall.acme, mall.users[user]), method)(url, payload, format="json")
    assert resp.status_code == 403 and "does not allow" in resp.json()["message"], resp.content
    assert counts(mall.acme) == before
    # the same user may still read
    assert api_at(mall.acme, mall.users[user]).get(f"/api/v1/catalog/variants/{vid}/stock/").status_code == 200


def test_acme_ids_do_not_reach_globex_rows(mall, api_at, stocked):
    """A globex owner asking globex's host for acme's variant id sees globex's schema, not acme's."""
    _api, _code, sku, vid = stocked
    resp = api_at(mall.globex, mall.users["globex:owner"]).get(f"/api/v1/catalog/variants/{vid}/stock/")
    assert resp.status_code == 404 or resp.json()["sku"] != sku


# ---------------------------------------------------------------- categories

def test_create_and_list_categories(mall, api_at):
    api = api_at(mall.acme, mall.users["acme:manager"])
    outdoor, jackets = uniq("Outdoor 户外"), uniq("Jackets")
    resp = api.post("/api/v1/catalog/categories/", {"name": outdoor}, format="json")
    assert resp.status_code == 201, resp.json()
    parent = resp.json()
    assert parent == {"id": parent["id"], "name": outdoor, "parent_id": None}
    resp = api.post("/api/v1/catalog/categories/", {"name": jackets, "parent_id": parent["id"]}, format="json")
    assert resp.status_code == 201, resp.json()
    child = resp.json()
    assert child == {"id": child["id"], "name": jackets, "parent_id": parent["id"]}
    with in_merchant_schema(mall.acme):
        assert Category.objects.get(pk=child["id"]).parent_id == parent["id"]
    listed = api_at(mall.acme, mall.users["acme:warehouse"]).get("/api/v1/catalog/categories/")
    assert listed.status_code == 200
    mine = [c for c in listed.json()["results"] if c["name"] in (outdoor, jackets)]
    assert mine == [child, parent]  # ordered by name: "Jackets…" before "Outdoor…"


@pytest.mark.parametrize("payload,field,fragment", [
    ({"name": ""}, "name", "blank"),
    ({}, "name", "required"),
    ({"name": "x" * 121}, "name", "120"),
    ({"name": "Orphan", "parent_id": 987654321}, "parent_id", "Unknown parent category 987654321"),
    ({"name": "Orphan", "parent_id": "abc"}, "parent_id", "valid integer"),
    ({"name": "{dup}"}, "name", "already exists"),
])
def test_category_bad_input_names_the_field_and_writes_nothing(mall, api_at, payload, field, fragment):
    api = api_at(mall.acme, mall.users["acme:owner"])
    existing = uniq("Shoes")
    assert api.post("/api/v1/catalog/categories/", {"name": existing}, format="json").status_code == 201
    if payload.get("name") == "{dup}":
        payload = {"name": existing.upper()}  # names are unique case-insensitively
    before = counts(mall.acme)
    resp = api.post("/api/v1/catalog/categories/", payload, format="json")
    assert resp.status_code == 400, resp.json()
    assert resp.json()["field"] == field and fragment in resp.json()["message"], resp.json()
    assert counts(mall.acme) == before


# ---------------------------------------------------------------- stocktakes

def test_stocktake_sets_on_hand_to_the_count(mall, api_at, stocked):
    _api, code, sku, vid = stocked
    clerk = api_at(mall.acme, mall.users["acme:warehouse"])
    resp = clerk.post("/api/v1/catalog/stock/stocktakes/",
                      {"sku": sku, "warehouse": code, "counted": 3, "reason": "cycle count", "reference": "ST-1"}, format="json")
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert (body["variant_id"], body["sku"], body["available"]) == (vid, sku, 3)
    assert [(lv["warehouse"], lv["on_hand"], lv["reserved"], lv["available"]) for lv in body["levels"]] == [(code, 3, 0, 3)]
    whid = warehouse_pk(mall.acme, code)
    resp = clerk.post("/api/v1/catalog/stock/stocktakes/", {"variant_id": vid, "warehouse_id": whid, "counted": 7}, format="json")
    assert resp.status_code == 201, resp.json()
    assert [(lv["on_hand"], lv["available"]) for lv in resp.json()["levels"]] == [(7, 7)]
    moves = clerk.get(f"/api/v1/catalog/variants/{vid}/movements/").json()["results"]
    clerk_id = mall.users["acme:warehouse"].pk
    assert [(m["kind"], m["on_hand_delta"], m["reason"], m["reference"], m["actor_id"]) for m in moves[:2]] == [
        ("stocktake", 4, "stocktake", "", clerk_id), ("stocktake", -2, "cycle count", "ST-1", clerk_id)]
    assert len(moves) == 3 and moves[2]["kind"] == "receipt"


@pytest.mark.parametrize("payload,field,fragment", [
    ({"counted": -1}, "counted", "negative"),
    ({"counted": 1.5}, "counted", "whole number"),
    ({"counted": "many"}, "counted", "whole number"),
    ({}, "counted", "required"),
    ({"counted": 2, "sku": "NO-SUCH-SKU"}, "sku", "Unknown SKU 'NO-SUCH-SKU'."),
    ({"counted": 2, "warehouse": "NOPE"}, "warehouse", "Unknown warehouse 'NOPE'."),
    ({"counted": 2, "warehouse": None, "warehouse_id": 987654321}, "warehouse_id", "Unknown warehouse 987654321."),
    ({"counted": 2, "sku": None, "variant_id": 987654321}, "variant_id", "Unknown variant 987654321."),
])
def test_stocktake_bad_input_names_the_field_and_writes_nothing(mall, stocked, payload, field, fragment):
    api, code, sku, _vid = stocked
    body = {"sku": sku, "warehouse": code, **payload}
    body = {k: v for k, v in body.items() if v is not None}
    before = counts(mall.acme)
    resp = api.post("/api/v1/catalog/stock/stocktakes/", body, format="json")
    assert resp.status_code == 400, resp.json()
    assert resp.json()["field"] == field and fragment in resp.json()["message"], resp.json()
    assert counts(mall.acme) == before


# ---------------------------------------------------------------- warehouse update

def test_patch_warehouse(mall, api_at, stocked):
    api, code, _sku, vid = stocked
    whid = warehouse_pk(mall.acme, code)
    resp = api_at(mall.acme, mall.users["acme:manager"]).patch(
        f"/api/v1/catalog/warehouses/{whid}/",
        {"name": "Main 主仓", "address": "1 Dock Rd", "region": "CN-BJ", "priority": -5, "is_active": False}, format="json")
    assert resp.status_code == 200, resp.json()
    expected = {"id": whid, "code": code, "name": "Main 主仓", "address": "1 Dock Rd", "region": "CN-BJ",
                "priority": -5, "is_active": False}
    assert resp.json() == expected
    assert [w for w in api.get("/api/v1/catalog/warehouses/").json()["results"] if w["id"] == whid] == [expected]
    assert api.get(f"/api/v1/catalog/variants/{vid}/stock/").json()["available"] == 0  # inactive warehouses don't count
    resp = api.patch(f"/api/v1/catalog/warehouses/{whid}/", {"is_active": True}, format="json")
    assert resp.status_code == 200 and resp.json() == {**expected, "is_active": True}
    assert api.get(f"/api/v1/catalog/variants/{vid}/stock/").json()["available"] == 5


@pytest.mark.parametrize("payload,field,fragment", [
    ({"name": ""}, "name", "blank"),
    ({"priority": 1.5}, "priority", "whole number"),
    ({"priority": 10**7}, "priority", "at most"),
    ({"is_active": "maybe"}, "is_active", "valid boolean"),
    ({"region": "x" * 33}, "region", "32"),
])
def test_patch_warehouse_bad_input_names_the_field_and_writes_nothing(mall, stocked, payload, field, fragment):
    api, code, _sku, _vid = stocked
    before = counts(mall.acme)
    resp = api.patch(f"/api/v1/catalog/warehouses/{warehouse_pk(mall.acme, code)}/", {"name": "Renamed", **payload}, format="json")
    assert resp.status_code == 400, resp.json()
    assert resp.json()["field"] == field and fragment in resp.json()["message"], resp.json()
    assert counts(mall.acme) == before


def test_patch_unknown_warehouse_is_404(mall, stocked):
    api = stocked[0]
    before = counts(mall.acme)
    resp = api.patch("/api/v1/catalog/warehouses/987654321/", {"name": "Ghost"}, format="json")
    assert resp.status_code == 404 and resp.json()["field"] == "warehouse_id", resp.json()
    assert counts(mall.acme) == before


def test_api_errors_follow_the_requested_language(mall, stocked):
    api, code, _sku, _vid = stocked
    url = "/api/v1/catalog/stock/stocktakes/"
    resp = api.post(url, {"sku": "NO-SUCH-SKU", "warehouse": code, "counted": 1}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert resp.status_code == 400 and resp.json()["message"] == "未知 SKU 'NO-SUCH-SKU'。", resp.json()
    resp = api.post(url, {"sku": "NO-SUCH-SKU", "warehouse": code, "counted": 1.5}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert resp.status_code == 400 and resp.json()["message"] == "counted：必须是整数，例如 5。", resp.json()
    resp = api.post(url, {"sku": "NO-SUCH-SKU", "warehouse": code, "counted": 1.5}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.json()["message"] == "counted: Must be a whole number, e.g. 5."
