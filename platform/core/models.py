"""Platform-wide tables of the shared kernel: the transactional outbox (events and their deliveries)."""
from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change it describes: the ordered log.

    Lives in `public` even when the change was made in a merchant schema: one table for the relay to
    sweep; `schema_name` says where subscribers run. `pending` until the relay routes it, i.e. writes
    one OutboxDelivery per subscriber of its topic; `routed` afterwards. Delivered history is swept
    after OUTBOX_RETENTION_DAYS (core.outbox.outbox_sweep_history).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        ROUTED = "routed", "routed"

    topic = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=60)
    aggregate_id = models.CharField(max_length=64)
    schema_name = models.CharField(max_length=63, default="public")
    payload = models.JSONField(default=dict)
    payload_version = models.PositiveSmallIntegerField(default=1, db_default=1)  # core.events: the topic's version
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    routed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # the relay's routing scan, and "an earlier event of this aggregate is not routed yet"
            models.Index(fields=["id"], name="outbox_unrouted_idx", condition=models.Q(status="pending")),
            models.Index(fields=["schema_name", "aggregate_type", "aggregate_id", "id"], name="outbox_unrouted_agg_idx",
                         condition=models.Q(status="pending")),
            models.Index(fields=["created_at"], name="outbox_routed_age_idx", condition=models.Q(status="routed")),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.aggregate_type}:{self.aggregate_id} ({self.status})"


class OutboxDelivery(models.Model):
    """One subscriber's delivery of one event, with its own attempts, backoff and dead letter.

    Deliveries of one subscriber are made in event order per aggregate: a delivery waits while an
    earlier one of the same (subscriber, aggregate) is pending or sending. A dead letter does not block.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"  # an outside effect is under way: claimed, committed, lease running
        DELIVERED = "delivered", "delivered"
        DEAD = "dead", "dead letter"

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=150)
    schema_name = models.CharField(max_length=63)  # copied from the event: the ordering check reads one table
    aggregate_type = models.CharField(max_length=60)
    aggregate_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "subscriber"], name="outbox_delivery_once")]
        indexes = [
            models.Index(fields=["id"], name="outbox_delivery_due_idx", condition=models.Q(status="pending")),
            models.Index(fields=["subscriber", "schema_name", "aggregate_type", "aggregate_id", "event"],
                         name="outbox_delivery_order_idx", condition=models.Q(status__in=["pending", "sending"])),
            models.Index(fields=["lease_until"], name="outbox_delivery_lease_idx", condition=models.Q(status="sending")),
            models.Index(fields=["id"], name="outbox_delivery_dead_idx", condition=models.Q(status="dead")),
        ]

    @property
    def key(self) -> str:
        """The stable id of this delivery's effect (see core.outbox.delivery_key)."""
        return f"evt{self.event_id}.{self.subscriber}"

    def __str__(self) -> str:
        return f"{self.subscriber} <- event {self.event_id} ({self.status})"


class OutboxEffect(models.Model):
    """A record a DB-only subscriber may keep of what it did for an event (the Celery probe does).

    Written in the relay transaction, so it commits with the delivery; outside effects use
    `external=True` subscribers and their stable delivery key instead.
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
