"""Demo: shopper cancellations at acme in each state — one cancelled at once before acceptance, one request
waiting for the store, one refused, one approved automatically at its deadline — and acme's customer
tags and private notes. Idempotent: skipped once acme has a cancellation request. Registered in
merchants.demo.DEMO_SEEDERS after the lifecycle seeder."""
from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from core.tenancy import in_merchant_schema
from orders.demo import DEMO_ADDRESS, _buyable
from orders.services import CheckoutLine, order_checkout
from permissions.models import User


def seed_cancellations(merchants) -> None:
    from orders.services.sweeps import suborders_sweep
    from payments.demo import _pay
    from suborders.cancellations import cancellation_decide, decide_hours, suborder_shopper_cancel
    from suborders.customers import customer_key, customer_note_add, customer_tags_update
    from suborders.models import CancellationRequest, SubOrder
    from suborders.services import suborder_accept

    shopper = User.objects.filter(email="shopper1@example.com").first()
    acme = next((m for m in merchants if m.slug == "acme"), None)
    if shopper is None or acme is None:
        return
    with in_merchant_schema(acme):
        if CancellationRequest.objects.exists():
            return
    owner = User.objects.filter(email=f"owner@{acme.slug}.localhost").first()
    service = User.objects.filter(email=f"customerservice@{acme.slug}.localhost").first() or owner
    picks = _buyable(acme, 2)

    def paid(n: int):
        order, _ = order_checkout(shopper=shopper, email=None, shipping_address=DEMO_ADDRESS,
                                  lines=[CheckoutLine(acme.pk, v, 2) for v in picks],
                                  idempotency_key=f"demo-cancel-{n}-{int(time.time())}")
        _pay(order)
        with in_merchant_schema(acme):
            return order, SubOrder.objects.filter(order_id=order.pk).order_by("pk").first()

    # 1. before acceptance: one unit of the first line cancelled at once (refunded by payments from the outbox)
    order, so = paid(1)
    with in_merchant_schema(acme):
        line = so.lines.order_by("pk").first()
        suborder_shopper_cancel(suborder_id=so.pk, shopper_email=shopper.email, actor=shopper, lines=[(line.pk, 1)],
                                reason="ordered one too many")
    # 2-4. after acceptance: requests
    outcomes = {}
    for n, plan in enumerate(("pending", "refused", "auto"), start=2):
        order, so = paid(n)
        with in_merchant_schema(acme):
            suborder_accept(suborder_id=so.pk, actor=owner)
            line = so.lines.order_by("pk").first()
            asked_at = timezone.now() - timedelta(hours=decide_hours() + 1) if plan == "auto" else None  # left undecided
            out = suborder_shopper_cancel(suborder_id=so.pk, shopper_email=shopper.email, actor=shopper, now=asked_at,
                                          lines=[(line.pk, 1)] if plan != "auto" else None,
                                          reason={"pending": "found it cheaper", "refused": "changed my mind",
                                                  "auto": "no longer needed"}[plan])
            outcomes[plan] = out.request_id
            if plan == "refused":
                cancellation_decide(request_id=out.request_id, actor=service, approve=False,
                                    reason="already packed and handed to SF Express")
    suborders_sweep(kind="cancellation")  # as beat does: the undecided request's deadline has passed
    # the customers page: tags (they also drive automation rules and tag-only vouchers) and private notes
    with in_merchant_schema(acme):
        key = customer_key(shopper.email)
        customer_tags_update(actor=owner, key=key, tags=["vip", "repeat"])
        customer_note_add(actor=service, key=key, text="Prefers SF Express; call before delivery after 18:00.")
        customer_note_add(actor=owner, key=key, text=f"Asked to cancel several times ({timezone.localdate():%Y-%m}); "
                                                       "offer the VIP voucher instead.")
    from orders.models import Voucher

    Voucher.objects.get_or_create(code="ACMEVIP", defaults={"kind": "fixed", "amount_minor": 2000, "merchant": acme,
                                                            "currency": "CNY", "customer_tag": "vip"})
