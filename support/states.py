"""The ticket state machine. The table is the law: `support.services.ticket_transition` is the only code
that assigns `Ticket.status`."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WAITING_ON_MERCHANT = "waiting_on_merchant", _("Waiting on the store")
    WAITING_ON_SHOPPER = "waiting_on_shopper", _("Waiting on the shopper")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


T = TicketStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    T.OPEN: frozenset({T.WAITING_ON_MERCHANT, T.WAITING_ON_SHOPPER, T.RESOLVED, T.CLOSED}),
    T.WAITING_ON_MERCHANT: frozenset({T.WAITING_ON_SHOPPER, T.RESOLVED, T.CLOSED}),
    T.WAITING_ON_SHOPPER: frozenset({T.WAITING_ON_MERCHANT, T.RESOLVED, T.CLOSED}),
    # reopening (within the store's reopen window, checked by the service) puts the ball back with the store
    T.RESOLVED: frozenset({T.CLOSED, T.WAITING_ON_MERCHANT}),
    T.CLOSED: frozenset({T.WAITING_ON_MERCHANT}),
}
# The SLA clock runs while the store owes an answer, pauses while waiting on the shopper, stops when done.
CLOCK_RUNS = frozenset({T.OPEN, T.WAITING_ON_MERCHANT})
DONE = frozenset({T.RESOLVED, T.CLOSED})
ACTIVE = frozenset({T.OPEN, T.WAITING_ON_MERCHANT, T.WAITING_ON_SHOPPER})


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Party(models.TextChoices):
    SHOPPER = "shopper", _("Shopper")
    MERCHANT = "merchant", _("Store")
    OPERATOR = "operator", _("Mall operator")
    SYSTEM = "system", _("System")


class DisputeOutcome(models.TextChoices):
    MERCHANT_REFUND = "merchant_refund", _("Refund from the store's share")
    PLATFORM_REFUND = "platform_refund", _("Refund at the mall's cost")
    REFUSED = "refused", _("Refused")


# Default SLA targets in business minutes per priority: (first response, resolution).
DEFAULT_TARGETS: dict[str, tuple[int, int]] = {
    Priority.LOW: (8 * 60, 5 * 9 * 60),
    Priority.NORMAL: (4 * 60, 3 * 9 * 60),
    Priority.HIGH: (2 * 60, 9 * 60),
    Priority.URGENT: (60, 4 * 60),
}
WARN_AT_PERCENT = 80  # a breach warning goes out when this share of a target is used
