"""Payments through the API and the pages: pay, refund, lists; isolation and role refusals."""
from django.test import TestCase

from orders.models import OrderLine, SubOrderMirror
from payments.models import Refund
from tests.payments.helpers import deliver, pay, place_order, start_sandbox

hooks = TestCase.captureOnCommitCallbacks


def _acme(order, mall):
    return (OrderLine.objects.get(order=order, merchant=mall.acme),
            SubOrderMirror.objects.get(order=order, merchant=mall.acme))


def test_pay_api_returns_the_hosted_page_and_the_same_intent_on_retry(mall, api_at):
    order, _ = place_order(mall)
    api = api_at(None, mall.users["shopper"])
    r1 = api.post(f"/api/v1/orders/{order.number}/payments/", {"gateway": "sandbox"}, format="json", HTTP_IDEMPOTENCY_KEY="p1")
    r2 = api.post(f"/api/v1/orders/{order.number}/payments/", {"gateway": "sandbox"}, format="json", HTTP_IDEMPOTENCY_KEY="p1")
    assert r1.status_code == 200, r1.content
    assert r1.json()["action_url"].startswith("/pay/sandbox/?") and r1.json()["action_url"] == r2.json()["action_url"]
    assert r1.json()["status"] == "pending" and r1.json()["amount_minor"] == order.total_minor


def test_pay_api_errors(mall, api_at):
    order, _ = place_order(mall)
    api = api_at(None, mall.users["shopper"])
    no_key = api.post(f"/api/v1/orders/{order.number}/payments/", {"gateway": "sandbox"}, format="json")
    assert no_key.status_code == 400 and no_key.json()["field"] == "Idempotency-Key"
    bad = api.post(f"/api/v1/orders/{order.number}/payments/", {"gateway": "paypal"}, format="json", HTTP_IDEMPOTENCY_KEY="x")
    assert bad.status_code == 400 and bad.json()["field"] == "gateway"
    off = api.post(f"/api/v1/orders/{order.number}/payments/", {"gateway": "stripe"}, format="json", HTTP_IDEMPOTENCY_KEY="x")
    assert off.status_code == 400 and off.json()["field"] == "gateway"
    other = api_at(None, mall.users["nobody"]).post(f"/api/v1/orders/{order.number}/payments/", {"gateway": "sandbox"},
                                                    format="json", HTTP_IDEMPOTENCY_KEY="x")
    assert other.status_code == 404
    pay(order)
    twice = api.post(f"/api/v1/orders/{order.number}/payments/", {"gateway": "sandbox"}, format="json", HTTP_IDEMPOTENCY_KEY="y")
    assert twice.status_code == 409 and twice.json()["code"] == "already_paid"


def test_refund_api_for_finance_and_refusals(mall, api_at):
    order, _ = place_order(mall, stores=("acme", "globex"), qty=2)
    pay(order)
    line, mirror = _acme(order, mall)
    url = f"/api/v1/suborders/{mirror.suborder_id}/refunds/"
    body = {"lines": [{"order_line_id": line.pk, "quantity": 1}], "reason": "scratched"}
    finance = api_at(mall.acme, mall.users["acme:finance"])
    with hooks(execute=True):
        r = finance.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="rf-1")
    assert r.status_code == 201, r.content
    assert r.json()["amount_minor"] == line.line_total_minor // 2 and r.json()["lines"][0]["quantity"] == 1
    again = finance.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="rf-1")
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    listed = finance.get(url)
    assert [x["id"] for x in listed.json()] == [r.json()["id"]]
    assert [x["status"] for x in finance.get("/api/v1/refunds/").json()] == ["succeeded"]
    for role in ("warehouse", "customer_service"):
        refused = api_at(mall.acme, mall.users[f"acme:{role}"]).post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=f"rf-{role}")
        assert refused.status_code == 403
    assert api_at(mall.acme, mall.users["acme:warehouse"]).get(url).status_code == 403
    # globex's finance, on globex's host, with acme's real suborder id: nothing there
    g = api_at(mall.globex, mall.users["globex:finance"])
    assert g.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="rf-g").status_code == 404
    assert g.get(url).json() == []
    assert all(x["merchant_id"] == mall.globex.pk for x in g.get("/api/v1/refunds/").json())
    # globex's finance on acme's host: not a member
    assert api_at(mall.acme, mall.users["globex:finance"]).post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="rf-x").status_code == 403
    over = finance.post(url, {"lines": [{"order_line_id": line.pk, "quantity": 5}], "reason": "too many"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="rf-over")
    assert over.status_code == 409 and over.json()["field"] == "lines[0].quantity"
    assert Refund.objects.filter(order=order).count() == 1


def test_order_page_offers_payment_then_shows_refunds(mall, client_at):
    order, _ = place_order(mall)
    shopper = client_at(None, mall.users["shopper"])
    page = shopper.get(f"/orders/{order.number}/").content.decode()
    assert 'data-testid="pay-button"' in page and 'value="sandbox"' in page
    go = shopper.post(f"/orders/{order.number}/pay/", {"gateway": "sandbox"})
    assert go.status_code == 302 and go["Location"].startswith("/pay/sandbox/?")
    sandbox = shopper.get(go["Location"])
    assert sandbox.status_code == 200 and b'data-testid="sandbox-succeed"' in sandbox.content
    payment = start_sandbox(order)
    deliver(payment, "payment.succeeded")
    line, mirror = _acme(order, mall)
    finance = client_at(mall.acme, mall.users["acme:finance"])
    detail = finance.get(f"/suborders/{mirror.suborder_id}/").content.decode()
    assert 'data-testid="refund-form"' in detail
    with hooks(execute=True):
        resp = finance.post(f"/payments/suborders/{mirror.suborder_id}/refund/",
                            {f"qty_{line.pk}": "1", "reason": "damaged box", "currency": "CNY", "idempotency_key": "page-1"})
    assert resp.status_code == 302
    page = shopper.get(f"/orders/{order.number}/").content.decode()
    assert 'data-testid="pay-button"' not in page and 'data-status="succeeded"' in page and "damaged box" in page
    assert finance.get("/payments/").status_code == 200


def test_refund_form_is_absent_for_roles_without_refunds_create(mall, client_at):
    order, _ = place_order(mall)
    pay(order)
    _line, mirror = _acme(order, mall)
    for role in ("warehouse", "customer_service"):
        client = client_at(mall.acme, mall.users[f"acme:{role}"])
        assert b'data-testid="refund-form"' not in client.get(f"/suborders/{mirror.suborder_id}/").content
        assert client.post(f"/payments/suborders/{mirror.suborder_id}/refund/", {"reason": "x"}).status_code == 403
        assert client.get("/payments/").status_code == 403
    assert client_at(mall.acme, mall.users["acme:manager"]).get(f"/suborders/{mirror.suborder_id}/").content.count(b'data-testid="refund-form"') == 1


def test_console_lists_payments_events_and_reprocesses(mall, client_at):
    from payments.models import GatewayEvent

    order, _ = place_order(mall)
    payment = start_sandbox(order)
    deliver(payment, "payment.succeeded")
    op = client_at(None, mall.users["operator"])
    assert order.number.encode() in op.get("/console/payments/?q=" + order.number).content
    assert op.get(f"/console/payments/{payment.pk}/").status_code == 200
    events = op.get("/console/payments/events/?gateway=sandbox").content.decode()
    assert 'data-result="applied"' in events
    ev = GatewayEvent.objects.filter(payment=payment).first()
    GatewayEvent.objects.filter(pk=ev.pk).update(result="failed", error="simulated")
    assert op.post(f"/console/payments/events/{ev.pk}/reprocess/").status_code == 302
    ev.refresh_from_db()
    assert ev.result == "no_change" and ev.attempts == 2  # already captured: applying again changes nothing
    assert client_at(None, mall.users["shopper"]).get("/console/payments/").status_code == 302
    settings_page = op.post("/console/payments/settings/", {"gateways": ["sandbox"], "capture_policy": "on_accept"})
    assert settings_page.status_code == 302
    from payments.selectors import payment_settings_get

    assert payment_settings_get().capture_policy == "on_accept"
    bad = op.post("/console/payments/settings/", {"gateways": ["stripe"], "capture_policy": "immediate"})
    assert bad.status_code == 200 and payment_settings_get().enabled_gateways == ["sandbox"]


def test_authorize_then_capture_policy(mall):
    from payments.services import payment_capture, payment_settings_update

    payment_settings_update(enabled_gateways=["sandbox"], capture_policy="on_accept", actor=None)
    order, _ = place_order(mall)
    payment = start_sandbox(order)
    payment.refresh_from_db()
    assert payment.capture_policy == "on_accept"
    deliver(payment, "payment.authorized")
    payment.refresh_from_db()
    assert payment.status == "authorized" and payment.authorized_minor == order.total_minor and payment.captured_minor == 0
    assert SubOrderMirror.objects.get(order=order).status == "awaiting_acceptance"
    payment_capture(payment_id=payment.pk)
    payment.refresh_from_db()
    assert payment.status == "captured" and payment.captured_minor == order.total_minor
    import pytest

    from core.errors import Conflict

    with pytest.raises(Conflict):
        payment_capture(payment_id=payment.pk)


def test_openapi_documents_payments_and_refunds(mall, client_at):
    public = client_at(None).get("/api/v1/schema/").content.decode()
    assert "/api/v1/orders/{number}/payments/" in public and "Idempotency-Key" in public
    merchant = client_at(mall.acme, mall.users["acme:finance"]).get("/api/v1/schema/").content.decode()
    assert "/api/v1/suborders/{suborder_id}/refunds/" in merchant and "damaged in transit" in merchant
