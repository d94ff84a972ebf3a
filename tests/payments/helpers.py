"""Payments test helpers: place a paid (or unpaid) order, deliver signed sandbox notifications."""
from __future__ import annotations

import itertools
import time

from django.test import Client

from orders.services import CheckoutLine, order_checkout
from payments.gateways import sandbox as sbx
from payments.models import Payment
from payments.services import notification_receive, payment_start
from tests.orders.factories import ADDRESS, stock_item

_seq = itertools.count(1)


def place_order(mall, *, stores=("acme",), qty=2, price_minor=1999, stock=10, shopper=None):
    items = [stock_item(getattr(mall, s), price_minor=price_minor, stock=(stock,)) for s in stores]
    lines = [CheckoutLine(merchant_id=i["merchant_id"], variant_id=i["variant_id"], quantity=qty) for i in items]
    order, _ = order_checkout(shopper=shopper or mall.users["shopper"], email=None, lines=lines, shipping_address=ADDRESS,
                              idempotency_key=f"pay-test-{time.time_ns()}-{next(_seq)}")
    return order, items


def start_sandbox(order) -> Payment:
    return payment_start(order=order, gateway_code="sandbox", return_url="http://localhost/orders/x/",
                         notify_url="http://localhost/webhooks/payments/sandbox/")


def sandbox_event(payment: Payment, kind: str, *, event_id: str | None = None, amount_minor: int | None = None,
                  currency: str | None = None, created: int | None = None, refund_reference: str = "") -> tuple[bytes, dict]:
    body = sbx.notification_body(event_id=event_id or f"evt_test_{time.time_ns()}_{next(_seq)}", kind=kind,
                                 reference=payment.gateway_reference, order_number=payment.order.number,
                                 amount_minor=payment.amount_minor if amount_minor is None else amount_minor,
                                 currency=currency or payment.currency, created=created, refund_reference=refund_reference)
    return body, {sbx.SIGNATURE_HEADER: sbx.sign(body)}


def deliver(payment: Payment, kind: str, **kw):
    body, headers = sandbox_event(payment, kind, **kw)
    return notification_receive(gateway_code="sandbox", body=body, headers=headers)


def post_webhook(body: bytes, headers: dict, gateway: str = "sandbox"):
    client = Client(HTTP_HOST="localhost")
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post(f"/webhooks/payments/{gateway}/", data=body, content_type="application/json", **extra)


def pay(order) -> Payment:
    payment = start_sandbox(order)
    deliver(payment, "payment.succeeded")
    return Payment.objects.select_related("order").get(pk=payment.pk)


def run_commit_hooks(func, /, **kw):
    """Call a service inside the test's transaction and run its on-commit work (gateway calls) as a
    real commit would."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return func(**kw)
