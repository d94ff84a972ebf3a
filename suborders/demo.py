"""Demo: suborders in every lifecycle state, worked the way staff would (accept, refuse a line,
ship in two parcels, deliver, complete after the return window). Idempotent: skipped when the demo
shopper already has shipped orders. Registered in merchants.demo.DEMO_SEEDERS after payments."""
from __future__ import annotations

import itertools
import time
from datetime import timedelta

from django.utils import timezone

from core.tenancy import in_merchant_schema
from orders.demo import DEMO_ADDRESS, _buyable
from orders.models import SubOrderMirror
from orders.services import CheckoutLine, order_checkout
from permissions.models import User
from suborders.models import SubOrder, SubOrderLine

_tracking = itertools.count(int(time.time()) % 10**6)


def _number(carrier: str) -> str:
    n = next(_tracking)
    return {"sf": f"SF{n:013d}", "zto": f"73{n:010d}", "yto": f"YT{n:013d}", "jd": f"JDVA{n:011d}"}[carrier]


def seed_lifecycle(merchants) -> None:
    from fulfillment.shipments import shipment_create, suborder_confirm_receipt
    from orders.services.sweeps import suborders_sweep
    from payments.demo import _pay
    from suborders.services import suborder_accept, suborder_cancel_lines, suborder_refuse_lines

    shopper = User.objects.filter(email="shopper1@example.com").first()
    if shopper is None or SubOrderMirror.objects.filter(order__shopper=shopper, status__in=["shipped", "completed"]).exists():
        return
    acme = next((m for m in merchants if m.slug == "acme"), merchants[0])
    owner = User.objects.filter(email=f"owner@{acme.slug}.localhost").first()
    warehouse = User.objects.filter(email=f"warehouse@{acme.slug}.localhost").first()
    picks = _buyable(acme, 3)

    def paid_suborder(n: int):
        lines = [CheckoutLine(acme.pk, v, 1 + i % 2) for i, v in enumerate(picks[: 2 + n % 2])]
        order, _ = order_checkout(shopper=shopper, email=None, lines=lines, shipping_address=DEMO_ADDRESS,
                                  idempotency_key=f"demo-life-{n}-{int(time.time())}")
        _pay(order)
        with in_merchant_schema(acme):
            return list(SubOrder.objects.filter(order_id=order.pk).order_by("pk"))

    plans = ["completed", "awaiting", "accepted", "partly_refused", "refused", "partially_shipped", "shipped", "delivered", "cancelled"]
    for n, plan in enumerate(plans):
        for so in paid_suborder(n):
            with in_merchant_schema(acme):
                lines = list(SubOrderLine.objects.filter(suborder=so).order_by("pk"))
                if plan == "awaiting":
                    continue
                if plan == "refused":
                    suborder_refuse_lines(suborder_id=so.pk, actor=owner, reason_code="out_of_stock")
                    continue
                if plan == "partly_refused":
                    suborder_refuse_lines(suborder_id=so.pk, actor=owner, lines=[(lines[0].pk, 1)], reason_code="damaged",
                                          reason="last one on the shelf was scratched")
                suborder_accept(suborder_id=so.pk, actor=owner)
                if plan == "cancelled":
                    suborder_cancel_lines(suborder_id=so.pk, actor=owner, reason_code="customer_request", reason="changed their mind")
                    continue
                if plan in ("accepted", "partly_refused"):
                    continue
                lines = list(SubOrderLine.objects.filter(suborder=so).order_by("pk"))
                first = [(ln.pk, ln.to_ship_qty) for ln in lines[:1] if ln.to_ship_qty]
                if first:
                    shipment_create(suborder_id=so.pk, actor=warehouse, lines=first, carrier="sf", tracking_number=_number("sf"))
                if plan == "partially_shipped":
                    continue
                if any(ln.to_ship_qty for ln in SubOrderLine.objects.filter(suborder=so)):
                    shipment_create(suborder_id=so.pk, actor=warehouse, lines=None, carrier="zto", tracking_number=_number("zto"))
                if plan == "shipped":
                    continue
                suborder_confirm_receipt(suborder_id=so.pk, shopper_email=shopper.email)
        if plan == "completed":
            suborders_sweep(kind="complete", now=timezone.now() + timedelta(days=acme.return_window_days, minutes=1))
