"""The merchant API for integrations (an ERP/WMS on acme's host): one suborder with everything an ERP
needs, the change feed's shape and input, stock read and set per warehouse, and who may do what."""
from __future__ import annotations

import uuid

import pytest

from catalog.models import StockLevel, StockMovement
from catalog.services import stock_reserve, warehouse_grants_set
from core.tenancy import in_merchant_schema
from permissions.services import api_token_create
from suborders.models import SubOrder
from tests.orders.factories import stock_item
from tests.payments.helpers import pay, place_order


def _key() -> dict:
    return {"HTTP_IDEMPOTENCY_KEY": f"it-{uuid.uuid4().hex}"}


def _token_client(merchant, user, *, read_only=False):
    from rest_framework.test import APIClient

    from tests.conftest import host_of

    _, secret = api_token_create(user=user, name="erp", merchant=merchant, read_only=read_only)
    client = APIClient(HTTP_HOST=host_of(merchant))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def shipped(mall):
    """A paid acme suborder, accepted and shipped with one manual tracking scan, tagged, from a channel."""
    from fulfillment.shipments import shipment_create
    from fulfillment.tracking_entry import shipment_tracking_event_enter
    from suborders.services import suborder_accept

    order, items = place_order(mall, stores=("acme", "globex"), qty=2, price_minor=1500)
    pay(order)
    owner = mall.users["acme:owner"]
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
        SubOrder.objects.filter(pk=so.pk).update(tags=["vip"], channel="shopify", external_order_id=f"SHOP-{so.pk}")
        suborder_accept(suborder_id=so.pk, actor=owner)
        line = so.lines.get()
        shipment = shipment_create(suborder_id=so.pk, actor=owner, lines=[(line.pk, 2)], carrier="sf",
                                   tracking_number=f"SF{uuid.uuid4().int % 10**13:013d}")
        shipment_tracking_event_enter(shipment_id=shipment.pk, actor=owner, kind="in_transit", at=None, location="Shanghai hub",
                                      description="Departed", key="it-scan")
    with in_merchant_schema(mall.globex):
        globex_so = SubOrder.objects.get(order_id=order.pk)
    return {"id": so.pk, "line_id": line.pk, "shipment_id": shipment.pk, "order": order, "globex_id": globex_so.pk,
            "acme_item": items[0]}


def test_one_suborder_has_lines_shipments_tracking_payment_channel_and_tags(mall, shipped):
    body = _token_client(mall.acme, mall.users["acme:owner"]).get(f"/api/v1/suborders/{shipped['id']}/").json()
    assert body["status"] == "shipped" and body["channel"] == "shopify" and body["external_order_id"] == f"SHOP-{shipped['id']}"
    assert body["tags"] == ["vip"] and body["version"] >= 3
    assert [(ln["id"], ln["quantity"], ln["shipped_qty"], ln["line_total_minor"]) for ln in body["lines"]] == \
        [(shipped["line_id"], 2, 2, 3000)]
    [sh] = body["shipments"]
    assert sh["id"] == shipped["shipment_id"] and sh["carrier"] == "sf" and sh["lines"] == [{"line_id": shipped["line_id"], "quantity": 2}]
    assert [(t["kind"], t["location"], t["source"]) for t in sh["tracking"]] == [("in_transit", "Shanghai hub", "manual")]
    pay_share = body["payment"]
    # acme's share only (the order also paid globex 2 x 15.00): its suborder total, no refunds yet
    assert pay_share["paid"] is True and pay_share["status"] == "captured" and pay_share["currency"] == "CNY"
    assert pay_share["amount_minor"] == body["total_minor"] and pay_share["refunded_minor"] == 0 and pay_share["refunds"] == []
    assert body["returns"] == []


def test_warehouse_staff_get_no_amounts_and_no_payment(mall, shipped):
    body = _token_client(mall.acme, mall.users["acme:warehouse"]).get(f"/api/v1/suborders/{shipped['id']}/").json()
    assert "payment" not in body and body["shipments"][0]["tracking"]
    assert not [k for k in body if k.endswith("_minor")] and "line_total_minor" not in body["lines"][0]
    cs = _token_client(mall.acme, mall.users["acme:customer_service"]).get(f"/api/v1/suborders/{shipped['id']}/").json()
    assert cs["payment"] is None and cs["total_minor"] == cs["lines"][0]["line_total_minor"] + cs["shipping_minor"] - cs["discount_minor"]


def test_a_refund_shows_on_the_payment_share(mall, shipped):
    from orders.models import OrderLine
    from payments.services import RefundLineRequest, refund_create

    order_line = OrderLine.objects.get(order=shipped["order"], merchant=mall.acme)
    refund_create(actor=mall.users["acme:finance"], merchant_id=mall.acme.pk, suborder_id=shipped["id"],
                  lines=[RefundLineRequest(order_line_id=order_line.pk, quantity=1)], reason="damaged")
    share = _token_client(mall.acme, mall.users["acme:finance"]).get(f"/api/v1/suborders/{shipped['id']}/").json()["payment"]
    assert share["refunded_minor"] == 1500 and [(r["amount_minor"], r["reason"]) for r in share["refunds"]] == [(1500, "damaged")]


def _acme_only_suborder_id(mall) -> int:
    """A real acme suborder id that globex's schema does not also use (ids are per schema): place acme
    orders until there is one."""
    def acme_only():
        with in_merchant_schema(mall.globex):
            globex_ids = set(SubOrder.objects.values_list("pk", flat=True))
        with in_merchant_schema(mall.acme):
            return max(set(SubOrder.objects.values_list("pk", flat=True)) - globex_ids, default=None)

    while acme_only() is None:
        place_order(mall, stores=("acme",), qty=1)
    return acme_only()


def test_other_store_gets_404_for_a_real_acme_suborder_and_its_token_401_on_acme(mall, shipped):
    acme_id = _acme_only_suborder_id(mall)
    assert _token_client(mall.acme, mall.users["acme:owner"]).get(f"/api/v1/suborders/{acme_id}/").status_code == 200
    globex = _token_client(mall.globex, mall.users["globex:owner"])
    resp = globex.get(f"/api/v1/suborders/{acme_id}/")
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    # a globex token on acme's host is refused before anything is looked up
    globex.defaults["HTTP_HOST"] = "acme.localhost"
    resp = globex.get(f"/api/v1/suborders/{acme_id}/")
    assert resp.status_code == 401 and resp.json()["code"] == "authentication_failed"
    # and a globex member signed in on acme's host (a session) has no role there
    session = _token_client(mall.acme, mall.users["globex:owner"])
    assert session.get(f"/api/v1/suborders/{acme_id}/").status_code == 403


def test_changes_feed_lists_changed_suborders_with_a_cursor_and_names_bad_input(mall, shipped):
    client = _token_client(mall.acme, mall.users["acme:owner"])
    seen, after = [], ""
    for _ in range(1000):
        page = client.get("/api/v1/suborders/changes/", {"after": after, "limit": 50} if after else {"limit": 50}).json()
        seen += [(r["id"], r["version"]) for r in page["results"]]
        after = page["next"]
        if not page["has_more"]:
            break
    # inside this test's transaction nothing is handed out: its own writes are not older than itself
    assert shipped["id"] not in [i for i, _v in seen]
    for params, field in (({"after": "garbage"}, "after"), ({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"),
                          ({"updated_after": "yesterday"}, "updated_after")):
        resp = client.get("/api/v1/suborders/changes/", params)
        assert resp.status_code == 400 and resp.json()["field"] == field, params
    again = client.get("/api/v1/suborders/changes/", {"after": after})
    assert again.status_code == 200 and again.json()["next"] == after and again.json()["results"] == []


# ---------------------------------------------------------------- stock


@pytest.fixture
def item(mall):
    """An acme SKU with 10 on hand in each of two warehouses, 3 of the first reserved for an order."""
    it = stock_item(mall.acme, stock=(10, 10))
    with in_merchant_schema(mall.acme):
        from catalog.services import ReserveLine

        stock_reserve(lines=[ReserveLine(it["variant_id"], it["warehouse_ids"][0], 3, f"test:{uuid.uuid4().hex}")], expires_at=None)
        from catalog.models import Warehouse

        it["codes"] = [Warehouse.objects.get(pk=w).code for w in it["warehouse_ids"]]
    return it


def _level(mall, item, i=0):
    with in_merchant_schema(mall.acme):
        lv = StockLevel.objects.get(variant_id=item["variant_id"], warehouse_id=item["warehouse_ids"][i])
        return lv.on_hand, lv.reserved


def _movements(mall, item):
    with in_merchant_schema(mall.acme):
        return list(StockMovement.objects.filter(variant_id=item["variant_id"]).order_by("pk")
                    .values_list("kind", "warehouse_id", "on_hand_delta", "reason", "actor_id"))


def test_stock_get_by_sku_and_warehouse(mall, item):
    client = _token_client(mall.acme, mall.users["acme:warehouse"])
    rows = client.get("/api/v1/stock/", {"sku": item["sku"]}).json()["results"]
    assert [(r["warehouse"], r["on_hand"], r["reserved"], r["available"]) for r in rows] == \
        [(item["codes"][0], 10, 3, 7), (item["codes"][1], 10, 0, 10)]
    one = client.get("/api/v1/stock/", {"sku": item["sku"], "warehouse": item["codes"][1]}).json()
    assert [(r["sku"], r["warehouse_id"]) for r in one["results"]] == [(item["sku"], item["warehouse_ids"][1])] and one["next"] is None
    paged = client.get("/api/v1/stock/", {"sku": item["sku"], "limit": 1}).json()
    assert len(paged["results"]) == 1 and paged["next"]
    rest = client.get("/api/v1/stock/", {"sku": item["sku"], "limit": 1, "cursor": paged["next"]}).json()
    assert rest["results"][0]["warehouse"] == item["codes"][1]
    for params, field in (({"sku": "NO-SUCH-SKU"}, "sku"), ({"warehouse": "NOPE"}, "warehouse"), ({"limit": "9999"}, "limit"),
                          ({"cursor": "x"}, "cursor")):
        resp = client.get("/api/v1/stock/", params)
        assert resp.status_code in (400, 404) and resp.json()["field"] == field, params


def test_stock_set_absolute_and_delta_through_the_journal_with_idempotency(mall, item):
    client = _token_client(mall.acme, mall.users["acme:warehouse"])
    before = _movements(mall, item)
    key = _key()
    resp = client.post("/api/v1/stock/", {"sku": item["sku"], "warehouse": item["codes"][0], "quantity": 25, "reference": "count-7"},
                       format="json", **key)
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert (body["on_hand"], body["reserved"], body["available"]) == (25, 3, 22)
    assert body["movement"]["kind"] == "stocktake" and body["movement"]["on_hand_delta"] == 15
    replay = client.post("/api/v1/stock/", {"sku": item["sku"], "warehouse": item["codes"][0], "quantity": 25}, format="json", **key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    resp = client.post("/api/v1/stock/", {"sku": item["sku"], "warehouse": item["codes"][0], "delta": -5, "reason": "damaged"},
                       format="json", **_key())
    assert resp.status_code == 200 and resp.json()["on_hand"] == 20 and resp.json()["movement"]["kind"] == "adjustment"
    assert _level(mall, item) == (20, 3)
    user_id = mall.users["acme:warehouse"].pk
    assert _movements(mall, item)[len(before):] == [("stocktake", item["warehouse_ids"][0], 15, "stock set through the API", user_id),
                                                    ("adjustment", item["warehouse_ids"][0], -5, "damaged", user_id)]


@pytest.mark.parametrize("body,status,field", [
    ({"quantity": 2}, 400, "quantity"),  # below the 3 reserved
    ({"delta": -8, "reason": "lost"}, 409, "delta"),  # 10 - 8 = 2 < 3 reserved
    ({"quantity": -1}, 400, "quantity"),
    ({"quantity": "1.5"}, 400, "quantity"),
    ({"quantity": 5, "delta": 1, "reason": "x"}, 400, "quantity"),
    ({}, 400, "quantity"),
    ({"delta": 3}, 400, "reason"),
    ({"quantity": 5, "warehouse": "NOPE"}, 404, "warehouse"),
    ({"quantity": 5, "warehouse": None}, 400, "warehouse"),
    ({"quantity": 5, "sku": "NO-SUCH-SKU"}, 404, "sku"),
])
def test_stock_set_refuses_bad_input_naming_the_field_and_changes_nothing(mall, item, body, status, field):
    client = _token_client(mall.acme, mall.users["acme:owner"])
    before = _movements(mall, item)
    payload = {"sku": item["sku"], "warehouse": item["codes"][0], **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    resp = client.post("/api/v1/stock/", payload, format="json", **_key())
    assert resp.status_code == status and resp.json()["field"] == field, resp.json()
    assert _level(mall, item) == (10, 3) and _movements(mall, item) == before


def test_read_only_token_cannot_set_stock(mall, item):
    client = _token_client(mall.acme, mall.users["acme:owner"], read_only=True)
    assert client.get("/api/v1/stock/", {"sku": item["sku"]}).status_code == 200
    resp = client.post("/api/v1/stock/", {"sku": item["sku"], "warehouse": item["codes"][0], "quantity": 50}, format="json", **_key())
    assert resp.status_code == 403 and _level(mall, item) == (10, 3)


def test_roles_without_stock_edit_and_other_stores_are_refused(mall, item):
    for role in ("customer_service", "finance"):
        client = _token_client(mall.acme, mall.users[f"acme:{role}"])
        assert client.get("/api/v1/stock/", {"sku": item["sku"]}).status_code == 200  # everyone sees stock
        resp = client.post("/api/v1/stock/", {"sku": item["sku"], "warehouse": item["codes"][0], "quantity": 50}, format="json", **_key())
        assert resp.status_code == 403, role
    globex = _token_client(mall.globex, mall.users["globex:owner"])  # acme's real SKU and warehouse code, at globex
    assert globex.get("/api/v1/stock/", {"sku": item["sku"]}).status_code == 404
    resp = globex.post("/api/v1/stock/", {"sku": item["sku"], "warehouse": item["codes"][0], "quantity": 50}, format="json", **_key())
    assert resp.status_code == 404 and _level(mall, item) == (10, 3)
    assert _token_client(mall.acme, mall.users["globex:warehouse"]).get("/api/v1/stock/").status_code == 403


def test_warehouse_limited_user_reads_and_sets_only_their_warehouse(mall, item):
    clerk = mall.users["acme:warehouse"]
    with in_merchant_schema(mall.acme):
        warehouse_grants_set(actor=mall.users["acme:owner"], user=clerk, warehouse_ids=[item["warehouse_ids"][1]])
    client = _token_client(mall.acme, clerk)
    rows = client.get("/api/v1/stock/", {"sku": item["sku"]}).json()["results"]
    assert [r["warehouse_id"] for r in rows] == [item["warehouse_ids"][1]]
    resp = client.post("/api/v1/stock/", {"sku": item["sku"], "warehouse": item["codes"][0], "quantity": 50}, format="json", **_key())
    assert resp.status_code == 404 and resp.json()["field"] == "warehouse" and _level(mall, item, 0) == (10, 3)
    ok = client.post("/api/v1/stock/", {"sku": item["sku"], "warehouse": item["codes"][1], "quantity": 4}, format="json", **_key())
    assert ok.status_code == 200 and _level(mall, item, 1) == (4, 0)
