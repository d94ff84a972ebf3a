"""Platform-wide tables of the shared kernel: the transactional outbox."""
from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change it describes.

    Lives in `public` even when the change was made in a merchant schema: one table for
    the relay to sweep; `schema_name` says where the handler must run.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        DEAD = "dead", "dead letter"

    topic = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=60)
    aggregate_id = models.CharField(max_length=64)
    schema_name = models.CharField(max_length=63, default="public")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "available_at", "id"], name="outbox_due_idx",
                         condition=models.Q(status="pending")),
            models.Index(fields=["schema_name", "aggregate_type", "aggregate_id", "id"], name="outbox_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.aggregate_type}:{self.aggregate_id} ({self.status})"


class OutboxEffect(models.Model):
    """Idempotency record for handlers whose effect is outside the database (an email, a webhook).

    A handler claims `(event, handler)` before acting; a second delivery finds the claim.
    """

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="effects")
    handler = models.CharField(max_length=120)
    done_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "handler"], name="outbox_effect_once")]


class IdempotentRequest(models.Model):
    """The first answer to a write request with an Idempotency-Key, replayed for its retries."""

    scope = models.CharField(max_length=200)  # "user:<id>@<schema>"
    key = models.CharField(max_length=200)
    path = models.CharField(max_length=300)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotent_request_once")]
