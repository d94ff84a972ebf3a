"""Returns (RMA), exchanges and refund-only requests (merchant schema): the store's return policy, each
request with its lines, photos and events. The suborder line's `returned_qty` counts units accepted back."""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from returns.states import Inspection, ReturnKind, ReturnStatus


class ReturnPolicy(models.Model):
    """The store's return policy: one row (pk 1); absent, the operator's defaults apply (returns.policy)."""

    class Payer(models.TextChoices):
        SHOPPER = "shopper", "shopper"
        MERCHANT = "merchant", "merchant"

    window_days = models.PositiveIntegerField()  # after delivery; also the suborder's auto-complete window
    no_approval_reasons = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    return_shipping_payer = models.CharField(max_length=16, choices=Payer.choices)
    refund_requires_receipt = models.BooleanField()
    answer_days = models.PositiveIntegerField()  # the store answers within, or the request is approved
    ship_days = models.PositiveIntegerField()  # the shopper ships within, or the return closes
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")


class ReturnRequest(models.Model):
    number = models.CharField(max_length=48, unique=True)
    suborder = models.ForeignKey("suborders.SubOrder", on_delete=models.PROTECT, related_name="returns")
    order_id = models.BigIntegerField(db_index=True)  # public orders_order.id
    shopper_email = models.EmailField()
    kind = models.CharField(max_length=16, choices=ReturnKind.choices)
    status = models.CharField(max_length=32, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    reason_code = models.CharField(max_length=32)
    reason = models.CharField(max_length=500, blank=True, default="")
    decision_reason = models.CharField(max_length=300, blank=True, default="")  # why refused / approved
    inspection = models.CharField(max_length=24, choices=Inspection.choices, blank=True, default="")
    return_shipping_payer = models.CharField(max_length=16)  # the policy's, when requested
    answer_by = models.DateTimeField(null=True, blank=True)
    ship_by = models.DateTimeField(null=True, blank=True)
    return_carrier = models.CharField(max_length=60, blank=True, default="")
    return_tracking = models.CharField(max_length=60, blank=True, default="")
    replacement_tracking = models.CharField(max_length=60, blank=True, default="")
    refund_id = models.BigIntegerField(null=True, blank=True)  # payments.Refund (public)
    refund_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.number


class ReturnLine(models.Model):
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey("suborders.SubOrderLine", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    # Set at inspection (or 0 when the request ends without goods): what this line finally claims of the
    # delivered units. Null while open: the requested quantity is held.
    accepted_qty = models.PositiveIntegerField(null=True, blank=True)
    restocked_qty = models.PositiveIntegerField(default=0)
    written_off_qty = models.PositiveIntegerField(default=0)
    restock_warehouse_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="return_line_qty_positive"),
            models.CheckConstraint(condition=models.Q(accepted_qty__isnull=True) | models.Q(accepted_qty__lte=models.F("quantity")),
                                   name="return_line_accepted_le_qty"),
            models.UniqueConstraint(fields=["request", "line"], name="return_line_once"),
        ]


class ReturnPhoto(models.Model):
    """A shopper's photo, checked by content (PNG, JPEG or WebP decoded by Pillow) and size, kept in the DB."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="photos")
    content_type = models.CharField(max_length=32)
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]


class ReturnEvent(models.Model):
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=32, blank=True, default="")
    to_status = models.CharField(max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
