"""Payments' outbox handlers: refund the paid units a merchant refused or cancelled; capture an
authorized payment when the first suborder is accepted. Idempotent (keys derive from the event)."""
from __future__ import annotations

import logging

from core.outbox import outbox_handler
from core.tenancy import in_public_schema

log = logging.getLogger("mallard.payments")


@outbox_handler("suborder.changed")
def refund_released_units(event) -> None:
    p = event.payload
    if p.get("action") not in ("lines_refused", "lines_cancelled") or not p.get("lines"):
        return
    from payments.services.refunds import refund_for_suborder_lines

    with in_public_schema():
        refund_for_suborder_lines(
            merchant_id=p["merchant_id"], suborder_id=int(event.aggregate_id),
            lines=[(ln["variant_id"], ln["quantity"]) for ln in p["lines"] if ln.get("variant_id")],
            shipping_minor=None if p.get("to") in ("refused", "cancelled") else 0,  # a whole suborder gives back its shipping
            reason=f"{p.get('action').replace('_', ' ')}: {p.get('reason') or ''}"[:300],
            idempotency_key=f"suborder-event-{event.pk}")  # exactly once however often the event is delivered


@outbox_handler("suborder.changed")
def refund_swap_difference(event) -> None:
    """A line swapped to a cheaper variant (suborders.edits): the shopper gets the difference back, once."""
    p = event.payload
    if p.get("action") != "variant_swapped" or not p.get("refund_minor"):
        return
    from payments.services.refunds import refund_create

    with in_public_schema():
        refund_create(actor=None, system=True, merchant_id=p["merchant_id"], suborder_id=int(event.aggregate_id),
                      custom_minor=int(p["refund_minor"]), reason=f"variant swapped: {p.get('reason') or ''}"[:300],
                      idempotency_key=f"suborder-event-{event.pk}")


@outbox_handler("suborder.accepted")
def capture_on_first_acceptance(event) -> None:
    from payments.models import Payment
    from payments.services.payments import payment_capture
    from payments.states import PaymentStatus

    with in_public_schema():
        payment = Payment.objects.filter(order_id=event.payload["order_id"]).only("pk", "status").first()
        if payment is not None and payment.status == PaymentStatus.AUTHORIZED:
            payment_capture(payment_id=payment.pk, reason="first suborder accepted")
