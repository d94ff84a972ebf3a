"""Demo: acme's returns in several states, worked the way the shopper and staff would: requested, approved
and awaiting the parcel, received, refunded, refused, an exchange and a refund-only request (仅退款).
Idempotent: skipped when acme already has returns. Registered in merchants.demo.DEMO_SEEDERS after the
lifecycle seeder."""
from __future__ import annotations

import io
import time

from core.tenancy import in_merchant_schema
from orders.demo import DEMO_ADDRESS, _buyable
from orders.services import CheckoutLine, order_checkout
from permissions.models import User

PLANS = ["requested", "awaiting", "received", "refunded", "refused", "exchange", "refund_only"]


def _photo() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (180, 60, 40)).save(buf, format="PNG")
    return buf.getvalue()


def seed_returns(merchants) -> None:
    from fulfillment.shipments import shipment_create, suborder_confirm_receipt
    from payments.demo import _pay
    from returns import services as rsvc
    from returns.models import ReturnRequest
    from suborders.models import SubOrder
    from suborders.services import suborder_accept

    shopper = User.objects.filter(email="shopper2@example.com").first() or User.objects.filter(email="shopper1@example.com").first()
    acme = next((m for m in merchants if m.slug == "acme"), None)
    if shopper is None or acme is None:
        return
    with in_merchant_schema(acme):
        if ReturnRequest.objects.exists():
            return
    staff = {r: User.objects.filter(email=f"{r}@{acme.slug}.localhost").first() for r in ("owner", "warehouse", "finance")}
    if not all(staff.values()):
        return
    picks = _buyable(acme, 2)
    for n, plan in enumerate(PLANS):
        order, _ = order_checkout(shopper=shopper, email=None, lines=[CheckoutLine(acme.pk, v, 2) for v in picks[:1]],
                                  shipping_address=DEMO_ADDRESS, idempotency_key=f"demo-return-{n}-{int(time.time())}")
        _pay(order)
        with in_merchant_schema(acme):
            so = SubOrder.objects.filter(order_id=order.pk).order_by("pk").first()
            suborder_accept(suborder_id=so.pk, actor=staff["owner"])
            shipment_create(suborder_id=so.pk, actor=staff["warehouse"], lines=None, carrier="sf",
                            tracking_number=f"SF{(time.time_ns() + n) % 10**13:013d}")
            suborder_confirm_receipt(suborder_id=so.pk, shopper_email=order.email)
            line = so.lines.order_by("pk").first()
            kind = {"exchange": "exchange", "refund_only": "refund_only"}.get(plan, "return")
            ret = rsvc.return_request_create(suborder_id=so.pk, shopper_email=order.email, kind=kind, lines=[(line.pk, 1)],
                                             reason_code="size_fit" if kind == "exchange" else "damaged",
                                             reason="演示 / demo", photos=[_photo()], actor=shopper)
            if plan == "requested":
                continue
            if plan == "refused":
                rsvc.return_refuse(return_id=ret.pk, actor=staff["owner"], reason="Photos show normal wear / 照片显示正常磨损")
                continue
            rsvc.return_approve(return_id=ret.pk, actor=staff["owner"])
            if plan == "refund_only":
                rsvc.return_refund(return_id=ret.pk, actor=staff["finance"])
                continue
            if plan == "awaiting":
                continue
            rsvc.return_mark_shipped(return_id=ret.pk, shopper_email=order.email, carrier="SF", tracking_number=f"SF{n:013d}")
            rsvc.return_receive(return_id=ret.pk, actor=staff["warehouse"])
            if plan == "received":
                continue
            rl = ret.lines.get()
            rsvc.return_inspect(return_id=ret.pk, actor=staff["warehouse"],
                                lines=[rsvc.InspectLine(rl.pk, 1, 0, so.warehouse_id)])
            if plan == "refunded":
                rsvc.return_refund(return_id=ret.pk, actor=staff["finance"])
            elif plan == "exchange":
                rsvc.return_ship_replacement(return_id=ret.pk, actor=staff["warehouse"], carrier="sf",
                                             tracking_number=f"SF{(time.time_ns() + 7) % 10**13:013d}")
