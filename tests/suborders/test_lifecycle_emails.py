"""Lifecycle emails: the shopper hears of acceptance, shipment (with tracking) and delivery in their
own language, the store of a new suborder to accept; each once however often the relay runs."""
from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from fulfillment.shipments import shipment_create, suborder_confirm_receipt
from orders.services import CheckoutLine, order_checkout
from permissions.models import User
from suborders.models import SubOrder
from suborders.services import suborder_accept
from tests.orders.factories import ADDRESS, stock_item
from tests.payments.helpers import pay


def _drain():
    while outbox_relay_batch(limit=500):
        pass


def test_shopper_and_store_emails_once_in_the_shoppers_language(committed, unique, mailoutbox):
    mall = committed
    tag = unique("M")
    shopper = User.objects.create_user(email=f"zh-{tag}@example.test".lower(), password="x-pass-123")
    User.objects.filter(pk=shopper.pk).update(preferred_language="zh-hans")
    a = stock_item(mall.acme, stock=(3,), tag=tag)
    order, _ = order_checkout(shopper=shopper, email=None, lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 1)],
                              shipping_address=ADDRESS, idempotency_key=f"m-{tag}")
    pay(order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
        suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        shipment_create(suborder_id=so.pk, actor=mall.users["acme:warehouse"], lines=None, carrier="sf",
                        tracking_number=f"SF{(abs(hash(tag)) % 10**13):013d}")
        suborder_confirm_receipt(suborder_id=so.pk, shopper_email=shopper.email)
    _drain()
    _drain()
    mine = [m for m in mailoutbox if m.to == [shopper.email]]
    # the order-level email ("Mallard 订单 ...": the shopper's language applies to it too since the templates)
    assert [m.subject for m in mine if m.subject.startswith("Mallard")] == [f"Mallard 订单 {order.number}"]
    subjects = [m.subject for m in mine if not m.subject.startswith("Mallard")]
    assert len(subjects) == 3, subjects
    assert all(order.number in s for s in subjects)
    shipped = next(m for m in mine if "SF" in m.body)
    assert "顺丰" in shipped.body and "运单号" in shipped.body  # the shopper's language: 简体中文
    assert "已发货" in shipped.subject
    store = [m for m in mailoutbox if m.to == [mall.acme.contact_email] and so.number in m.subject]
    assert len(store) == 1 and "to accept" in store[0].subject
