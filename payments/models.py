"""Payments (public schema): one Payment per checkout order, its audit events, the raw gateway
notifications, refunds with their lines, the operator's gateway settings, and the append-only ledger.

Public rows name a suborder by (merchant_id, suborder_id); nothing here points into a merchant schema.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone

from payments.states import PaymentStatus, RefundStatus


class Payment(models.Model):
    Status = PaymentStatus

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="payment")
    gateway = models.CharField(max_length=20, default="sandbox")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    gateway_reference = models.CharField(max_length=120, blank=True, default="")  # the intent / trade id
    action_url = models.CharField(max_length=2000, blank=True, default="")  # hosted page or QR payload
    intent_claimed_at = models.DateTimeField(null=True, blank=True)  # one request creates the intent
    intent_attempts = models.PositiveIntegerField(default=0, db_default=0)  # new intents after a switch or decline
    capture_policy = models.CharField(max_length=12, default="immediate")  # immediate | on_accept
    authorized_minor = models.BigIntegerField(default=0)
    authorized_until = models.DateTimeField(null=True, blank=True)
    captured_minor = models.BigIntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)
    last_gateway_event_at = models.DateTimeField(null=True, blank=True)  # orders non-money notifications
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(captured_minor__lte=models.F("amount_minor")), name="payment_capture_le_amount"),
            models.CheckConstraint(condition=models.Q(refunded_minor__gte=0) & models.Q(refunded_minor__lte=models.F("captured_minor")),
                                   name="payment_refund_le_captured"),
        ]
        indexes = [
            models.Index(fields=["gateway", "gateway_reference"], name="payment_gateway_ref_idx"),
            models.Index(fields=["authorized_until"], name="payment_auth_lapse_idx",
                         condition=models.Q(status="authorized")),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"payment {self.pk} ({self.status})"

    @property
    def idempotency_base(self) -> str:
        """Gateway idempotency keys derive from our id: a retry never creates a second intent."""
        return f"mallard-pay-{self.pk}"

    @property
    def refundable_minor(self) -> int:
        return self.captured_minor - self.refunded_minor


class PaymentEvent(models.Model):
    """Audit of every payment status change: actor or gateway event, from, to, amount."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20)
    amount_minor = models.BigIntegerField(default=0)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    gateway_event_id = models.CharField(max_length=120, blank=True, default="")
    reason = models.CharField(max_length=300, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]


class GatewayEvent(models.Model):
    """One incoming gateway notification, stored once by (gateway, event id), with its processing result."""

    class Result(models.TextChoices):
        RECEIVED = "received", "received"
        APPLIED = "applied", "applied"
        NO_CHANGE = "no_change", "no change (already in that state)"
        LATE_REFUNDED = "late_refunded", "paid after expiry: refunded"
        UNKNOWN_ORDER = "unknown_order", "unknown order"
        MISMATCH = "mismatch", "amount or currency mismatch"
        FAILED = "failed", "failed"

    gateway = models.CharField(max_length=20)
    event_id = models.CharField(max_length=120)
    kind = models.CharField(max_length=60, blank=True, default="")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="gateway_events")
    reference = models.CharField(max_length=120, blank=True, default="")
    body = models.TextField()
    headers = models.JSONField(default=dict)
    parsed = models.JSONField(default=dict)
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.RECEIVED)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=64, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="gateway_event_once")]
        ordering = ["-id"]


class Refund(models.Model):
    Status = RefundStatus

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.PROTECT, related_name="+")
    suborder_id = models.BigIntegerField()
    amount_minor = models.BigIntegerField()  # lines + shipping + custom
    shipping_minor = models.BigIntegerField(default=0)
    custom_minor = models.BigIntegerField(default=0)  # an amount not tied to a line (goodwill)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300)
    restock = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    gateway_reference = models.CharField(max_length=120, blank=True, default="")
    failure = models.CharField(max_length=300, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    idempotency_scope = models.CharField(max_length=200, blank=True, default="")
    idempotency_key = models.CharField(max_length=200, blank=True, default="")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="refund_positive"),
            models.UniqueConstraint(fields=["idempotency_scope", "idempotency_key"], name="refund_idempotency_once",
                                    condition=~models.Q(idempotency_key="")),
        ]
        indexes = [models.Index(fields=["merchant", "suborder_id"], name="refund_suborder_idx")]
        ordering = ["-id"]

    @property
    def idempotency_base(self) -> str:
        return f"mallard-refund-{self.pk}-{self.attempts}"


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="refund_lines")
    quantity = models.PositiveIntegerField()
    amount_minor = models.BigIntegerField()

    class Meta:
        ordering = ["id"]


class RefundEvent(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, blank=True, default="")
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]


class PaymentSettings(models.Model):
    """The operator's choices (one row): which gateways the storefront offers and when to capture."""

    CAPTURE_CHOICES = [("immediate", "capture at once"), ("on_accept", "authorize; capture when the first suborder is accepted")]
    enabled_gateways = models.JSONField(default=list)  # codes, in display order
    capture_policy = models.CharField(max_length=12, choices=CAPTURE_CHOICES, default="immediate")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")


class LedgerEntry(models.Model):
    """Append-only money log (the database refuses UPDATE and DELETE). Positive = money in."""

    class Kind(models.TextChoices):
        CAPTURED = "captured", "captured"
        REFUNDED = "refunded", "refunded"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="ledger_entries")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="ledger_entries")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    merchant = models.ForeignKey("tenants.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    suborder_id = models.BigIntegerField(null=True, blank=True)
    order_line = models.ForeignKey("orders.OrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    component = models.CharField(max_length=12, default="line")  # line | shipping | custom
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    commission_bp = models.PositiveIntegerField(default=0)  # the line's snapshot, for settlements
    commission_minor = models.BigIntegerField(default=0)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["merchant", "suborder_id"], name="ledger_suborder_idx")]
        ordering = ["id"]
