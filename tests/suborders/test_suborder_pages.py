"""Merchant dashboard suborder pages: each store sees only its own suborders; roles and other merchants refused."""
import uuid

import pytest

from orders.models import SubOrderMirror
from orders.services import CheckoutLine, order_checkout
from tests.orders.factories import ADDRESS, stock_item


@pytest.fixture
def two_store_order(mall):
    a = stock_item(mall.acme, price_minor=1999, stock=(4,), tag="so")
    g = stock_item(mall.globex, price_minor=700, stock=(4,), tag="so")
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, idempotency_key=uuid.uuid4().hex, shipping_address=ADDRESS,
                              lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 2), CheckoutLine(g["merchant_id"], g["variant_id"], 1)])
    mirrors = {m.merchant_id: m for m in SubOrderMirror.objects.filter(order=order)}
    return {"order": order, "acme": mirrors[mall.acme.pk], "globex": mirrors[mall.globex.pk], "acme_item": a}


def test_list_shows_only_this_stores_suborders(mall, client_at, two_store_order):
    acme_no, globex_no = two_store_order["acme"].number, two_store_order["globex"].number
    resp = client_at(mall.acme, mall.users["acme:owner"]).get("/suborders/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert f'data-number="{acme_no}"' in body and "CNY 39.98" in body
    assert globex_no not in body
    body = client_at(mall.globex, mall.users["globex:owner"]).get("/suborders/").content.decode()
    assert f'data-number="{globex_no}"' in body and acme_no not in body


def test_status_filter(mall, client_at, two_store_order):
    c = client_at(mall.acme, mall.users["acme:owner"])
    number = two_store_order["acme"].number
    assert number in c.get("/suborders/", {"status": "pending_payment"}).content.decode()
    assert number not in c.get("/suborders/", {"status": "shipped"}).content.decode()
    assert number in c.get("/suborders/", {"status": "nonsense"}).content.decode()  # unknown filter = all


def test_detail_shows_lines_warehouse_reason_shipping_and_timeline(mall, client_at, two_store_order):
    mirror = two_store_order["acme"]
    body = client_at(mall.acme, mall.users["acme:warehouse"]).get(f"/suborders/{mirror.suborder_id}/").content.decode()
    assert mirror.number in body
    assert two_store_order["acme_item"]["sku"] in body and "CNY 19.99" not in body  # warehouse staff never see prices
    owner = client_at(mall.acme, mall.users["acme:owner"]).get(f"/suborders/{mirror.suborder_id}/").content.decode()
    assert "CNY 19.99" in owner
    assert mirror.warehouse_name in body and "holds every line" in body  # the recorded reason
    assert "Standard (free)" in body and "1 Nanjing Road" in body
    assert "Awaiting payment" in body and "checkout" in body  # the first event of the timeline


def test_other_merchants_staff_and_anonymous_refused(mall, client_at, two_store_order):
    mirror = two_store_order["acme"]
    for path in ("/suborders/", f"/suborders/{mirror.suborder_id}/"):
        resp = client_at(mall.acme, mall.users["globex:owner"]).get(path)
        assert resp.status_code == 403 and mirror.number not in resp.content.decode()
        assert client_at(mall.acme, mall.users["shopper"]).get(path).status_code == 403
        resp = client_at(mall.acme).get(path)
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


def test_every_role_can_view(mall, client_at, two_store_order):
    for role in ("owner", "manager", "customer_service", "finance", "warehouse"):
        assert client_at(mall.acme, mall.users[f"acme:{role}"]).get("/suborders/").status_code == 200


def test_unknown_suborder_is_404(mall, client_at):
    assert client_at(mall.acme, mall.users["acme:owner"]).get("/suborders/999999999/").status_code == 404


def test_nav_links_to_suborders_and_shipping_by_role(mall, client_at):
    body = client_at(mall.acme, mall.users["acme:owner"]).get("/").content.decode()
    assert 'href="/suborders/"' in body and 'href="/shipping/"' in body
    body = client_at(mall.acme, mall.users["acme:warehouse"]).get("/").content.decode()
    assert 'href="/suborders/"' in body and 'href="/shipping/"' not in body
