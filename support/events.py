"""Outbox topics of support (public schema; aggregate: the ticket). Payloads never carry a message's text
(an internal note must not leak through a subscriber); subscribers read the ticket by id."""
from core.events import topic

_TICKET = {
    "ticket_id": "the ticket's id",
    "merchant_id": "the store's merchant id",
    "order_id": "the checkout order's id",
    "suborder_id": "the suborder's id in the store's schema, or null",
    "status": "the ticket's status after the change",
}

topic("ticket.opened", app="support", fires="A shopper opened a ticket with a store.",
      payload={**_TICKET, "priority": "low | normal | high | urgent"})
topic("ticket.status_changed", app="support", fires="A ticket moved between statuses (support.states).",
      payload={**_TICKET, "from": "status before", "to": "status after", "reason": "why, short"})
topic("ticket.replied", app="support", fires="A visible (non-internal) message was added to a ticket.",
      payload={**_TICKET, "message_id": "the message's id", "party": "shopper | merchant | operator"})
topic("ticket.assigned", app="support", fires="A ticket was given to a customer-service agent (or unassigned).",
      payload={**_TICKET, "assigned_to": "the agent's user id, or null"})
topic("ticket.sla_warning", app="support", fires="A ticket's SLA target is close (WARN_AT_PERCENT of it used).",
      payload={**_TICKET, "clock": "first_response | resolution", "due_at": "ISO time the target is reached"})
topic("ticket.sla_breached", app="support", fires="A store missed a ticket's SLA target (the ticket is escalated).",
      payload={**_TICKET, "clock": "first_response | resolution", "due_at": "ISO time the target was reached"})
topic("ticket.escalated", app="support", fires="A ticket was escalated to the mall's operator (SLA breach or dispute).",
      payload={**_TICKET, "reason": "sla_first_response | sla_resolution | dispute"})
topic("dispute.opened", app="support", fires="A shopper or a store asked the operator to decide a ticket's problem.",
      payload={**_TICKET, "dispute_id": "the dispute's id", "party": "shopper | merchant",
               "requested_minor": "what the opener asks back, minor units (0: not said)", "currency": "ISO 4217"})
topic("dispute.decided", app="support", fires="The operator decided a dispute. Settlements read it: `bearer` says "
      "whose money the refund is (platform: the mall pays the store back what the refund took from its share).",
      payload={**_TICKET, "dispute_id": "the dispute's id", "decision_id": "the DisputeDecision's id",
               "outcome": "merchant_refund | platform_refund | refused", "bearer": "merchant | platform | none",
               "amount_minor": "refunded amount, minor units (0 when refused)", "currency": "ISO 4217",
               "refund_id": "the payments Refund's id, or null when refused", "decided_by": "the operator's user id"})
