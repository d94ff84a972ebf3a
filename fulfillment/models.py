"""Shipping rules, shipments and their tracking events (merchant schema)."""
from datetime import UTC, datetime

from django.db import models
from django.db.models.functions import Coalesce

# A parcel still on its way: neither delivered nor back with the sender (carriers.models.FINISHED_STATUSES).
OPEN_PARCEL = models.Q(delivered_at__isnull=True) & ~models.Q(status__in=("delivered", "returned"))
# The moment an exception counts from: any cutoff is after it, so "needs a look since < cutoff" is one range.
EXCEPTION_SINCE = datetime(1970, 1, 1, tzinfo=UTC)


def needs_look_since():
    """Since when an open parcel needs a look: always for a carrier exception (EXCEPTION_SINCE), else its
    newest scan (or its shipping, without one). Flagged = this is older than the stale cutoff; the partial
    index `shipment_needs_look_idx` has exactly this expression, so the flagged parcels are one index range."""
    return models.Case(models.When(status="exception", then=models.Value(EXCEPTION_SINCE)),
                       default=Coalesce("last_event_at", "shipped_at"), output_field=models.DateTimeField())


class ShippingRule(models.Model):
    """One shipping method a merchant offers. Price = flat + per started kg, free over an amount.

    `regions` empty = everywhere; otherwise the shipping address's region must be listed.
    """

    name = models.CharField(max_length=120)
    regions = models.JSONField(default=list, blank=True)
    flat_minor = models.BigIntegerField(default=0)
    per_kg_minor = models.BigIntegerField(default=0)
    free_over_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="CNY")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(flat_minor__gte=0, per_kg_minor__gte=0), name="shipping_rule_non_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class Shipment(models.Model):
    """One parcel group of a suborder, from one warehouse, with its lines, carrier and tracking."""

    class Status(models.TextChoices):
        SHIPPED = "shipped", "shipped"
        IN_TRANSIT = "in_transit", "in transit"
        OUT_FOR_DELIVERY = "out_for_delivery", "out for delivery"
        DELIVERED = "delivered", "delivered"
        EXCEPTION = "exception", "exception"
        RETURNED = "returned", "returned to sender"

    suborder = models.ForeignKey("suborders.SubOrder", on_delete=models.PROTECT, related_name="shipments")
    warehouse_id = models.BigIntegerField()
    carrier = models.CharField(max_length=20)
    service = models.CharField(max_length=60, blank=True, default="")
    tracking_number = models.CharField(max_length=40)
    weight_g = models.PositiveIntegerField(default=0)
    parcels = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SHIPPED)
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    estimated_delivery_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["carrier", "tracking_number"], name="shipment_tracking_once")]
        indexes = [models.Index(fields=["tracking_number"], name="shipment_tracking_idx"),
                   # flagged parcels (fulfillment.selectors.shipments_flagged) and the suborder list's flagged filter
                   models.Index(needs_look_since(), models.F("suborder_id"), name="shipment_needs_look_idx",
                                condition=OPEN_PARCEL)]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey("suborders.SubOrderLine", on_delete=models.PROTECT, related_name="shipment_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="shipment_line_positive")]


class TrackingEvent(models.Model):
    class Kind(models.TextChoices):
        ACCEPTED = "accepted", "accepted by the carrier"
        IN_TRANSIT = "in_transit", "in transit"
        OUT_FOR_DELIVERY = "out_for_delivery", "out for delivery"
        DELIVERED = "delivered", "delivered"
        EXCEPTION = "exception", "exception"
        RETURNED = "returned", "returned to sender"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    location = models.CharField(max_length=120, blank=True, default="")
    description = models.CharField(max_length=300, blank=True, default="")
    source = models.CharField(max_length=20, default="manual")  # manual | csv | webhook | kuaidi100 | shopper | system
    external_id = models.CharField(max_length=120, blank=True, default="")
    recorded_by_id = models.BigIntegerField(null=True, blank=True)  # the staff member who entered it (manual, csv)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["shipment", "external_id"], condition=~models.Q(external_id=""),
                                               name="tracking_event_once")]
