"""Shopper cancellations after acceptance, and the store's private notes on its customers (merchant schema).

A CancellationRequest is the shopper asking a store to cancel accepted units that have not shipped; the
store approves (the units are cancelled through suborders.services.suborder_cancel_lines and refunded by
payments from the outbox) or refuses with a reason before `decide_by`, else the lifecycle sweep approves it.
suborders.cancellations._transition is the only code that assigns its status (CANCELLATION_TRANSITIONS).
"""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CancellationStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for the store")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


CANCELLATION_TRANSITIONS: dict[str, frozenset[str]] = {
    CancellationStatus.REQUESTED: frozenset({CancellationStatus.APPROVED, CancellationStatus.REFUSED}),
    CancellationStatus.APPROVED: frozenset(),
    CancellationStatus.REFUSED: frozenset(),
}


class CancellationRequest(models.Model):
    Status = CancellationStatus

    suborder = models.ForeignKey("suborders.SubOrder", on_delete=models.CASCADE, related_name="cancellation_requests")
    status = models.CharField(max_length=12, choices=CancellationStatus.choices, default=CancellationStatus.REQUESTED)
    lines = models.JSONField(default=list)  # [{"line": suborder line id, "sku": ..., "variant_id": ..., "quantity": n}]
    reason = models.CharField(max_length=300, blank=True, default="")  # the shopper's words
    shopper_email = models.EmailField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    decide_by = models.DateTimeField()  # auto-approved by the lifecycle sweep after this
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decision_reason = models.CharField(max_length=300, blank=True, default="")  # the store's reason for a refusal
    automatic = models.BooleanField(default=False)  # approved by the deadline sweep

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["suborder"], condition=models.Q(status="requested"),
                                               name="one_open_cancellation_per_suborder")]
        indexes = [models.Index(fields=["decide_by"], name="cancellation_pending_idx", condition=models.Q(status="requested"))]


class CustomerNote(models.Model):
    """A private note the store's staff keep on a shopper (by email, lower-case); never shown to the shopper."""

    email = models.EmailField(db_index=True)
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
