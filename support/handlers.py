"""Outbox subscribers of support: emails through notifications (external subscribers, sent once per
(event, recipient, channel) with a Message-ID from the delivery key).

An email quotes only a visible message: the subscriber reads the message by id and sends nothing for an
internal note (whose events are never emitted anyway: belt and braces)."""
from django.conf import settings
from django.utils import translation

from core.outbox import delivery_key, outbox_handler
from notifications.services import Notice, notice_send


def _send(event, name: str, notice: Notice) -> None:
    notice_send(event=event, delivery_key=getattr(event, "delivery_key", None) or delivery_key(event.pk, name),
                notice=notice)


def _ticket(event):
    from support.models import Ticket

    return Ticket.objects.select_related("merchant", "order", "shopper").filter(pk=event.payload.get("ticket_id")).first()


def _store_link(ticket) -> str:
    from tenants.selectors import merchant_host

    return f"http://{merchant_host(ticket.merchant)}/tickets/{ticket.pk}/"


def _shopper_link(ticket) -> str:
    return f"http://{settings.MALL_HOST}/support/tickets/{ticket.pk}/"


@outbox_handler("ticket.opened", name="support.ticket_opened_email", external=True)
def email_store_ticket_opened(event) -> None:
    ticket = _ticket(event)
    if ticket is None or not ticket.merchant.contact_email:
        return
    _send(event, "support.ticket_opened_email", Notice(
        kind="merchant_ticket_opened", email=ticket.merchant.contact_email, merchant_id=ticket.merchant_id,
        context={"ticket": ticket.number, "subject": ticket.subject, "number": ticket.order.number,
                 "priority": ticket.priority, "link": _store_link(ticket)}))


@outbox_handler("ticket.replied", name="support.ticket_replied_email", external=True)
def email_shopper_ticket_replied(event) -> None:
    from support.models import TicketMessage

    if event.payload.get("party") not in ("merchant", "operator"):
        return
    message = TicketMessage.objects.filter(pk=event.payload.get("message_id"), internal=False).first()
    ticket = _ticket(event)
    if message is None or ticket is None or message.ticket_id != ticket.pk:
        return
    store = ticket.merchant.name if message.party == "merchant" else "Mallard"
    _send(event, "support.ticket_replied_email", Notice(
        kind="ticket_replied", email=ticket.shopper.email, merchant_id=ticket.merchant_id,
        context={"store": store, "ticket": ticket.number, "subject": ticket.subject, "message": message.body,
                 "number": ticket.order.number, "link": _shopper_link(ticket)}))


def _sla_email(event, name: str, breached: bool) -> None:
    import datetime as dt

    ticket = _ticket(event)
    if ticket is None or not ticket.merchant.contact_email:
        return
    with translation.override("en"):
        clock = "first response" if event.payload.get("clock") == "first_response" else "resolution"
    due = event.payload.get("due_at")
    _send(event, name, Notice(
        kind="merchant_ticket_sla", email=ticket.merchant.contact_email, merchant_id=ticket.merchant_id,
        context={"ticket": ticket.number, "subject": ticket.subject, "clock": clock, "breached": breached,
                 "due": dt.datetime.fromisoformat(due) if due else None, "link": _store_link(ticket)}))


@outbox_handler("ticket.sla_warning", name="support.sla_warning_email", external=True)
def email_store_sla_warning(event) -> None:
    _sla_email(event, "support.sla_warning_email", False)


@outbox_handler("ticket.sla_breached", name="support.sla_breached_email", external=True)
def email_store_sla_breached(event) -> None:
    _sla_email(event, "support.sla_breached_email", True)


@outbox_handler("dispute.decided", name="support.dispute_decided_email", external=True)
def email_shopper_dispute_decided(event) -> None:
    from core.money import Money
    from support.models import DisputeDecision
    from support.states import DisputeOutcome

    ticket = _ticket(event)
    decision = DisputeDecision.objects.filter(pk=event.payload.get("decision_id")).first()
    if ticket is None or decision is None:
        return
    with translation.override("en"):
        outcome = str(DisputeOutcome(decision.outcome).label)
    _send(event, "support.dispute_decided_email", Notice(
        kind="dispute_decided", email=ticket.shopper.email, merchant_id=ticket.merchant_id,
        context={"store": ticket.merchant.name, "ticket": ticket.number, "subject": ticket.subject, "outcome": outcome,
                 "amount": Money(decision.amount_minor, decision.currency).format() if decision.amount_minor else "",
                 "reason": decision.reason, "link": _shopper_link(ticket)}))
