"""Merchant suborder API: each merchant sees only its own suborders; roles are checked."""
import pytest

from orders.services import CheckoutLine, order_checkout
from tests.orders.factories import ADDRESS, stock_item


@pytest.fixture
def two_store_order(mall):
    a = stock_item(mall.acme, stock=(3,))
    g = stock_item(mall.globex, stock=(3,))
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS, idempotency_key="api-so",
                              lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 1), CheckoutLine(g["merchant_id"], g["variant_id"], 2)])
    return order


def test_each_merchant_lists_only_its_suborders(mall, api_at, two_store_order):
    acme = api_at(mall.acme, mall.users["acme:warehouse"]).get("/api/v1/suborders/").json()
    globex = api_at(mall.globex, mall.users["globex:owner"]).get("/api/v1/suborders/").json()
    acme_mine = [s for s in acme if s["order_number"] == two_store_order.number]
    globex_mine = [s for s in globex if s["order_number"] == two_store_order.number]
    assert len(acme_mine) == 1 and len(globex_mine) == 1
    assert acme_mine[0]["number"].endswith("ACME1") and globex_mine[0]["number"].endswith("GLOBEX1")
    assert all(s["number"].split("-")[-1].startswith("ACME") for s in acme)
    detail = api_at(mall.acme, mall.users["acme:finance"]).get(f"/api/v1/suborders/{acme_mine[0]['id']}/").json()
    assert detail["lines"][0]["quantity"] == 1 and detail["events"][0]["to_status"] == "pending_payment"


def test_other_merchant_and_strangers_refused(mall, api_at, two_store_order):
    assert api_at(mall.acme, mall.users["globex:owner"]).get("/api/v1/suborders/").status_code == 403
    assert api_at(mall.acme, mall.users["shopper"]).get("/api/v1/suborders/").status_code == 403
    assert api_at(mall.acme, None).get("/api/v1/suborders/").status_code in (401, 403)
    # a globex suborder id asked for on acme's host is simply not there
    globex_id = api_at(mall.globex, mall.users["globex:owner"]).get("/api/v1/suborders/").json()[0]["id"]
    resp = api_at(mall.acme, mall.users["acme:owner"]).get(f"/api/v1/suborders/{globex_id + 100000}/")
    assert resp.status_code == 404
