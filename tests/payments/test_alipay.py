"""Paying with Alipay: python-alipay-sdk against our local Alipay gateway (tests/payments/alipay_server.py).

Precreate QR code made once per payment, RSA2-signed async notifications verified by the SDK and
applied once in any order, refused when signed with another key, and refunds by out_request_no.
"""
from urllib.parse import parse_qsl

import pytest
import segno
from django.test import Client, TestCase
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.tenancy import in_merchant_schema
from orders.models import SubOrderMirror
from orders.services.expiry import order_expire_now
from payments.gateways.alipay import AlipayGateway, minor_from_yuan, yuan
from payments.models import GatewayEvent, LedgerEntry, Payment, PaymentEvent, Refund
from payments.services import ledger_check, payment_settings_update, payment_start, refund_create
from suborders.models import SubOrder
from tests.payments import keys
from tests.payments.alipay_server import AlipayServer
from tests.payments.helpers import place_order

APP_ID = "2021000122600001"
NOTIFY_URL = "http://localhost/webhooks/payments/alipay/"


@pytest.fixture(scope="module")
def alipay_server():
    server = AlipayServer(app_id=APP_ID, app_public_key=keys.key("alipay-app").public_key(),
                          alipay_key=keys.key("alipay")).start()
    yield server
    server.stop()


@pytest.fixture
def alipay(alipay_server, settings, mall):
    alipay_server.reset()
    settings.ALIPAY_APP_ID = APP_ID
    settings.ALIPAY_APP_PRIVATE_KEY = keys.private_pem("alipay-app")
    settings.ALIPAY_PUBLIC_KEY = keys.public_pem("alipay")
    settings.ALIPAY_GATEWAY_URL = alipay_server.url
    payment_settings_update(enabled_gateways=["sandbox", "alipay"], capture_policy="immediate", actor=None)
    return alipay_server


def _start(order) -> Payment:
    return payment_start(order=order, gateway_code="alipay", return_url=f"http://localhost/orders/{order.number}/",
                         notify_url=NOTIFY_URL)


def _post(body: bytes):
    return Client(HTTP_HOST="localhost").post("/webhooks/payments/alipay/", data=body,
                                              content_type="application/x-www-form-urlencoded; charset=utf-8")


def _suborder_statuses(order, *merchants) -> list[str]:
    out = []
    for m in merchants:
        with in_merchant_schema(m):
            out += list(SubOrder.objects.filter(order_id=order.pk).values_list("status", flat=True))
    return out


def _yuan_text(minor: int) -> str:  # written out independently of the adapter's helper
    return f"{minor // 100}.{minor % 100:02d}"


def test_yuan_strings_convert_exactly_both_ways():
    assert [yuan(m) for m in (1, 10, 100, 3998, 123456789)] == ["0.01", "0.10", "1.00", "39.98", "1234567.89"]
    assert [minor_from_yuan(t) for t in ("0.01", "0.1", "1", "39.98", "1234567.89")] == [1, 10, 100, 3998, 123456789]
    for bad in ("39.989", "-1.00", "1e3", "039.98", " 1.00", "1.", ""):
        with pytest.raises(ValueError):
            minor_from_yuan(bad)


def test_paying_by_qr_code_captures_the_order_and_releases_every_suborder(alipay, mall, settings):
    settings.ORDER_UNPAID_TTL_MINUTES = 45  # the trade's timeout follows the order's own deadline
    order, _ = place_order(mall, stores=("acme", "globex"))
    payment = _start(order)
    ref = f"mallard_pay_{payment.pk}_alipay"
    assert (payment.gateway, payment.gateway_reference) == ("alipay", ref)
    assert payment.action_url == alipay.trades[ref]["qr_code"] and payment.action_url.startswith("https://qr.alipay.com/bax0")
    [(method, biz, params)] = alipay.calls
    assert method == "alipay.trade.precreate"
    assert biz == {"out_trade_no": ref, "total_amount": _yuan_text(order.total_minor), "subject": f"Mallard {order.number}",
                   "body": order.number, "timeout_express": "45m"}
    assert (params["notify_url"], params["app_id"], params["sign_type"]) == (NOTIFY_URL, APP_ID, "RSA2")
    assert alipay.refused == []
    assert _start(order).gateway_reference == ref and alipay.methods() == ["alipay.trade.precreate"]  # one intent

    shopper = Client(HTTP_HOST="localhost")
    shopper.force_login(mall.users["shopper"])
    page = shopper.get(f"/orders/{order.number}/pay/qr/")
    assert page.status_code == 200
    assert segno.make(payment.action_url, error="m").svg_inline(scale=6, dark="#111") in page.content.decode()

    body = alipay.pay(ref)
    response = _post(body)
    assert (response.status_code, response.content) == (200, b"success")
    notify_id = dict(parse_qsl(body.decode()))["notify_id"]
    event = GatewayEvent.objects.get(gateway="alipay", event_id=notify_id)
    assert (event.result, event.kind, event.reference, event.payment_id) == ("applied", "TRADE_SUCCESS", ref, payment.pk)
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("captured", order.total_minor)
    assert _suborder_statuses(order, mall.acme, mall.globex) == ["awaiting_acceptance"] * 2
    assert sum(LedgerEntry.objects.filter(order=order).values_list("amount_minor", flat=True)) == order.total_minor
    assert ledger_check(order_ids=[order.pk]) == []


@pytest.mark.parametrize("forgery", ["wrong_key", "amount_changed_after_signing"])
def test_a_notification_not_signed_by_alipay_is_refused_and_changes_nothing(alipay, mall, forgery):
    order, _ = place_order(mall)
    payment = _start(order)
    alipay.pay(payment.gateway_reference)
    if forgery == "wrong_key":
        body = alipay.notification(payment.gateway_reference, key=keys.key("intruder"))
    else:
        body = alipay.notification(payment.gateway_reference, total_amount="0.01")
    before = GatewayEvent.objects.count()
    response = _post(body)
    assert (response.status_code, response.content) == (400, b"fail")
    assert GatewayEvent.objects.count() == before
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("pending", 0)
    assert not LedgerEntry.objects.filter(order=order).exists()
    assert _suborder_statuses(order, mall.acme) == ["pending_payment"]


def _story(mall, server: AlipayServer, plan: list[int]) -> tuple:
    """One fresh order; its three trade notifications (scanned, paid, finished) delivered as `plan` says."""
    order, _ = place_order(mall)
    payment = _start(order)
    ref = payment.gateway_reference
    bodies = [server.scan(ref), server.pay(ref), server.finish(ref)]
    for i in plan:
        response = _post(bodies[i])
        assert (response.status_code, response.content) == (200, b"success")
    payment.refresh_from_db()
    ledger = sum(LedgerEntry.objects.filter(order=order).values_list("amount_minor", flat=True))
    return (payment.status, payment.captured_minor - order.total_minor, ledger - order.total_minor,
            PaymentEvent.objects.filter(payment=payment, to_status="captured").count(),
            GatewayEvent.objects.filter(gateway="alipay", reference=ref).count(),
            _suborder_statuses(order, mall.acme), ledger_check(order_ids=[order.pk]))


def test_each_notification_three_times_in_any_order_ends_as_once_in_order(alipay, mall):
    once = _story(mall, alipay, [0, 1, 2])
    assert once == ("captured", 0, 0, 1, 3, ["awaiting_acceptance"], [])

    @hypothesis_settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(plan=st.permutations([0, 1, 2] * 3))
    def shuffled(plan):
        assert _story(mall, alipay, plan) == once

    shuffled()


def test_a_partial_refund_sends_yuan_by_out_request_no_and_a_retry_refunds_nothing_twice(alipay, mall):
    order, _ = place_order(mall, stores=("acme", "globex"))
    payment = _start(order)
    _post(alipay.pay(payment.gateway_reference))
    mirror = SubOrderMirror.objects.get(order=order, merchant=mall.acme)
    with TestCase.captureOnCommitCallbacks(execute=True):
        refund, created = refund_create(actor=mall.users["acme:finance"], merchant_id=mall.acme.pk,
                                        suborder_id=mirror.suborder_id, custom_minor=1234, reason="scratched")
    assert created
    request_no = f"mallard-refund-{refund.pk}-0"
    method, biz, _params = alipay.calls[-1]
    assert (method, biz) == ("alipay.trade.refund", {"out_trade_no": payment.gateway_reference, "refund_amount": "12.34",
                                                     "out_request_no": request_no, "refund_reason": "scratched"})
    refund.refresh_from_db()
    assert (refund.status, refund.gateway_reference, refund.amount_minor) == ("succeeded", request_no, 1234)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_minor) == ("partially_refunded", 1234)
    assert ledger_check(order_ids=[order.pk]) == []
    assert alipay.refunds_made == 1

    # The same refund sent again (a retry after a lost answer): Alipay answers fund_change=N, the refund
    # query says REFUND_SUCCESS, and no money moves a second time.
    again = AlipayGateway().refund(payment=payment, refund=refund, amount_minor=1234, idempotency_key=refund.idempotency_base)
    assert (again.status, again.reference) == ("succeeded", request_no)
    assert alipay.methods()[-2:] == ["alipay.trade.refund", "alipay.trade.fastpay.refund.query"]
    assert alipay.refunds_made == 1

    # Alipay's notification of that refund finds it already settled.
    response = _post(alipay.notification(payment.gateway_reference, refund=request_no))
    assert (response.status_code, response.content) == (200, b"success")
    assert GatewayEvent.objects.filter(gateway="alipay", kind="refund:TRADE_SUCCESS").get().result == "no_change"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_minor) == ("partially_refunded", 1234)
    assert Refund.objects.filter(payment=payment).count() == 1


def test_a_payment_after_the_order_expired_is_refunded_in_full_and_the_order_stays_cancelled(alipay, mall):
    order, _ = place_order(mall)
    payment = _start(order)
    assert order_expire_now(number=order.number)
    body = alipay.pay(payment.gateway_reference)
    response = _post(body)
    assert (response.status_code, response.content) == (200, b"success")
    notify_id = dict(parse_qsl(body.decode()))["notify_id"]
    assert GatewayEvent.objects.get(gateway="alipay", event_id=notify_id).result == "late_refunded"
    method, biz, _params = alipay.calls[-1]
    assert (method, biz) == ("alipay.trade.refund", {
        "out_trade_no": payment.gateway_reference, "refund_amount": _yuan_text(order.total_minor),
        "out_request_no": f"mallard-late-{notify_id}", "refund_reason": "paid after the order was cancelled"})
    assert alipay.refunds_made == 1
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("expired", 0)
    assert not LedgerEntry.objects.filter(order=order).exists()


def test_bare_base64_keys_as_the_alipay_console_gives_them_sign_and_verify(alipay, mall, settings):
    def bare(pem: str) -> str:
        return "".join(line for line in pem.splitlines() if not line.startswith("-----"))

    settings.ALIPAY_APP_PRIVATE_KEY = bare(keys.private_pem("alipay-app"))
    settings.ALIPAY_PUBLIC_KEY = bare(keys.public_pem("alipay"))
    order, _ = place_order(mall)
    payment = _start(order)
    assert alipay.refused == [] and alipay.methods() == ["alipay.trade.precreate"]
    note = AlipayGateway().parse_notification(body=alipay.pay(payment.gateway_reference), headers={})
    assert (note.target, note.reference, note.amount_minor, note.currency) == ("captured", payment.gateway_reference,
                                                                               order.total_minor, "CNY")
