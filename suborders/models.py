"""Per-merchant suborders (merchant schema): the merchant's share of a checkout order.

Public rows are referenced by plain ids (`order_id`, `order_line_id`): no foreign keys
from a merchant schema into another merchant's schema, and none from public into here.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone

from suborders.states import SubOrderStatus


class SubOrder(models.Model):
    number = models.CharField(max_length=40, unique=True)
    order_id = models.BigIntegerField(db_index=True)  # public orders_order.id
    order_number = models.CharField(max_length=32)
    shopper_email = models.EmailField()
    status = models.CharField(max_length=24, choices=SubOrderStatus.choices, default=SubOrderStatus.PENDING_PAYMENT)
    currency = models.CharField(max_length=3)
    warehouse_id = models.BigIntegerField()  # catalog.Warehouse in this schema
    warehouse_name = models.CharField(max_length=120)
    warehouse_reason = models.CharField(max_length=300, blank=True, default="")
    shipping_method = models.CharField(max_length=120, blank=True, default="")
    shipping_address = models.JSONField(default=dict)
    subtotal_minor = models.BigIntegerField()
    shipping_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)  # merchant- and platform-funded together
    platform_discount_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    accept_by = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class SubOrderLine(models.Model):
    suborder = models.ForeignKey(SubOrder, on_delete=models.CASCADE, related_name="lines")
    variant_id = models.BigIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    unit_price_minor = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    discount_minor = models.BigIntegerField(default=0)
    line_total_minor = models.BigIntegerField()  # unit × qty − discount

    @property
    def reservation_owner(self) -> str:
        return f"suborder_line:{self.pk}"


class SubOrderEvent(models.Model):
    """Audit of every status change: who, when, from, to, why."""

    suborder = models.ForeignKey(SubOrder, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=24, blank=True, default="")
    to_status = models.CharField(max_length=24)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
