"""Paying with WeChat Pay: wechatpayv3 against our local API v3 server (tests/payments/wechatpay_server.py).

Native code_url made once per payment, notifications verified (signature, serial, timestamp) and
decrypted by the SDK and applied once in any order, refunds by out_refund_no in fen.
"""
import json
import secrets
import time
from zoneinfo import ZoneInfo

import pytest
import segno
from django.test import Client, TestCase
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.tenancy import in_merchant_schema
from orders.models import SubOrderMirror
from orders.services.expiry import order_expire_now
from payments.gateways.wechatpay import WeChatPayGateway
from payments.models import GatewayEvent, LedgerEntry, Payment, PaymentEvent, Refund
from payments.services import ledger_check, payment_settings_update, payment_start, refund_create
from suborders.models import SubOrder
from tests.payments import keys
from tests.payments.helpers import place_order
from tests.payments.wechatpay_server import WeChatPayServer

MCHID, APPID = "1900000109", "wxd678efh567hg6787"
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"  # the merchant API certificate's serial
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092025010100000000000001"
APIV3_KEY = secrets.token_hex(16)  # 32 characters, new each session
NOTIFY_URL = "http://localhost/webhooks/payments/wechatpay/"
NATIVE = "POST /v3/pay/transactions/native"
REFUNDS = "POST /v3/refund/domestic/refunds"


@pytest.fixture(scope="module")
def wechat_server():
    server = WeChatPayServer(mchid=MCHID, appid=APPID, merchant_serial=SERIAL,
                             merchant_public_key=keys.key("wechat-merchant").public_key(),
                             platform_key=keys.key("wechat-platform"), public_key_id=PUBLIC_KEY_ID, apiv3_key=APIV3_KEY).start()
    yield server
    server.stop()


@pytest.fixture
def wechat(wechat_server, settings, mall):
    wechat_server.reset()
    settings.WECHATPAY_MCHID, settings.WECHATPAY_APPID = MCHID, APPID
    settings.WECHATPAY_PRIVATE_KEY, settings.WECHATPAY_CERT_SERIAL = keys.private_pem("wechat-merchant"), SERIAL
    settings.WECHATPAY_APIV3_KEY = APIV3_KEY
    settings.WECHATPAY_PUBLIC_KEY, settings.WECHATPAY_PUBLIC_KEY_ID = keys.public_pem("wechat-platform"), PUBLIC_KEY_ID
    settings.WECHATPAY_API_BASE = wechat_server.url
    settings.MALL_BASE_URL = "http://localhost"
    payment_settings_update(enabled_gateways=["sandbox", "wechatpay"], capture_policy="immediate", actor=None)
    return wechat_server


def _start(order) -> Payment:
    return payment_start(order=order, gateway_code="wechatpay", return_url=f"http://localhost/orders/{order.number}/",
                         notify_url=NOTIFY_URL)


def _post(body: bytes, headers: dict):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client(HTTP_HOST="localhost").post("/webhooks/payments/wechatpay/", data=body, content_type="application/json",
                                              **extra)


def _deliver(server: WeChatPayServer, body: bytes):
    """One delivery: WeChat Pay signs every attempt afresh (new timestamp and nonce), the body stays."""
    return _post(body, server.sign_delivery(body))


def _suborder_statuses(order, *merchants) -> list[str]:
    out = []
    for m in merchants:
        with in_merchant_schema(m):
            out += list(SubOrder.objects.filter(order_id=order.pk).values_list("status", flat=True))
    return out


def test_paying_by_native_code_captures_the_order_and_releases_every_suborder(wechat, mall):
    order, _ = place_order(mall, stores=("acme", "globex"))
    payment = _start(order)
    ref = f"mallard-pay-{payment.pk}-wechatpay"
    assert (payment.gateway, payment.gateway_reference) == ("wechatpay", ref)
    assert payment.action_url == wechat.trades[ref]["code_url"] and payment.action_url.startswith("weixin://wxpay/bizpayurl?pr=")
    [(method, path, body)] = wechat.calls
    assert f"{method} {path}" == NATIVE
    assert body == {"notify_url": NOTIFY_URL, "description": f"Mallard {order.number}", "out_trade_no": ref,
                    "amount": {"total": order.total_minor, "currency": "CNY"},
                    "time_expire": order.expires_at.astimezone(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds"),
                    "attach": order.number, "appid": APPID, "mchid": MCHID}
    assert body["time_expire"].endswith("+08:00") and wechat.refused == []
    assert _start(order).gateway_reference == ref and wechat.paths() == [NATIVE]  # one intent

    shopper = Client(HTTP_HOST="localhost")
    shopper.force_login(mall.users["shopper"])
    page = shopper.get(f"/orders/{order.number}/pay/qr/")
    assert page.status_code == 200
    assert segno.make(payment.action_url, error="m").svg_inline(scale=6, dark="#111") in page.content.decode()

    note = wechat.pay(ref)
    response = _deliver(wechat, note)
    assert (response.status_code, response.content) == (204, b"")
    event = GatewayEvent.objects.get(gateway="wechatpay", event_id=json.loads(note)["id"])
    assert (event.result, event.kind, event.reference, event.payment_id) == ("applied", "TRANSACTION.SUCCESS", ref, payment.pk)
    assert event.parsed["order_number"] == order.number and event.parsed["amount_minor"] == order.total_minor
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("captured", order.total_minor)
    assert _suborder_statuses(order, mall.acme, mall.globex) == ["awaiting_acceptance"] * 2
    assert sum(LedgerEntry.objects.filter(order=order).values_list("amount_minor", flat=True)) == order.total_minor
    assert ledger_check(order_ids=[order.pk]) == []
    assert wechat.paths() == [NATIVE]  # verifying the notification asked the API for nothing


@pytest.mark.parametrize("forgery", ["wrong_key", "stale_timestamp", "unknown_serial", "wrong_apiv3_key"])
def test_a_notification_not_from_wechat_pay_or_stale_is_refused_and_changes_nothing(wechat, mall, forgery):
    order, _ = place_order(mall)
    payment = _start(order)
    body = wechat.pay(payment.gateway_reference)
    if forgery == "wrong_key":
        headers = wechat.sign_delivery(body, key=keys.key("intruder"))
    elif forgery == "stale_timestamp":  # correctly signed, but an hour old: a replay
        headers = wechat.sign_delivery(body, timestamp=int(time.time()) - 3600)
    elif forgery == "unknown_serial":  # the SDK would go and download platform certificates for it
        headers = wechat.sign_delivery(body, serial="PUB_KEY_ID_0119000001092025999999999999999999")
    else:  # signed by the platform, but its resource was not encrypted with our APIv3 key
        body = wechat.notification("TRANSACTION.SUCCESS", "transaction", "支付成功", {"out_trade_no": payment.gateway_reference},
                                   apiv3_key=secrets.token_hex(16))
        headers = wechat.sign_delivery(body)
    before = GatewayEvent.objects.count()
    response = _post(body, headers)
    assert response.status_code == 400
    assert json.loads(response.content)["code"] == "FAIL"
    assert GatewayEvent.objects.count() == before
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("pending", 0)
    assert not LedgerEntry.objects.filter(order=order).exists()
    assert _suborder_statuses(order, mall.acme) == ["pending_payment"]
    assert wechat.paths() == [NATIVE]


def _refund(mall, order, merchant, minor: int, reason: str) -> Refund:
    mirror = SubOrderMirror.objects.get(order=order, merchant=merchant)
    with TestCase.captureOnCommitCallbacks(execute=True):
        refund, _created = refund_create(actor=mall.users[f"{merchant.slug}:finance"], merchant_id=merchant.pk,
                                         suborder_id=mirror.suborder_id, custom_minor=minor, reason=reason)
    refund.refresh_from_db()
    return refund


def _story(mall, server: WeChatPayServer, plan: list[str]) -> tuple:
    """One fresh two-store order: its payment notification ("paid"), then two refunds answered PROCESSING
    whose notifications end one SUCCESS ("refund_ok") and one CLOSED ("refund_closed"), delivered as
    `plan` says. The refunds are asked for after the first delivery of "paid" (they need the money)."""
    order, _ = place_order(mall, stores=("acme", "globex"))
    payment = _start(order)
    bodies = {"paid": server.pay(payment.gateway_reference)}
    refunds = []
    for name in plan:
        if name != "paid" and not refunds:
            raise AssertionError("a refund notification before the payment")
        response = _deliver(server, bodies[name])
        assert response.status_code == 204
        if name == "paid" and not refunds:
            server.refund_outcome = "PROCESSING"
            refunds = [_refund(mall, order, mall.acme, 500, "late delivery"), _refund(mall, order, mall.globex, 700, "scratch")]
            assert [r.status for r in refunds] == ["pending", "pending"]
            bodies["refund_ok"] = server.settle_refund(refunds[0].idempotency_base, "SUCCESS")
            bodies["refund_closed"] = server.settle_refund(refunds[1].idempotency_base, "CLOSED")
    payment.refresh_from_db()
    return (payment.status, payment.captured_minor - order.total_minor, payment.refunded_minor,
            [Refund.objects.get(pk=r.pk).status for r in refunds],
            PaymentEvent.objects.filter(payment=payment, to_status="captured").count(),
            GatewayEvent.objects.filter(gateway="wechatpay", reference=payment.gateway_reference).count(),
            server.refunds_made, ledger_check(order_ids=[order.pk]))


def test_each_notification_three_times_in_any_order_ends_as_once_in_order(wechat, mall):
    once = _story(mall, wechat, ["paid", "refund_ok", "refund_closed"])
    assert once == ("partially_refunded", 0, 500, ["succeeded", "failed"], 1, 3, 2, [])

    @hypothesis_settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rest=st.permutations(["paid"] * 2 + ["refund_ok"] * 3 + ["refund_closed"] * 3))
    def shuffled(rest):
        wechat.reset()
        # the first delivery is the payment's (no refund exists before the money); the rest in any order
        assert _story(mall, wechat, ["paid", *rest]) == once

    shuffled()


def test_a_partial_refund_sends_fen_by_out_refund_no_and_a_retry_refunds_nothing_twice(wechat, mall):
    order, _ = place_order(mall, stores=("acme", "globex"))
    payment = _start(order)
    _deliver(wechat, wechat.pay(payment.gateway_reference))
    refund = _refund(mall, order, mall.acme, 1234, "scratched")
    refund_no = f"mallard-refund-{refund.pk}-0"
    method, path, body = wechat.calls[-1]
    assert f"{method} {path}" == REFUNDS
    assert body == {"notify_url": NOTIFY_URL, "out_refund_no": refund_no, "out_trade_no": payment.gateway_reference,
                    "amount": {"refund": 1234, "total": order.total_minor, "currency": "CNY"}, "reason": "scratched"}
    refund_id = wechat.refunds[refund_no]["refund_id"]
    assert (refund.status, refund.gateway_reference, refund.amount_minor) == ("succeeded", refund_id, 1234)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_minor) == ("partially_refunded", 1234)
    assert ledger_check(order_ids=[order.pk]) == []
    assert wechat.refunds_made == 1

    again = WeChatPayGateway().refund(payment=payment, refund=refund, amount_minor=1234, idempotency_key=refund.idempotency_base)
    assert (again.status, again.reference) == ("succeeded", refund_id)
    assert wechat.paths()[-1] == REFUNDS and wechat.refunds_made == 1

    # WeChat Pay's REFUND.SUCCESS for it finds the refund already settled
    response = _deliver(wechat, wechat.settle_refund(refund_no, "SUCCESS"))
    assert response.status_code == 204
    assert GatewayEvent.objects.get(gateway="wechatpay", kind="REFUND.SUCCESS").result == "no_change"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_minor) == ("partially_refunded", 1234)


def test_a_payment_after_the_order_expired_is_refunded_in_full_and_the_order_stays_cancelled(wechat, mall):
    order, _ = place_order(mall)
    payment = _start(order)
    assert order_expire_now(number=order.number)
    note = wechat.pay(payment.gateway_reference)
    assert _deliver(wechat, note).status_code == 204
    event_id = json.loads(note)["id"]
    assert GatewayEvent.objects.get(gateway="wechatpay", event_id=event_id).result == "late_refunded"
    method, path, body = wechat.calls[-1]
    assert f"{method} {path}" == REFUNDS
    assert body == {"notify_url": NOTIFY_URL, "out_refund_no": f"mallard-late-{event_id}", "out_trade_no": payment.gateway_reference,
                    "amount": {"refund": order.total_minor, "total": order.total_minor, "currency": "CNY"},
                    "reason": "paid after the order was cancelled"}
    assert wechat.refunds_made == 1
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor) == ("expired", 0)
    assert not LedgerEntry.objects.filter(order=order).exists()
