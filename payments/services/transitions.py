"""The one transition function of a Payment and of a Refund.

`payment_transition` is the only code that assigns `Payment.status`; `refund_transition` the only
code that assigns `Refund.status`. Each checks the table in payments.states, writes the event row and
the outbox event in the caller's transaction. Callers hold the payment row lock
(`payment_lock`), taken before any refund row: the lock order of this app.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidTransition, NotFound
from core.outbox import outbox_emit
from core.tenancy import platform_only
from payments.models import Payment, PaymentEvent, Refund, RefundEvent
from payments.states import REFUND_TRANSITIONS, can_transition


@platform_only
def payment_lock(*, payment_id: int) -> Payment:
    """Lock one payment row (the aggregate root of its refunds) in the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("payment_lock needs a transaction")
    payment = Payment.objects.select_for_update(of=("self",)).select_related("order").filter(pk=payment_id).first()
    if payment is None:
        raise NotFound(f"No payment {payment_id}.", field="payment")
    return payment


@platform_only
def payment_transition(*, payment: Payment, to: str, amount_minor: int = 0, actor=None, gateway_event_id: str = "",
                       reason: str = "", changes: dict | None = None) -> Payment:
    """Move a locked payment to `to`, with any amount fields in `changes`, and record it."""
    current = payment.status
    if not can_transition(current, to):
        raise InvalidTransition(f"Payment {payment.pk} cannot go from {current} to {to}.", field="status",
                                details={"from": current, "to": to})
    now = timezone.now()
    fields = {"status": to, "updated_at": now, **(changes or {})}
    Payment.objects.filter(pk=payment.pk).update(**fields)
    for name, value in fields.items():
        setattr(payment, name, value)
    PaymentEvent.objects.create(payment=payment, from_status=current, to_status=to, amount_minor=amount_minor,
                                actor_id=getattr(actor, "pk", None), gateway_event_id=gateway_event_id[:120],
                                reason=reason[:300], at=now)
    outbox_emit(topic=f"payment.{to}", aggregate_type="payment", aggregate_id=payment.pk,
                payload={"order_id": payment.order_id, "from": current, "to": to, "amount_minor": amount_minor,
                         "currency": payment.currency, "gateway": payment.gateway})
    return payment


@platform_only
def refund_transition(*, refund: Refund, to: str, actor=None, reason: str = "", changes: dict | None = None) -> Refund:
    current = refund.status
    if to not in REFUND_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"Refund {refund.pk} cannot go from {current} to {to}.", field="status",
                                details={"from": current, "to": to})
    now = timezone.now()
    fields = {"status": to, "updated_at": now, **(changes or {})}
    Refund.objects.filter(pk=refund.pk).update(**fields)
    for name, value in fields.items():
        setattr(refund, name, value)
    RefundEvent.objects.create(refund=refund, from_status=current, to_status=to, actor_id=getattr(actor, "pk", None),
                               reason=reason[:300], at=now)
    outbox_emit(topic=f"refund.{to}", aggregate_type="refund", aggregate_id=refund.pk,
                payload={"order_id": refund.order_id, "merchant_id": refund.merchant_id, "suborder_id": refund.suborder_id,
                         "amount_minor": refund.amount_minor, "currency": refund.currency, "from": current, "to": to})
    return refund
