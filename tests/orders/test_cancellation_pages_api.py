"""Shopper cancellations through the order page and the shopper API (mall host), and the merchant's queue,
suborder page and API (merchant host): buttons where they apply, the request's state, errors naming the
field with nothing changed, Idempotency-Key, other shoppers and other stores refused."""
import uuid

from core.tenancy import in_merchant_schema
from orders.models import OrderLine
from payments.models import Refund
from suborders import services as svc
from suborders.models import CancellationRequest, SubOrder, SubOrderLine
from tests.payments.helpers import pay, place_order
from tests.suborders.test_lifecycle import _relay


def _order(mall, stores=("acme",), qty=2, accept=()):
    order, items = place_order(mall, stores=stores, qty=qty, price_minor=1000)
    pay(order)
    out = {}
    for slug in stores:
        m = getattr(mall, slug)
        with in_merchant_schema(m):
            so = SubOrder.objects.get(order_id=order.pk)
            if slug in accept:
                svc.suborder_accept(suborder_id=so.pk, actor=mall.users[f"{slug}:owner"])
        out[slug] = so
    return order, out


def _key():
    return {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}


def test_order_page_shows_cancel_buttons_and_cancelling_a_line_refunds_it(mall, client_at):
    order, sos = _order(mall, stores=("acme", "globex"), accept=("globex",))
    client = client_at(None, mall.users["shopper"])
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert 'data-testid="cancel-order-button"' in page
    assert page.count('data-testid="cancel-form"') == 2
    assert "cancelling is immediate" in page and "it approves or refuses your request" in page
    acme_line = OrderLine.objects.get(order=order, merchant=mall.acme)
    resp = client.post(f"/orders/{order.number}/cancel/", {"scope": "lines", f"qty_{acme_line.pk}": "1", "reason": "too many"})
    assert resp.status_code == 302
    with in_merchant_schema(mall.acme):
        assert SubOrderLine.objects.get(suborder_id=sos["acme"].pk).cancelled_qty == 1
    _relay()
    assert [r.amount_minor for r in Refund.objects.filter(order=order)] == [1000]
    globex_line = OrderLine.objects.get(order=order, merchant=mall.globex)
    client.post(f"/orders/{order.number}/cancel/", {"scope": "lines", f"qty_{globex_line.pk}": "2"})
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert 'data-testid="cancel-request" data-status="requested"' in page
    assert 'data-testid="cancel-order-button"' not in page  # globex's part waits on its request: no whole-order button


def test_bad_page_input_names_the_problem_and_changes_nothing(mall, client_at):
    order, sos = _order(mall)
    client = client_at(None, mall.users["shopper"])
    line = OrderLine.objects.get(order=order, merchant=mall.acme)
    resp = client.post(f"/orders/{order.number}/cancel/", {"scope": "lines", f"qty_{line.pk}": "5"}, follow=True)
    assert "can be cancelled" in resp.content.decode()
    with in_merchant_schema(mall.acme):
        assert SubOrderLine.objects.get(suborder_id=sos["acme"].pk).cancelled_qty == 0
    other = client_at(None, mall.users["nobody"])
    assert other.post(f"/orders/{order.number}/cancel/", {"scope": "order"}).status_code == 404
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=sos["acme"].pk).status == "awaiting_acceptance"


def test_shopper_api_cancels_whole_order_in_one_go_and_replays_with_the_same_key(mall, api_at):
    order, sos = _order(mall, stores=("acme", "globex"), accept=("globex",))
    api = api_at(None, mall.users["shopper"])
    state = api.get(f"/api/v1/orders/{order.number}/cancellations/").json()
    assert sorted(s["mode"] for s in state) == ["immediate", "request"]
    key = _key()
    resp = api.post(f"/api/v1/orders/{order.number}/cancellations/", {}, format="json", **key)
    assert resp.status_code == 201, resp.content
    assert sorted(o["outcome"] for o in resp.json()) == ["cancelled", "requested"]
    again = api.post(f"/api/v1/orders/{order.number}/cancellations/", {}, format="json", **key)
    assert again.json() == resp.json() and again["Idempotent-Replayed"] == "true"
    with in_merchant_schema(mall.globex):
        assert CancellationRequest.objects.filter(suborder_id=sos["globex"].pk).count() == 1
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=sos["acme"].pk).status == "cancelled"


def test_shopper_api_errors_name_the_field_and_leave_everything(mall, api_at):
    order, sos = _order(mall, stores=("acme", "globex"))
    api = api_at(None, mall.users["shopper"])
    acme_line = OrderLine.objects.get(order=order, merchant=mall.acme)
    globex_line = OrderLine.objects.get(order=order, merchant=mall.globex)
    # the second line asks too much: the first (valid) one is not cancelled either
    resp = api.post(f"/api/v1/orders/{order.number}/cancellations/",
                    {"lines": [{"line_id": acme_line.pk, "quantity": 1}, {"line_id": globex_line.pk, "quantity": 3}]},
                    format="json", **_key())
    assert resp.status_code == 400 and resp.json()["field"] == "lines[1].quantity"
    resp = api.post(f"/api/v1/orders/{order.number}/cancellations/", {"lines": [{"line_id": 10**9, "quantity": 1}]},
                    format="json", **_key())
    assert resp.status_code == 404 and resp.json()["field"] == "lines[0].line_id"
    assert api.post(f"/api/v1/orders/{order.number}/cancellations/", {}, format="json").status_code == 400  # no key
    for slug in ("acme", "globex"):
        with in_merchant_schema(getattr(mall, slug)):
            assert SubOrderLine.objects.get(suborder_id=sos[slug].pk).cancelled_qty == 0
    other = api_at(None, mall.users["nobody"])
    assert other.post(f"/api/v1/orders/{order.number}/cancellations/", {}, format="json", **_key()).status_code == 404
    assert other.get(f"/api/v1/orders/{order.number}/cancellations/").status_code == 404


def test_merchant_queue_page_and_suborder_page_decide_a_request(mall, client_at):
    order, sos = _order(mall, accept=("acme",))
    api_line = OrderLine.objects.get(order=order, merchant=mall.acme)
    client_at(None, mall.users["shopper"]).post(f"/orders/{order.number}/cancel/",
                                                 {"scope": "lines", f"qty_{api_line.pk}": "1", "reason": "gift bought twice"})
    with in_merchant_schema(mall.acme):
        req = CancellationRequest.objects.get(suborder_id=sos["acme"].pk)
    cs = client_at(mall.acme, mall.users["acme:customer_service"])
    queue = cs.get("/suborders/cancellations/").content.decode()
    assert f'data-request="{req.pk}"' in queue and "gift bought twice" in queue
    detail = cs.get(f"/suborders/{sos['acme'].pk}/").content.decode()
    assert 'data-testid="cancellation-request" data-status="requested"' in detail and "cancellation-approve" in detail
    resp = cs.post(f"/suborders/cancellations/{req.pk}/decide/", {"decision": "refuse", "reason": ""}, follow=True)
    assert "Say why" in resp.content.decode()
    cs.post(f"/suborders/cancellations/{req.pk}/decide/", {"decision": "refuse", "reason": "already packed"})
    with in_merchant_schema(mall.acme):
        assert CancellationRequest.objects.get(pk=req.pk).status == "refused"
    page = client_at(None, mall.users["shopper"]).get(f"/orders/{order.number}/").content.decode()
    assert 'data-status="refused"' in page and "already packed" in page
    assert client_at(mall.acme, mall.users["acme:finance"]).get("/suborders/cancellations/").status_code == 403


def test_merchant_api_lists_approves_and_refuses_only_its_own(mall, api_at):
    order, sos = _order(mall, stores=("acme", "globex"), accept=("acme", "globex"))
    shopper = api_at(None, mall.users["shopper"])
    shopper.post(f"/api/v1/orders/{order.number}/cancellations/", {}, format="json", **_key())
    with in_merchant_schema(mall.acme):
        acme_req = CancellationRequest.objects.get(suborder_id=sos["acme"].pk)
    with in_merchant_schema(mall.globex):
        globex_req = CancellationRequest.objects.get(suborder_id=sos["globex"].pk)
    acme = api_at(mall.acme, mall.users["acme:manager"])
    listed = acme.get("/api/v1/cancellations/").json()
    assert acme_req.pk in [r["id"] for r in listed] and all(r["suborder_number"].startswith(order.number) for r in listed
                                                           if r["id"] == acme_req.pk)
    assert sos["globex"].number not in str(listed)
    resp = acme.post(f"/api/v1/cancellations/{acme_req.pk}/refuse/", {}, format="json", **_key())
    assert resp.status_code == 400 and resp.json()["field"] == "reason"
    key = _key()
    resp = acme.post(f"/api/v1/cancellations/{acme_req.pk}/approve/", {}, format="json", **key)
    assert resp.status_code == 200 and resp.json()["status"] == "approved"
    assert acme.post(f"/api/v1/cancellations/{acme_req.pk}/approve/", {}, format="json", **key).json()["status"] == "approved"
    resp = acme.post(f"/api/v1/cancellations/{acme_req.pk}/refuse/", {"reason": "late"}, format="json", **_key())
    assert resp.status_code == 409 and resp.json()["field"] == "status"
    # globex's owner, on globex's host, with acme's real request id: never acme's request
    globex = api_at(mall.globex, mall.users["globex:owner"])
    resp = globex.get(f"/api/v1/cancellations/{acme_req.pk}/")
    assert sos["acme"].number not in resp.content.decode()
    # on acme's host: refused outright; same-store roles without the capability too
    assert api_at(mall.acme, mall.users["acme:finance"]).get("/api/v1/cancellations/").status_code == 403
    assert api_at(mall.acme, mall.users["acme:warehouse"]).post(
        f"/api/v1/cancellations/{acme_req.pk}/approve/", {}, format="json", **_key()).status_code == 403
    with in_merchant_schema(mall.globex):
        assert CancellationRequest.objects.get(pk=globex_req.pk).status == "requested"
