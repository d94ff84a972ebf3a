"""Public carrier tables: where each tracking number lives (so a carrier webhook finds its shipment
without visiting every merchant schema) and how long each carrier takes between regions."""
from django.db import models
from django.utils import timezone

# Shipment statuses (fulfillment.models.Shipment.Status) after which a parcel is never flagged.
FINISHED_STATUSES = ("delivered", "returned")


class TrackingIndex(models.Model):
    """One row per shipment of any merchant, written in the shipment's own transaction and kept in step
    with its tracking events (fulfillment.tracking publishes, carriers.services writes)."""

    class Flag(models.TextChoices):
        NONE = "", "—"
        EXCEPTION = "exception", "carrier exception"

    carrier = models.CharField(max_length=20)  # fulfillment.carriers code
    tracking_number = models.CharField(max_length=40)
    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.PROTECT, related_name="+")
    shipment_id = models.BigIntegerField()  # fulfillment.Shipment in the merchant's schema
    suborder_id = models.BigIntegerField()
    status = models.CharField(max_length=20, default="shipped")  # the shipment's status
    shipped_at = models.DateTimeField()
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_event = models.CharField(max_length=300, blank=True, default="")  # what the newest scan said, for the console
    estimated_delivery_at = models.DateTimeField(null=True, blank=True)
    flagged_reason = models.CharField(max_length=20, choices=Flag.choices, blank=True, default="")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "tracking index"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "tracking_number"], name="tracking_index_number_once"),
            models.UniqueConstraint(fields=["merchant", "shipment_id"], name="tracking_index_shipment_once"),
        ]
        indexes = [
            # The operator's flag list only ever looks at parcels still on their way.
            models.Index(fields=["last_event_at", "shipped_at"], name="tracking_index_open_idx",
                         condition=~models.Q(status__in=FINISHED_STATUSES)),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class TransitTime(models.Model):
    """How many days a carrier takes from one region to another; the operator edits it in the super-admin.

    A region is an ISO 3166-2 code (CN-SH), a country (CN: anywhere in it) or * (anywhere). The most
    specific row wins; a row for the shipment's service beats a row for any service (*).
    """

    carrier = models.CharField(max_length=20, help_text="Carrier code: sf, zto, yto, jd, ems, dhl, ups, fedex.")
    service = models.CharField(max_length=60, default="*", help_text="The shipment's service, or * for any.")
    from_region = models.CharField(max_length=32, default="*", help_text="Warehouse region: CN-SH, a country (CN) or *.")
    to_region = models.CharField(max_length=32, default="*", help_text="Recipient region: CN-BJ, a country (CN) or *.")
    days_min = models.PositiveSmallIntegerField(default=1, help_text="Fastest delivery, in days (shown as a range).")
    days = models.PositiveSmallIntegerField(help_text="Delivered by the end of this many days after shipping: the estimate.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["carrier", "service", "from_region", "to_region"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "service", "from_region", "to_region"], name="transit_time_once"),
            models.CheckConstraint(condition=models.Q(days__gte=1, days__lte=90, days_min__lte=models.F("days")),
                                   name="transit_time_days_sane"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier}/{self.service} {self.from_region}→{self.to_region}: {self.days_min}–{self.days} d"
