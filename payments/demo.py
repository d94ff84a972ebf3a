"""Demo: orders in every payment state, paid through the sandbox gateway the way a shopper would
(intent, then a signed notification through the same code as the webhook), and refunds by each
store's finance user. Idempotent: a shopper who already has paid demo orders is left alone.
Registered in merchants.demo.DEMO_SEEDERS after the orders seeder.
"""
from __future__ import annotations

import time

from orders.demo import DEMO_ADDRESS, _buyable
from orders.models import OrderLine, SubOrderMirror
from orders.services import CheckoutLine, order_checkout
from payments.gateways import sandbox as sbx
from payments.models import Payment
from payments.selectors import payment_settings_get
from payments.services import (
    RefundLineRequest,
    notification_receive,
    payment_settings_update,
    payment_start,
    refund_create,
)
from permissions.models import User


def _pay(order, kind: str = "payment.succeeded") -> Payment:
    payment = payment_start(order=order, gateway_code="sandbox", return_url="/", notify_url="/webhooks/payments/sandbox/")
    body = sbx.notification_body(event_id=f"evt_demo_{order.number}_{kind}", kind=kind, reference=payment.gateway_reference,
                                 order_number=order.number, amount_minor=payment.amount_minor, currency=payment.currency)
    notification_receive(gateway_code="sandbox", body=body, headers={sbx.SIGNATURE_HEADER: sbx.sign(body)})
    return Payment.objects.get(pk=payment.pk)


def _finance(merchant) -> User | None:
    return User.objects.filter(email=f"finance@{merchant.slug}.localhost").first()


def seed_payments(merchants) -> None:
    if not payment_settings_get().pk:
        payment_settings_update(enabled_gateways=["sandbox"], capture_policy="immediate",
                                actor=None)
    shopper = User.objects.filter(email="shopper2@example.com").first()
    if shopper is None or Payment.objects.filter(order__shopper=shopper, captured_minor__gt=0).exists():
        return
    picks = {m.pk: _buyable(m, 4) for m in merchants}
    by_slug = {m.slug: m for m in merchants}

    def place(n: int, stores: list, qty: int = 2):
        lines = [CheckoutLine(by_slug[s].pk, picks[by_slug[s].pk][n % len(picks[by_slug[s].pk])], qty)
                 for s in stores if s in by_slug and picks[by_slug[s].pk]]
        order, _ = order_checkout(shopper=shopper, email=None, lines=lines, shipping_address=DEMO_ADDRESS,
                                  idempotency_key=f"demo-pay-{n}-{int(time.time())}")
        return order

    slugs = [m.slug for m in merchants]
    _pay(place(0, slugs))  # paid, three stores awaiting acceptance
    partly = _pay(place(1, slugs[:2]))  # paid, one unit of acme's line refunded
    refunded = _pay(place(2, slugs[:1], qty=1))  # paid, refunded in full
    _pay(place(3, slugs[1:2], qty=1), kind="payment.failed")  # declined: the shopper can try again
    place(4, slugs[2:3], qty=1)  # awaiting payment (expires after ORDER_UNPAID_TTL_MINUTES)
    for payment, whole in ((partly, False), (refunded, True)):
        mirror = SubOrderMirror.objects.filter(order_id=payment.order_id).order_by("merchant_id").first()
        merchant = next(m for m in merchants if m.pk == mirror.merchant_id)
        line = OrderLine.objects.filter(order_id=payment.order_id, merchant_id=merchant.pk).first()
        qty = line.quantity if whole else 1
        refund_create(actor=_finance(merchant), merchant_id=merchant.pk, suborder_id=mirror.suborder_id,
                      lines=[RefundLineRequest(order_line_id=line.pk, quantity=qty)],
                      shipping_minor=mirror.shipping_minor if whole else 0,
                      reason="客户退款 out of stock after all" if whole else "damaged in transit 运输损坏", restock=whole,
                      system=_finance(merchant) is None)
