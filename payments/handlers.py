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
    from orders.models import OrderLine, SubOrderMirror
    from payments.models import Payment, Refund
    from payments.services.refunds import RefundLineRequest, refund_create
    from payments.states import PAID

    with in_public_schema():
        mirror = SubOrderMirror.objects.filter(merchant_id=p["merchant_id"], suborder_id=int(event.aggregate_id)).first()
        if mirror is None or not Payment.objects.filter(order_id=mirror.order_id, status__in=PAID).exists():
            return  # unpaid: nothing to give back
        key = f"suborder-event-{event.pk}"
        if Refund.objects.filter(idempotency_scope="user:system", idempotency_key=key).exists():
            return
        by_variant = dict(OrderLine.objects.filter(order_id=mirror.order_id, merchant_id=p["merchant_id"],
                                                   suborder_id=mirror.suborder_id).values_list("variant_id", "pk"))
        requests = [RefundLineRequest(order_line_id=by_variant[ln["variant_id"]], quantity=ln["quantity"])
                    for ln in p["lines"] if ln.get("variant_id") in by_variant]
        whole = p.get("to") in ("refused", "cancelled")
        refund_create(actor=None, merchant_id=p["merchant_id"], suborder_id=mirror.suborder_id, lines=requests,
                      shipping_minor=mirror.shipping_minor if whole else 0,
                      reason=f"{p.get('action').replace('_', ' ')}: {p.get('reason') or ''}"[:300], idempotency_key=key,
                      system=True)


@outbox_handler("suborder.accepted")
def capture_on_first_acceptance(event) -> None:
    from payments.models import Payment
    from payments.services.payments import payment_capture
    from payments.states import PaymentStatus

    with in_public_schema():
        payment = Payment.objects.filter(order_id=event.payload["order_id"]).only("pk", "status").first()
        if payment is not None and payment.status == PaymentStatus.AUTHORIZED:
            payment_capture(payment_id=payment.pk, reason="first suborder accepted")
