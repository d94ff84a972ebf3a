"""The return state machine. The tables are the law: `returns.services._transition` is the only code that
assigns `ReturnRequest.status`, and only along an edge of the table of the request's kind."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReturnKind(models.TextChoices):
    RETURN = "return", _("Return for a refund")
    EXCHANGE = "exchange", _("Exchange")
    REFUND_ONLY = "refund_only", _("Refund only, no return (仅退款)")


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    AWAITING_RETURN_SHIPMENT = "awaiting_return_shipment", _("Awaiting your parcel")
    IN_TRANSIT = "in_transit", _("On its way back")
    RECEIVED = "received", _("Received by the store")
    INSPECTED = "inspected", _("Inspected")
    REFUNDED = "refunded", _("Refunded")
    EXCHANGED = "exchanged", _("Replacement sent")
    CLOSED = "closed", _("Closed")


class Inspection(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    PARTIALLY_ACCEPTED = "partially_accepted", _("Partially accepted")
    REJECTED = "rejected", _("Rejected")


S = ReturnStatus
# Goods come back: return and exchange.
RETURN_TRANSITIONS: dict[str, frozenset[str]] = {
    S.REQUESTED: frozenset({S.APPROVED, S.REFUSED}),
    S.APPROVED: frozenset({S.AWAITING_RETURN_SHIPMENT}),
    S.AWAITING_RETURN_SHIPMENT: frozenset({S.IN_TRANSIT, S.CLOSED}),
    S.IN_TRANSIT: frozenset({S.RECEIVED}),
    S.RECEIVED: frozenset({S.INSPECTED}),
    S.INSPECTED: frozenset({S.REFUNDED, S.EXCHANGED, S.CLOSED}),
    S.REFUSED: frozenset(),
    S.REFUNDED: frozenset(),
    S.EXCHANGED: frozenset(),
    S.CLOSED: frozenset(),
}
# 仅退款: nothing comes back; the merchant decides and finance refunds.
REFUND_ONLY_TRANSITIONS: dict[str, frozenset[str]] = {
    S.REQUESTED: frozenset({S.APPROVED, S.REFUSED}),
    S.APPROVED: frozenset({S.REFUNDED}),
    **{s: frozenset() for s in S.values if s not in (S.REQUESTED, S.APPROVED)},
}
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    ReturnKind.RETURN: RETURN_TRANSITIONS,
    ReturnKind.EXCHANGE: RETURN_TRANSITIONS,
    ReturnKind.REFUND_ONLY: REFUND_ONLY_TRANSITIONS,
}
TERMINAL = frozenset({S.REFUSED, S.REFUNDED, S.EXCHANGED, S.CLOSED})
OPEN = frozenset(S.values) - TERMINAL
# The deadline each status carries: (ReturnRequest column, due-index kind).
DEADLINES = {S.REQUESTED: ("answer_by", "answer"), S.AWAITING_RETURN_SHIPMENT: ("ship_by", "ship")}


def can_transition(kind: str, current: str, target: str) -> bool:
    return target in TRANSITIONS.get(kind, {}).get(current, frozenset())


# Why a shopper asks. "no_reason_7d" is 七天无理由退货; the policy lists the reasons that need no approval.
REASONS = {
    "no_reason_7d": _("Changed my mind (7 days, no reason needed)"),
    "damaged": _("Arrived damaged"),
    "defective": _("Does not work"),
    "wrong_item": _("Wrong item sent"),
    "not_as_described": _("Not as described"),
    "size_fit": _("Wrong size or fit"),
    "other": _("Other"),
}
