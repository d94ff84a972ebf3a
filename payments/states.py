"""The payment state machine. The table is the law: `payments.services.transitions.payment_transition`
is the only code that assigns `Payment.status`."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    REQUIRES_ACTION = "requires_action", _("Action required")
    AUTHORIZED = "authorized", _("Authorized")
    CAPTURED = "captured", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    FAILED = "failed", _("Payment failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


P = PaymentStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    # a declined attempt leaves the payment open for another try: failed -> pending/requires_action/...
    P.PENDING: frozenset({P.REQUIRES_ACTION, P.AUTHORIZED, P.CAPTURED, P.FAILED, P.CANCELLED, P.EXPIRED}),
    P.REQUIRES_ACTION: frozenset({P.PENDING, P.AUTHORIZED, P.CAPTURED, P.FAILED, P.CANCELLED, P.EXPIRED}),
    P.FAILED: frozenset({P.PENDING, P.REQUIRES_ACTION, P.AUTHORIZED, P.CAPTURED, P.CANCELLED, P.EXPIRED}),
    P.AUTHORIZED: frozenset({P.CAPTURED, P.CANCELLED}),  # cancelled = authorization voided
    P.CAPTURED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.PARTIALLY_REFUNDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.REFUNDED: frozenset(),
    P.CANCELLED: frozenset(),
    P.EXPIRED: frozenset(),
}
# Money has reached us (captured at least once): refunds are possible from these.
PAID = frozenset({P.CAPTURED, P.PARTIALLY_REFUNDED, P.REFUNDED})
# The shopper may still pay (or retry) in these.
OPEN = frozenset({P.PENDING, P.REQUIRES_ACTION, P.FAILED})
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    PENDING = "pending", _("Pending at the gateway")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")


R = RefundStatus
REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    R.REQUESTED: frozenset({R.PENDING, R.SUCCEEDED, R.FAILED}),
    R.PENDING: frozenset({R.SUCCEEDED, R.FAILED}),
    R.FAILED: frozenset({R.REQUESTED}),  # retried
    R.SUCCEEDED: frozenset(),
}
# A refund in these statuses holds its amount against what may still be refunded.
REFUND_HOLDS = frozenset({R.REQUESTED, R.PENDING, R.SUCCEEDED})
