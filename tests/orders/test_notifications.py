"""Shopper emails from order events, sent once however often the relay runs."""
from datetime import timedelta

from django.utils import timezone

from core.outbox import outbox_relay_batch
from orders.models import Order
from orders.services import CheckoutLine, order_checkout, orders_expire_unpaid
from tests.orders.factories import ADDRESS, stock_item


def _drain():
    """Relay until nothing is due (earlier committed tests may have left many events queued)."""
    while outbox_relay_batch(limit=500):
        pass


def test_order_placed_and_expired_emails_once(committed, unique, mailoutbox):
    mall = committed
    tag = unique("N")
    a = stock_item(mall.acme, stock=(3,), tag=tag)
    email = f"notify-{tag}@example.test".lower()
    order, _ = order_checkout(shopper=None, email=email, lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 1)],
                              shipping_address=ADDRESS, idempotency_key=f"n-{tag}")
    _drain()
    _drain()
    mine = [m for m in mailoutbox if m.to == [email]]
    assert [m.subject for m in mine] == [f"Mallard order {order.number}"]
    assert "CNY 10.00" in mine[0].body
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    orders_expire_unpaid()
    _drain()
    _drain()
    mine = [m for m in mailoutbox if m.to == [email]]
    assert [m.subject for m in mine] == [f"Mallard order {order.number}", f"Mallard order {order.number} was cancelled"]
