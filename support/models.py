"""Support tables (public schema): tickets and their messages, attachments, events and SLA clocks; stores'
support policies and canned replies; disputes and the operator's decisions.

Public rows name a suborder by (merchant_id, suborder_id) and a return by its plain id (DESIGN.md §2).
"""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from support.states import DisputeOutcome, Party, Priority, TicketStatus


class SupportPolicy(models.Model):
    """A store's support hours and SLA targets (none: the defaults of support.states and the fields below)."""

    merchant = models.OneToOneField("tenants.Merchant", on_delete=models.CASCADE, related_name="support_policy")
    time_zone = models.CharField(max_length=64, default="Asia/Shanghai")
    opens = models.TimeField(default="09:00")
    closes = models.TimeField(default="18:00")
    weekdays = ArrayField(models.PositiveSmallIntegerField(), default=list)  # Monday = 0; empty = Mon-Fri
    holidays = ArrayField(models.DateField(), default=list, blank=True)
    # priority -> [first response minutes, resolution minutes], business minutes; missing = support.states defaults
    targets = models.JSONField(default=dict, blank=True)
    reopen_days = models.PositiveIntegerField(default=7)
    updated_at = models.DateTimeField(default=timezone.now)


class Ticket(models.Model):
    Status = TicketStatus

    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="support_tickets")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.PROTECT, related_name="+")
    suborder_id = models.BigIntegerField(null=True, blank=True)  # with merchant: the suborder in its schema
    order_line = models.ForeignKey("orders.OrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    return_id = models.BigIntegerField(null=True, blank=True)  # a return request in the store's schema
    subject = models.CharField(max_length=200)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=24, choices=TicketStatus.choices, default=TicketStatus.OPEN)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # SLA clock: business seconds counted while the clock ran, up to `clock_started_at` (null: paused/stopped)
    first_response_target_s = models.PositiveIntegerField()
    resolution_target_s = models.PositiveIntegerField()
    clock_elapsed_s = models.PositiveIntegerField(default=0)
    clock_started_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_s = models.PositiveIntegerField(null=True, blank=True)  # business seconds to the first answer
    first_response_due_at = models.DateTimeField(null=True, blank=True)  # wall clock, while running
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    first_response_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    sla_next_check_at = models.DateTimeField(null=True, blank=True)  # the beat sweep's due time (indexed)
    # the operator's involvement: an SLA breach, or a shopper/store asking for the mall (a dispute)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_reason = models.CharField(max_length=40, blank=True, default="")
    operator_joined_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["sla_next_check_at"], name="ticket_sla_due_idx",
                         condition=models.Q(sla_next_check_at__isnull=False)),
            models.Index(fields=["merchant", "-last_message_at"], name="ticket_merchant_idx"),
            models.Index(fields=["shopper", "-last_message_at"], name="ticket_shopper_idx"),
            models.Index(fields=["escalated_at"], name="ticket_escalated_idx", condition=models.Q(escalated_at__isnull=False)),
            models.Index(fields=["merchant", "created_at"], name="ticket_merchant_created_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["shopper", "idempotency_key"], name="ticket_idempotency_once",
                                    condition=~models.Q(idempotency_key="")),
        ]

    @property
    def number(self) -> str:
        return f"T-{self.pk:06d}"

    @property
    def breached(self) -> bool:
        return bool(self.first_response_breached_at or self.resolution_breached_at)


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    party = models.CharField(max_length=10, choices=Party.choices)
    body = models.TextField()
    internal = models.BooleanField(default=False)  # a staff note: never shown to the shopper (pages, API, email)
    created_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "author", "idempotency_key"], name="ticket_message_idempotency_once",
                                    condition=~models.Q(idempotency_key="")),
        ]


class TicketAttachment(models.Model):
    """An image or PDF checked by its content, kept in the database (no outside host, no media volume)."""

    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()

    class Meta:
        ordering = ["id"]


class TicketEvent(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=40)  # opened, status, assigned, sla_warning, sla_breached, escalated, ...
    from_status = models.CharField(max_length=24, blank=True, default="")
    to_status = models.CharField(max_length=24, blank=True, default="")
    reason = models.CharField(max_length=300, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]


class CannedReply(models.Model):
    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=80)
    body = models.TextField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title"]
        constraints = [models.UniqueConstraint(fields=["merchant", "title"], name="canned_reply_title_once")]


class Dispute(models.Model):
    """A shopper or a store asks the mall to decide a ticket's problem. One per ticket."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        DECIDED = "decided", "decided"

    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="dispute")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_by_party = models.CharField(max_length=10, choices=Party.choices)
    reason = models.CharField(max_length=1000)
    requested_minor = models.BigIntegerField(default=0)  # what the opener asks back (0: not said)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="dispute_status_idx")]


class DisputeDecision(models.Model):
    """The operator's decision, carried to settlements: `bearer` says whose money the refund is
    (the refund's ledger entries are attributed to the store; `platform` means the mall pays it back)."""

    class Bearer(models.TextChoices):
        MERCHANT = "merchant", "merchant"
        PLATFORM = "platform", "platform"
        NONE = "none", "none"

    dispute = models.OneToOneField(Dispute, on_delete=models.PROTECT, related_name="decision")
    outcome = models.CharField(max_length=20, choices=DisputeOutcome.choices)
    bearer = models.CharField(max_length=10, choices=Bearer.choices)
    amount_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=1000)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    refund = models.OneToOneField("payments.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="dispute_decision")
    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.PROTECT, related_name="+")
    suborder_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["merchant", "decided_at"], name="dispute_decision_merchant_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gte=0), name="dispute_decision_amount_nonneg"),
            models.CheckConstraint(
                condition=(models.Q(outcome="refused", amount_minor=0, bearer="none")
                           | models.Q(outcome="merchant_refund", bearer="merchant", amount_minor__gt=0)
                           | models.Q(outcome="platform_refund", bearer="platform", amount_minor__gt=0)),
                name="dispute_decision_outcome_bearer"),
        ]
