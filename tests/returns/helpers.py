"""Returns test helpers: a paid, accepted, shipped and delivered suborder; a small real PNG."""
from __future__ import annotations

import io
import itertools
import time

from django.utils import timezone

from core.tenancy import in_merchant_schema

_n = itertools.count(1)


def png_bytes(size=(4, 4), color=(200, 30, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def items_one_warehouse(merchant, n, *, price_minor, stock=10):
    from catalog.services import product_create, stock_receive, warehouse_create

    k = f"{timezone.now().strftime('%H%M%S%f')}{next(_n)}"
    with in_merchant_schema(merchant):
        wh = warehouse_create(code=f"RT{k}"[-20:], name=f"Returns {k}", region="SH", priority=1)
        items = []
        for i in range(n):
            sku = f"RT{k}-{i}-{merchant.slug[:3]}".upper()[-60:]
            product = product_create(name=f"Returnable {k}-{i}", variants=[{"sku": sku, "price_minor": price_minor,
                                                                              "currency": "CNY", "weight_g": 300}])
            variant = product.variants.get()
            stock_receive(variant_id=variant.pk, warehouse_id=wh.pk, quantity=stock, reason="test stock")
            items.append({"merchant_id": merchant.pk, "variant_id": variant.pk, "sku": sku, "warehouse_id": wh.pk,
                          "price_minor": price_minor})
    return items


def paid_suborder(mall, merchant="acme", qty=3, lines=1, price_minor=1000, shopper=None):
    from orders.services import CheckoutLine, order_checkout
    from suborders.models import SubOrder
    from tests.orders.factories import ADDRESS
    from tests.payments.helpers import pay

    m = getattr(mall, merchant)
    items = items_one_warehouse(m, lines, price_minor=price_minor)
    order, _ = order_checkout(shopper=shopper or mall.users["shopper"], email=None, shipping_address=ADDRESS,
                              lines=[CheckoutLine(i["merchant_id"], i["variant_id"], qty) for i in items],
                              idempotency_key=f"rt-{timezone.now().timestamp()}-{items[0]['sku']}")
    pay(order)
    with in_merchant_schema(m):
        so = SubOrder.objects.get(order_id=order.pk)
    return order, so, items


def delivered_suborder(mall, merchant="acme", qty=3, lines=1, price_minor=1000, shopper=None):
    """A paid suborder accepted, shipped and delivered (receipt confirmed by the shopper)."""
    from fulfillment.shipments import shipment_create, suborder_confirm_receipt
    from suborders.models import SubOrder
    from suborders.services import suborder_accept

    order, so, items = paid_suborder(mall, merchant, qty=qty, lines=lines, price_minor=price_minor, shopper=shopper)
    m = getattr(mall, merchant)
    with in_merchant_schema(m):
        suborder_accept(suborder_id=so.pk, actor=mall.users[f"{merchant}:owner"])
        shipment_create(suborder_id=so.pk, actor=mall.users[f"{merchant}:warehouse"], lines=None, carrier="sf",
                        tracking_number=f"SF{(time.time_ns() + next(_n)) % 10**13:013d}")
        suborder_confirm_receipt(suborder_id=so.pk, shopper_email=order.email)
        so = SubOrder.objects.get(pk=so.pk)
    assert so.status == "delivered"
    return order, so, items


def lines_of(so):
    return list(so.lines.order_by("pk"))


def first_line_id(merchant, so) -> int:
    with in_merchant_schema(merchant):
        return so.lines.order_by("pk").first().pk
