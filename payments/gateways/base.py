"""The gateway protocol: what every payment gateway adapter offers, in our own terms.

Adapters never touch the database: services call them outside any transaction or row lock and
record what they return. Every call that creates something at the gateway carries an
idempotency key derived from our own ids, so a retry never creates a second intent or refund.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core.errors import DomainError


class GatewayError(DomainError):
    """The gateway refused or could not be reached. `retryable` tells whether to try again."""

    code = "gateway_error"
    status = 502

    def __init__(self, message: str, *, retryable: bool = True, **kw):
        super().__init__(message, **kw)
        self.retryable = retryable


class NotificationRejected(DomainError):
    """An incoming notification failed verification (signature, timestamp, format). Nothing is stored."""

    code = "notification_rejected"
    status = 400


@dataclass(frozen=True)
class IntentResult:
    reference: str  # the gateway's id for this payment (PaymentIntent id, out_trade_no, ...)
    action_url: str = ""  # where to send the shopper (hosted page), or a QR payload for code pay
    action_kind: str = "redirect"  # redirect | qr
    status: str = "pending"  # the payment status the intent is in right now (usually pending)


@dataclass(frozen=True)
class OperationResult:
    """Result of capture / void / refund at the gateway."""

    reference: str = ""
    status: str = "succeeded"  # succeeded | pending | failed
    failure: str = ""


@dataclass(frozen=True)
class Notification:
    """A verified gateway notification, in our terms."""

    event_id: str  # unique per gateway; the dedupe key
    kind: str  # the gateway's own event type, for the log
    reference: str = ""  # the gateway's payment reference (matches Payment.gateway_reference)
    order_number: str = ""  # when the gateway echoes our order number back
    target: str = ""  # the payment status this event moves to ("" = nothing to apply)
    amount_minor: int | None = None
    currency: str = ""
    occurred_at: datetime | None = None
    refund_reference: str = ""  # for refund events: our refund id as the gateway knows it
    refund_status: str = ""  # succeeded | failed
    raw: dict = field(default_factory=dict)


class Gateway(Protocol):
    code: str
    label: str

    def create_intent(self, *, payment, order, idempotency_key: str, return_url: str, notify_url: str) -> IntentResult: ...

    def capture(self, *, payment, amount_minor: int, idempotency_key: str) -> OperationResult: ...

    def void(self, *, payment, idempotency_key: str) -> OperationResult: ...

    def refund(self, *, payment, refund, amount_minor: int, idempotency_key: str) -> OperationResult: ...

    def parse_notification(self, *, body: bytes, headers: dict[str, str]) -> Notification:
        """Verify and parse one notification; raise NotificationRejected when it fails verification."""
        ...

    def acknowledge(self, *, ok: bool) -> tuple[int, str, str]:
        """The HTTP answer the gateway expects: (status, content type, body)."""
        ...
