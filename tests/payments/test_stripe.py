"""Paying with Stripe: the real SDK against our local Stripe server (tests/payments/stripe_server.py).

Hosted Checkout page made once per payment, signed webhooks verified by the SDK and applied once,
capture/void/refund with their idempotency keys, and 100 parallel pay requests making one session.
"""
import threading
import time
from datetime import timedelta

import pytest
import stripe
from django.db import connections
from django.test import TestCase
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.tenancy import in_merchant_schema
from orders.models import OrderLine, SubOrderMirror
from orders.services.expiry import order_expire_now
from payments.gateways.base import GatewayError, NotificationRejected
from payments.gateways.stripe import StripeGateway
from payments.models import GatewayEvent, LedgerEntry, Payment, PaymentEvent, Refund
from payments.selectors import payment_settings_get
from payments.services import (
    RefundLineRequest,
    ledger_check,
    notification_receive,
    payment_capture,
    payment_settings_update,
    payment_start,
    refund_create,
)
from suborders.models import SubOrder
from tests.payments.helpers import place_order, post_webhook
from tests.payments.stripe_server import StripeServer

KEY = "sk_test_mallard_local_0001"
SECRET = "whsec_mallard_local_0001"
SESSIONS = "POST /v1/checkout/sessions"
LOOKUPS = "GET /v1/checkout/sessions"


@pytest.fixture
def stripe_server(settings):
    server = StripeServer(api_key=KEY, webhook_secret=SECRET, api_version=stripe.api_version).start()
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_API_BASE = KEY, SECRET, server.url
    yield server
    server.stop()


@pytest.fixture
def stripe_on(mall, stripe_server):
    payment_settings_update(enabled_gateways=["sandbox", "stripe"], capture_policy="immediate", actor=None)
    return stripe_server


def _start(order) -> Payment:
    return payment_start(order=order, gateway_code="stripe", return_url=f"http://localhost/orders/{order.number}/",
                         notify_url="http://localhost/webhooks/payments/stripe/")


def _deliver(server: StripeServer, body: bytes) -> GatewayEvent:
    return notification_receive(gateway_code="stripe", body=body, headers=server.sign(body))


def _on_commit(func, /, **kw):
    """Run a service and the work it defers to commit (its gateway calls), as a real commit would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return func(**kw)


def _suborder_statuses(order, *merchants):
    out = []
    for m in merchants:
        with in_merchant_schema(m):
            out += list(SubOrder.objects.filter(order_id=order.pk).values_list("status", flat=True))
    return out


def _ledger_sum(order) -> int:
    return sum(LedgerEntry.objects.filter(order=order).values_list("amount_minor", flat=True))


def _refund_one_unit(mall, order, merchant, *, key=""):
    line = OrderLine.objects.get(order=order, merchant=merchant)
    mirror = SubOrderMirror.objects.get(order=order, merchant=merchant)
    refund, created = _on_commit(refund_create, actor=mall.users[f"{merchant.slug}:finance"], merchant_id=merchant.pk,
                                 suborder_id=mirror.suborder_id, lines=[RefundLineRequest(order_line_id=line.pk, quantity=1)],
                                 reason="one unit arrived damaged", idempotency_key=key)
    assert created
    return Refund.objects.get(pk=refund.pk), line


def _paid(mall, server, **kw):
    order, _ = place_order(mall, **kw)
    payment = _start(order)
    body = server.event("payment_intent.succeeded", server.pay(payment.gateway_reference))
    assert _deliver(server, body).result == GatewayEvent.Result.APPLIED
    return order, Payment.objects.select_related("order").get(pk=payment.pk)


# --- paying ---------------------------------------------------------------------------------------

def test_pay_through_the_api_then_a_signed_webhook_captures_and_moves_suborders_on(stripe_on, mall, api_at, settings):
    server = stripe_on
    order, _ = place_order(mall, stores=("acme", "globex"))
    api = api_at(None, mall.users["shopper"])
    url = f"/api/v1/orders/{order.number}/payments/"
    r1 = api.post(url, {"gateway": "stripe"}, format="json", HTTP_IDEMPOTENCY_KEY="stripe-pay-1")
    assert r1.status_code == 200, r1.content
    [session] = server.sessions.values()
    payment = Payment.objects.get(order=order)
    assert r1.json()["action_url"] == session["url"] == f"{server.url}/c/pay/{session['id']}"
    assert (r1.json()["gateway"], r1.json()["status"], payment.gateway_reference) == ("stripe", "pending", session["id"])
    meta = {"order_number": order.number, "payment_id": str(payment.pk)}
    assert (session["amount_total"], session["currency"], session["metadata"], session["client_reference_id"]) == (
        order.total_minor, "cny", meta, order.number)
    assert server._intent_data[session["id"]] == {"transfer_group": order.number, "metadata": meta}  # captured at once
    [create] = [e for e in server.log if e["path"] == "/v1/checkout/sessions"]
    assert create["idempotency_key"] == f"mallard-pay-{payment.pk}-stripe"
    assert create["stripe_version"] == settings.STRIPE_API_VERSION == stripe.api_version
    assert create["params"]["line_items"] == [{"quantity": 1, "price_data": {
        "currency": "cny", "unit_amount": order.total_minor, "product_data": {"name": f"Order {order.number}"}}}]

    r2 = api.post(url, {"gateway": "stripe"}, format="json", HTTP_IDEMPOTENCY_KEY="stripe-pay-1")
    assert r2.json()["action_url"] == session["url"]
    assert server.requests[SESSIONS] == 1 and server.created["checkout.session"] == 1

    intent = server.pay(session["id"])
    body = server.event("payment_intent.succeeded", intent)
    response = post_webhook(body, server.sign(body), gateway="stripe")
    assert (response.status_code, response.json()) == (200, {"received": True})
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor, payment.refunded_minor) == ("captured", order.total_minor, 0)
    [event] = GatewayEvent.objects.filter(gateway="stripe", payment=payment)
    assert (event.kind, event.result, event.reference) == ("payment_intent.succeeded", "applied", session["id"])
    assert server.requests[LOOKUPS] == 1  # the intent named by its session
    assert _suborder_statuses(order, mall.acme, mall.globex) == ["awaiting_acceptance"] * 2
    assert ledger_check(order_ids=[order.pk]) == []
    assert _ledger_sum(order) == order.total_minor
    assert list(PaymentEvent.objects.filter(payment=payment).values_list("to_status", flat=True)) == ["pending", "captured"]


def test_a_request_that_died_after_stripe_made_the_session_gets_that_session_back(stripe_on, mall):
    server = stripe_on
    order, _ = place_order(mall)
    first = _start(order)
    # as if the first request died between Stripe's answer and recording it, and its claim lapsed
    Payment.objects.filter(pk=first.pk).update(gateway_reference="", action_url="",
                                               intent_claimed_at=first.intent_claimed_at - timedelta(minutes=5))
    second = _start(order)
    assert (second.gateway_reference, second.action_url) == (first.gateway_reference, first.action_url)
    assert server.requests[SESSIONS] == 2 and server.created["checkout.session"] == 1  # Stripe replayed the first answer
    # the same key with other parameters is refused by Stripe, for good
    order.number = order.number + "-X"
    with pytest.raises(GatewayError) as err:
        StripeGateway().create_intent(payment=second, order=order, idempotency_key=f"mallard-pay-{second.pk}-stripe",
                                      return_url="http://localhost/", notify_url="")
    assert err.value.retryable is False and server.created["checkout.session"] == 1


def test_requires_action_then_decline_then_success_follow_the_shopper(stripe_on, mall):
    server = stripe_on
    order, _ = place_order(mall)
    payment = _start(order)
    t0 = int(time.time())
    sid = payment.gateway_reference
    steps = [("requires_action", "payment_intent.requires_action", "requires_action"),
             ("failed", "payment_intent.payment_failed", "failed"),
             ("succeeded", "payment_intent.succeeded", "captured")]
    seen = []
    for i, (outcome, kind, _expected) in enumerate(steps):
        event = _deliver(server, server.event(kind, server.pay(sid, outcome), created=t0 + i))
        payment.refresh_from_db()
        seen.append((event.result, payment.status))
    assert seen == [("applied", "requires_action"), ("applied", "failed"), ("applied", "captured")]
    assert server.created["payment_intent"] == 1 and payment.captured_minor == order.total_minor


@pytest.mark.parametrize("kind", ["checkout.session.completed", "charge.succeeded", "payment_intent.created"])
def test_events_not_acted_on_are_stored_and_change_nothing(stripe_on, mall, kind):
    server = stripe_on
    order, _ = place_order(mall)
    payment = _start(order)
    intent = server.pay(payment.gateway_reference)
    obj = server.sessions[payment.gateway_reference] if kind.startswith("checkout.") else intent
    event = _deliver(server, server.event(kind, obj))
    assert (event.kind, event.result) == (kind, "no_change")
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("pending", 0)
    assert not LedgerEntry.objects.filter(order=order).exists()
    assert server.requests[LOOKUPS] == 0


# --- signatures -------------------------------------------------------------------------------------

@pytest.mark.parametrize("tamper", ["stale", "body", "secret", "missing", "not_json"])
def test_a_stale_tampered_or_unsigned_webhook_is_refused_and_nothing_is_stored(stripe_on, mall, settings, tamper):
    server = stripe_on
    settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS = 60
    order, _ = place_order(mall)
    payment = _start(order)
    body = server.event("payment_intent.succeeded", server.pay(payment.gateway_reference))
    headers = server.sign(body)
    if tamper == "stale":
        headers = server.sign(body, timestamp=int(time.time()) - 61)
    elif tamper == "body":
        body = body.replace(b'"amount_received": %d' % order.total_minor, b'"amount_received": 1')
        assert body.count(b'"amount_received": 1,') == 1
    elif tamper == "secret":
        headers = StripeServer(api_key=KEY, webhook_secret="whsec_someone_else", api_version="").sign(body)
    elif tamper == "missing":
        headers = {}
    else:
        body = b"not json"
        headers = server.sign(body)
    before = GatewayEvent.objects.count()
    response = post_webhook(body, headers, gateway="stripe")
    assert (response.status_code, response.json()) == (400, {"received": False})
    assert GatewayEvent.objects.count() == before
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("pending", 0)
    assert not LedgerEntry.objects.filter(order=order).exists()
    assert server.requests[LOOKUPS] == 0  # refused before anything was asked of Stripe


def test_the_signature_tolerance_is_the_setting(stripe_on, mall, settings):
    server = stripe_on
    order, _ = place_order(mall)
    payment = _start(order)
    body = server.event("payment_intent.succeeded", server.pay(payment.gateway_reference))
    headers = server.sign(body, timestamp=int(time.time()) - 120)
    settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS = 100
    with pytest.raises(NotificationRejected):
        notification_receive(gateway_code="stripe", body=body, headers=headers)
    settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS = 300
    assert notification_receive(gateway_code="stripe", body=body, headers=headers).result == "applied"


# --- the same events, many times, in any order ---------------------------------------------------------

def _run_story(mall, server, plan: list[str]) -> tuple:
    """One payment's Stripe events (requires_action, succeeded, and refund.updated for a partial refund),
    delivered as `plan` says. The refund is asked for once the payment is captured here, and Stripe
    can only send its event after that: `plan` never has "refund" before the first "succeeded"."""
    order, _ = place_order(mall, stores=("acme", "globex"))
    payment = _start(order)
    t0 = int(time.time())
    bodies = {"requires_action": server.event("payment_intent.requires_action", server.pay(payment.gateway_reference,
                                                                                              "requires_action"), created=t0),
              "succeeded": server.event("payment_intent.succeeded", server.pay(payment.gateway_reference), created=t0 + 1)}
    refund = None
    for step in plan:
        _deliver(server, bodies[step])
        if refund is None and Payment.objects.get(pk=payment.pk).status == "captured":
            server.refund_status = "pending"
            refund, _line = _refund_one_unit(mall, order, mall.acme)
            assert refund.status == "pending"
            bodies["refund"] = server.event("refund.updated", server.refund_settle(refund.gateway_reference, "succeeded"),
                                            created=t0 + 2)
    payment.refresh_from_db()
    refund.refresh_from_db()
    assert ledger_check(order_ids=[order.pk]) == []
    stored = GatewayEvent.objects.filter(gateway="stripe", payment=payment)
    return (payment.status, payment.captured_minor - order.total_minor, payment.refunded_minor - refund.amount_minor,
            _ledger_sum(order) - (order.total_minor - refund.amount_minor), refund.status, stored.count(),
            stored.filter(result=GatewayEvent.Result.FAILED).count())


@st.composite
def _three_times_shuffled(draw):
    payment_steps = draw(st.permutations(["requires_action"] * 3 + ["succeeded"] * 3))
    first = payment_steps.index("succeeded")
    # each refund delivery goes somewhere after the first success (when the refund exists)
    slots = sorted(draw(st.lists(st.integers(first + 1, len(payment_steps)), min_size=3, max_size=3)))
    plan = list(payment_steps)
    for offset, slot in enumerate(slots):
        plan.insert(slot + offset, "refund")
    return plan


@hypothesis_settings(max_examples=15, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=_three_times_shuffled())
def test_each_event_three_times_in_any_order_ends_as_once_in_order(stripe_on, mall, plan):
    once = _run_story(mall, stripe_on, ["requires_action", "succeeded", "refund"])
    assert once == ("partially_refunded", 0, 0, 0, "succeeded", 3, 0)
    assert _run_story(mall, stripe_on, plan) == once


# --- capture on accept, void, late payments ---------------------------------------------------------------

def test_on_accept_authorizes_then_capture_and_its_echo_take_the_money_once(stripe_server, mall):
    server = stripe_server
    payment_settings_update(enabled_gateways=["sandbox", "stripe"], capture_policy="on_accept", actor=None)
    order, _ = place_order(mall)
    payment = _start(order)
    assert server._intent_data[payment.gateway_reference]["capture_method"] == "manual"
    intent = server.pay(payment.gateway_reference)
    assert intent["status"] == "requires_capture"
    assert _deliver(server, server.event("payment_intent.amount_capturable_updated", intent)).result == "applied"
    payment.refresh_from_db()
    assert (payment.status, payment.authorized_minor, payment.captured_minor) == ("authorized", order.total_minor, 0)
    assert _suborder_statuses(order, mall.acme) == ["awaiting_acceptance"]
    assert not LedgerEntry.objects.filter(order=order).exists()

    payment_capture(payment_id=payment.pk)
    [capture] = [e for e in server.log if e["path"].endswith("/capture")]
    assert capture["path"] == f"/v1/payment_intents/{intent['id']}/capture"
    assert (capture["params"], capture["idempotency_key"]) == ({"amount_to_capture": order.total_minor},
                                                               f"mallard-pay-{payment.pk}-capture")
    assert server.intents[intent["id"]]["status"] == "succeeded"
    # Stripe's own payment_intent.succeeded follows: same payment, already captured, never "a second charge"
    echo = _deliver(server, server.event("payment_intent.succeeded", server.public(server.intents[intent["id"]])))
    assert echo.result == "no_change"
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("captured", order.total_minor)
    assert server.created["refund"] == 0
    assert LedgerEntry.objects.filter(order=order, kind="captured").count() == 1
    assert ledger_check(order_ids=[order.pk]) == []


def test_a_partial_capture_sends_that_amount(stripe_server, mall):
    server = stripe_server
    payment_settings_update(enabled_gateways=["sandbox", "stripe"], capture_policy="on_accept", actor=None)
    order, _ = place_order(mall)
    payment = _start(order)
    _deliver(server, server.event("payment_intent.amount_capturable_updated", server.pay(payment.gateway_reference)))
    payment_capture(payment_id=payment.pk, amount_minor=order.total_minor - 500)
    intent = next(iter(server.intents.values()))
    assert (intent["amount_received"], intent["status"]) == (order.total_minor - 500, "succeeded")
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("captured", order.total_minor - 500)
    assert ledger_check(order_ids=[order.pk]) == []


def test_an_expired_order_closes_its_checkout_page(stripe_on, mall):
    server = stripe_on
    order, _ = place_order(mall)
    payment = _start(order)
    assert _on_commit(order_expire_now, number=order.number)
    [expire] = [e for e in server.log if e["path"].endswith("/expire")]
    assert expire["path"] == f"/v1/checkout/sessions/{payment.gateway_reference}/expire"
    assert expire["idempotency_key"] == f"mallard-pay-{payment.pk}-stripe-void"
    assert (server.sessions[payment.gateway_reference]["status"], server.created["payment_intent"]) == ("expired", 0)


def test_a_payment_that_arrives_after_expiry_is_refunded_in_full_at_stripe(stripe_on, mall):
    server = stripe_on
    order, _ = place_order(mall)
    payment = _start(order)
    intent = server.pay(payment.gateway_reference)  # paid at Stripe; its webhook is late
    assert _on_commit(order_expire_now, number=order.number)  # closing the session fails quietly: it is paid
    event = _deliver(server, server.event("payment_intent.succeeded", intent))
    assert event.result == "late_refunded"
    [refund] = server.refunds.values()
    assert (refund["payment_intent"], refund["amount"], refund["metadata"]) == (
        intent["id"], order.total_minor, {"payment_id": str(payment.pk), "late_payment": "1"})
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("expired", 0)
    assert not LedgerEntry.objects.filter(order=order).exists()
    # Stripe's refund event for it settles nothing of ours
    assert _deliver(server, server.event("refund.updated", refund)).result == "no_change"
    assert not Refund.objects.filter(order=order).exists()


# --- refunds ----------------------------------------------------------------------------------------------

def test_a_partial_refund_reaches_stripe_with_its_amount_and_key_and_succeeds(stripe_on, mall):
    server = stripe_on
    order, payment = _paid(mall, server, stores=("acme", "globex"), qty=3, price_minor=1001)
    refund, line = _refund_one_unit(mall, order, mall.acme, key="refund-once")
    intent_id = next(iter(server.intents))
    [sent] = [e for e in server.log if e["path"] == "/v1/refunds"]
    assert refund.amount_minor == line.line_total_minor // 3 == 1001
    assert sent["params"] == {"payment_intent": intent_id, "amount": 1001, "metadata": {
        "payment_id": str(payment.pk), "refund_reference": f"mallard-refund-{refund.pk}", "reason": "one unit arrived damaged"}}
    assert sent["idempotency_key"] == refund.idempotency_base == f"mallard-refund-{refund.pk}-0"
    [at_stripe] = server.refunds.values()
    assert (refund.status, refund.gateway_reference, at_stripe["amount"]) == ("succeeded", at_stripe["id"], 1001)
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor, payment.refunded_minor) == ("partially_refunded", order.total_minor, 1001)
    assert ledger_check(order_ids=[order.pk]) == []
    assert _ledger_sum(order) == order.total_minor - 1001
    # the same request again (same Idempotency-Key) is the same refund: nothing more sent
    again, created = refund_create(actor=mall.users["acme:finance"], merchant_id=mall.acme.pk, suborder_id=refund.suborder_id,
                                   lines=[RefundLineRequest(order_line_id=line.pk, quantity=1)], reason="one unit arrived damaged",
                                   idempotency_key="refund-once")
    assert (again.pk, created, server.requests["POST /v1/refunds"]) == (refund.pk, False, 1)
    # Stripe's refund.updated afterwards changes nothing
    assert _deliver(server, server.event("refund.updated", at_stripe)).result == "no_change"
    payment.refresh_from_db()
    assert payment.refunded_minor == 1001


def test_a_pending_refund_that_stripe_fails_gives_its_amount_back(stripe_on, mall):
    server = stripe_on
    order, payment = _paid(mall, server)
    server.refund_status = "pending"
    refund, _line = _refund_one_unit(mall, order, mall.acme)
    assert refund.status == "pending" and refund.gateway_reference.startswith("re_test_")
    body = server.event("refund.failed", server.refund_settle(refund.gateway_reference, "failed", "expired_or_canceled_card"))
    assert _deliver(server, body).result == "applied"
    refund.refresh_from_db()
    assert (refund.status, refund.failure) == ("failed", "Stripe could not refund: the card was cancelled or has expired.")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_minor) == ("captured", 0)
    assert not LedgerEntry.objects.filter(order=order, kind="refunded").exists()


# --- Stripe unavailable or refusing ---------------------------------------------------------------------------

def test_stripe_errors_become_gateway_errors_and_a_retry_makes_one_session(stripe_on, mall):
    server = stripe_on
    order, _ = place_order(mall)
    server.fail_next[SESSIONS] = [500, 500, 500]  # the SDK tries three times
    with pytest.raises(GatewayError) as err:
        _start(order)
    assert err.value.retryable is True and server.requests[SESSIONS] == 3
    payment = Payment.objects.get(order=order)
    assert (payment.intent_claimed_at, payment.gateway_reference, server.created["checkout.session"]) == (None, "", 0)
    server.fail_next[SESSIONS] = [503]
    payment = _start(order)  # released claim: the next request goes through (after one SDK retry)
    assert server.requests[SESSIONS] == 5 and server.created["checkout.session"] == 1
    assert payment.gateway_reference == next(iter(server.sessions))
    assert {e["idempotency_key"] for e in server.log if e["path"] == "/v1/checkout/sessions"} == {f"mallard-pay-{payment.pk}-stripe"}


def test_a_refusal_is_not_retryable_and_an_unreachable_stripe_is(stripe_on, mall, settings):
    server = stripe_on
    order, payment = _paid(mall, server)
    with pytest.raises(GatewayError) as refused:  # a captured intent cannot be captured again
        StripeGateway().capture(payment=payment, amount_minor=100, idempotency_key="again")
    assert refused.value.retryable is False and "could not be captured" in refused.value.message
    server.stop()
    settings.STRIPE_API_BASE = server.url  # nobody listens there any more
    with pytest.raises(GatewayError) as down:
        StripeGateway().refund(payment=payment, refund=None, amount_minor=100, idempotency_key="down")
    assert down.value.retryable is True


# --- one session for 100 parallel requests ---------------------------------------------------------------------

def _run_threads(n, target):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, [None] * n

    def run(i):
        try:
            barrier.wait(timeout=60)
            results[i] = target(i)
        except Exception as exc:  # collected and asserted on below
            errors[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a pay request hung"
    return results, errors


def test_100_parallel_pay_requests_with_one_key_create_one_checkout_session(committed, stripe_server, unique):
    from rest_framework.test import APIClient

    from permissions.services import api_token_create

    server, mall = stripe_server, committed
    before = payment_settings_get()
    payment_settings_update(enabled_gateways=["sandbox", "stripe"], capture_policy="immediate", actor=None)
    try:
        order, _ = place_order(mall)
        _token, secret = api_token_create(user=mall.users["shopper"], name=unique("stripe-race"))
        key = unique("race")

        def pay(_i):
            client = APIClient(HTTP_HOST="localhost")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
            r = client.post(f"/api/v1/orders/{order.number}/payments/", {"gateway": "stripe"}, format="json",
                            HTTP_IDEMPOTENCY_KEY=key)
            return r.status_code, r.json()["action_url"]

        results, errors = _run_threads(100, pay)
    finally:
        payment_settings_update(enabled_gateways=before.enabled_gateways, capture_policy=before.capture_policy, actor=None)
    assert errors == [None] * 100
    [session] = server.sessions.values()
    assert results == [(200, session["url"])] * 100
    assert server.created["checkout.session"] == 1 and server.requests[SESSIONS] == 1
    payment = Payment.objects.get(order=order)
    assert (payment.gateway, payment.gateway_reference, payment.action_url) == ("stripe", session["id"], session["url"])
