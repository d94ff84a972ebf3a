"""Merchant webhooks (in each merchant's schema): the endpoints a merchant registered, every delivery of an
event to one of them with what was sent and what came back, and each attempt of a delivery."""
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEndpoint(models.Model):
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    event_types = ArrayField(models.CharField(max_length=64), default=list)  # "*" = every event type
    # The signing secret. Stored as is: HMAC needs the key itself (a hash would not sign). Revealed only to
    # roles with webhooks.manage, each reveal audited. After a rotation the previous secret keeps signing
    # (a second v1= in the header) until previous_secret_expires_at, so a receiver can switch without a gap.
    secret = models.CharField(max_length=80)
    previous_secret = models.CharField(max_length=80, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)  # first failure of the current failing streak
    created_by_id = models.BigIntegerField(null=True, blank=True)  # permissions.User (public)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # not tried yet
        SENDING = "sending", _("Sending")  # claimed by a worker (committed before the HTTP call)
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed, will retry")
        DEAD = "dead", _("Gave up")

    class Kind(models.TextChoices):
        EVENT = "event", _("Event")
        TEST = "test", _("Test event")
        REDELIVERY = "redelivery", _("Redelivery")
        REPLAY = "replay", _("Replay")

    delivery_id = models.CharField(max_length=40, unique=True)  # the Mallard-Delivery header: stable across retries
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.EVENT)
    event_type = models.CharField(max_length=64)
    event_id = models.CharField(max_length=64)  # the same for every delivery of one event (redeliveries, replays)
    event_created_at = models.DateTimeField()  # when the event happened (replays select on it)
    aggregate_key = models.CharField(max_length=64, blank=True, default="")  # "suborder:12": ordered per endpoint+key
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()  # the exact JSON bytes sent, the same on every attempt
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField()  # no retry is scheduled after this (created_at + the retry window)
    request_headers = models.JSONField(default=dict, blank=True)  # as sent on the last attempt
    response_code = models.IntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")  # at most RESPONSE_KEEP_BYTES
    response_truncated = models.BooleanField(default=False)
    duration_ms = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # the dispatcher's due query: only open work is indexed
            models.Index(fields=["next_attempt_at", "id"], name="whd_due_idx",
                         condition=models.Q(status__in=["pending", "failed", "sending"])),
            # ordering per (endpoint, suborder): "is an earlier one still open?"
            models.Index(fields=["endpoint", "aggregate_key", "id"], name="whd_chain_idx",
                         condition=models.Q(status__in=["pending", "failed", "sending"])),
            models.Index(fields=["endpoint", "-id"], name="whd_endpoint_idx"),
            models.Index(fields=["endpoint", "event_created_at"], name="whd_endpoint_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.event_type}"

    @property
    def payload(self):
        import json

        return json.loads(self.body)


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery (the delivery keeps the last one's request and response)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    response_code = models.IntegerField(null=True, blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once")]
