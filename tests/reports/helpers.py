"""Reports test helpers: suborders written straight into a merchant's schema (fast, any history)."""
from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

from django.utils import timezone

from core.tenancy import in_merchant_schema
from tests.orders.factories import ADDRESS

_n = itertools.count(1)


def suborder(merchant, *, channel: str, name: str = "Li Lei", created_at=None, warehouse_id: int = 1,
             warehouse_name: str = "Main", lines=(), total_minor: int = 12345, status: str = "accepted"):
    """A suborder (with `lines` = [(variant_id, sku, qty)]) created directly; channel tags it for filters."""
    from suborders.models import SubOrder, SubOrderLine

    n = next(_n)
    with in_merchant_schema(merchant):
        so = SubOrder.objects.create(
            number=f"RX{uuid.uuid4().hex[:10].upper()}-{n}", order_id=10**9 + n, order_number=f"RX{n}",
            shopper_email="shopper@example.test", status=status, currency="CNY", warehouse_id=warehouse_id,
            warehouse_name=warehouse_name, shipping_address={**ADDRESS, "name": name}, subtotal_minor=total_minor,
            total_minor=total_minor, channel=channel, external_order_id=f"ext-{n}",
            created_at=created_at or timezone.now() - timedelta(minutes=n))
        for variant_id, sku, qty in lines:
            SubOrderLine.objects.create(suborder=so, variant_id=variant_id, sku=sku, name=sku, unit_price_minor=100,
                                        quantity=qty, line_total_minor=100 * qty, accepted_qty=qty)
    return so
