"""Demo: acme's support desk. Tickets of the demo shoppers in several states (open, waiting on the shopper with
an internal note, resolved, one that missed its first-response target and was escalated by the SLA sweep, one
whose dispute the operator decided with a refund at the mall's cost), two canned replies and support hours with a
holiday. Idempotent: skipped when acme already has tickets. Registered in merchants.demo.DEMO_SEEDERS."""
from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

log = logging.getLogger("mallard.demo")


def _paid_orders_at(merchant, shopper_emails):
    from orders.models import Order, SubOrderMirror
    from payments.models import Payment

    paid = Payment.objects.filter(captured_minor__gt=0).values("order_id")
    ids = SubOrderMirror.objects.filter(merchant=merchant).values("order_id")
    return list(Order.objects.filter(shopper__email__in=shopper_emails, pk__in=ids).filter(pk__in=paid).order_by("pk")) + \
        list(Order.objects.filter(shopper__email__in=shopper_emails, pk__in=ids).exclude(pk__in=paid).order_by("pk"))


def seed_support(merchants) -> None:
    from core.errors import DomainError
    from permissions.models import User
    from support.models import SupportPolicy, Ticket
    from support.services import (
        as_merchant,
        as_shopper,
        canned_reply_save,
        dispute_decide,
        dispute_open,
        sla_sweep,
        ticket_message_post,
        ticket_open,
        ticket_status_set,
    )

    acme = next((m for m in merchants if m.slug == "acme"), None)
    owner = User.objects.filter(email="owner@acme.localhost").first()
    agent = User.objects.filter(email="customer_service@acme.localhost").first() or owner
    operator = User.objects.filter(email="operator@mallard.localhost").first()
    if acme is None or owner is None or operator is None or \
            Ticket.objects.filter(merchant=acme, idempotency_key__startswith="demo-ticket-").exists():
        return
    orders = _paid_orders_at(acme, ["shopper1@example.com", "shopper2@example.com"])
    if not orders:
        return
    SupportPolicy.objects.get_or_create(merchant=acme, defaults={"holidays": [dt.date(2027, 1, 1), dt.date(2027, 2, 17)]})
    canned_reply_save(actor=owner, merchant=acme, title="Replacement on its way",
                      body="Sorry about that! A replacement ships today; you will get its tracking number by email.")
    canned_reply_save(actor=owner, merchant=acme, title="Need a photo / 请提供照片",
                      body="Could you send a photo of the item and its label? 麻烦您拍一张商品和标签的照片，谢谢！")
    staff = as_merchant(agent, acme)
    now = timezone.now()

    def order_at(i):
        return orders[i % len(orders)]

    def open_(i, subject, body, priority="normal", when=None):
        order = order_at(i)
        ticket, _ = ticket_open(shopper=order.shopper, order_number=order.number, merchant_id=acme.pk, subject=subject,
                                body=body, priority=priority, now=when or now, idempotency_key=f"demo-ticket-{i}")
        return ticket

    open_(0, "Which size should I pick? / 尺码怎么选", "I am 178 cm; is the M or the L jacket better?")
    waiting = open_(1, "Lamp does not charge", "The USB lamp does not light up after a night of charging.", "high")
    ticket_message_post(acting=staff, ticket_id=waiting.pk, internal=True,
                        body="Batch 2026-11 had loose cables; replace without asking for the return.")
    ticket_message_post(acting=staff, ticket_id=waiting.pk, body="Could you send a photo of the cable end? 谢谢！")
    done = open_(2, "Invoice please / 需要发票", "Please send a VAT invoice to my email.", "low")
    ticket_message_post(acting=staff, ticket_id=done.pk, body="Sent to your email today.")
    ticket_status_set(acting=staff, ticket_id=done.pk, to="resolved", reason="invoice sent")
    # missed its first response: opened three days ago, nobody answered; the sweep escalates it
    open_(3, "Parcel says delivered but nothing arrived", "The tracking says delivered yesterday; I have nothing.",
          "urgent", when=now - dt.timedelta(days=3))
    sla_sweep(now=now)
    # a dispute the operator decided: a refund at the mall's cost (or, unpaid, a refusal)
    disputed = open_(4, "Tent pole snapped on first use", "The pole snapped while pitching; photos in the next message.",
                     when=now - dt.timedelta(days=2))
    ticket_message_post(acting=staff, ticket_id=disputed.pk, body="Poles are a wear part; we cannot refund them.")
    dispute = dispute_open(acting=as_shopper(disputed.shopper), ticket_id=disputed.pk, requested_minor=3000,
                           reason="A pole should survive the first pitch.")
    try:
        dispute_decide(actor=operator, dispute_id=dispute.pk, outcome="platform_refund", amount_minor=3000,
                       reason="Goodwill: the mall refunds the pole; acme reviews its supplier.")
    except DomainError as err:  # an order the demo left unpaid cannot be refunded
        log.info("demo dispute refused instead of refunded: %s", err.message)
        dispute_decide(actor=operator, dispute_id=dispute.pk, outcome="refused", amount_minor=0,
                       reason="Nothing was paid for this order.")
