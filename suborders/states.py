"""The suborder state machine (after Mirakl's order-line lifecycle). The table is the law:
`suborders.services.suborder_transition` is the only code that assigns `SubOrder.status`."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class SubOrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
    AWAITING_ACCEPTANCE = "awaiting_acceptance", _("Awaiting acceptance")
    ACCEPTED = "accepted", _("Accepted")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")


S = SubOrderStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.AWAITING_ACCEPTANCE, S.CANCELLED}),
    S.AWAITING_ACCEPTANCE: frozenset({S.ACCEPTED, S.REFUSED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.REFUSED: frozenset(),
    S.CANCELLED: frozenset(),
}
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
# Statuses in which the suborder's stock is still only reserved (released on cancel/refuse).
HOLDS_RESERVATION = frozenset({S.PENDING_PAYMENT, S.AWAITING_ACCEPTANCE, S.ACCEPTED})


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


# Why units are refused or cancelled: a code from this list plus free text ("other" needs the text).
REASONS = {
    "out_of_stock": _("Out of stock"),
    "price_error": _("Price error"),
    "cannot_ship_to_address": _("Cannot ship to this address"),
    "suspected_fraud": _("Suspected fraud"),
    "customer_request": _("The customer asked to cancel"),
    "damaged": _("Damaged item"),
    "not_accepted_in_time": _("Not accepted in time"),
    "other": _("Other"),
}
