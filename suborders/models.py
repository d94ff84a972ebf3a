"""Per-merchant suborders (merchant schema): the merchant's share of a checkout order.

Public rows are referenced by plain ids (`order_id`, `order_line_id`): no foreign keys
from a merchant schema into another merchant's schema, and none from public into here.
"""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from guardian.models import UserObjectPermissionBase

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
    ship_by = models.DateTimeField(null=True, blank=True)
    auto_receipt_at = models.DateTimeField(null=True, blank=True)  # shipped, no delivery event by then: delivered
    complete_after = models.DateTimeField(null=True, blank=True)  # delivered: the return window closes then
    accepted_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    is_late = models.BooleanField(default=False, db_default=False)  # missed its shipping deadline
    version = models.PositiveIntegerField(default=1, db_default=1)  # bumped on every change; guards the mirror
    note = models.TextField(blank=True, default="", db_default="")  # the staff's own note (customer service)
    # The distinct SKUs of its lines, sorted: the SKU search reads them on the row (GIN index, or a walk of
    # the list newest first) instead of probing the lines of every suborder. Written with the lines
    # (suborders.sql, the only writer of lines); migration 0005 backfilled older rows.
    skus = ArrayField(models.CharField(max_length=64), default=list, db_default=[], blank=True)
    # Where the order was sold: "mallard" for the storefront and drafts; another channel (the merchant's
    # own shop, a marketplace) for imported orders, with that channel's order id (unique per channel).
    channel = models.CharField(max_length=32, default="mallard", db_default="mallard")
    external_order_id = models.CharField(max_length=100, blank=True, default="", db_default="")
    # Labels set by staff or automation rules, and a hold that keeps staff from acting until released.
    tags = ArrayField(models.CharField(max_length=40), default=list, db_default=[], blank=True)
    hold_reason = models.CharField(max_length=300, blank=True, default="", db_default="")
    held_at = models.DateTimeField(null=True, blank=True)
    # The full id (xid8, as a bigint) of the transaction that last wrote this row, stamped by the database
    # trigger of migration 0010 on every INSERT and UPDATE whoever writes it. The integration change feed
    # (suborders.change_feed) pages by (change_xid, id) and hands out only rows whose transaction is older
    # than every transaction still running, so a row committed late is never skipped. 0: before the feed.
    change_xid = models.BigIntegerField(default=0, db_default=0, editable=False)
    # The earliest deadline of an open shopper cancellation request (models_cancellations): mirrored to public
    # so the lifecycle sweep finds due requests once across all merchants.
    cancellation_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"]),
                   GinIndex(fields=["skus"], name="suborder_skus_gin"),  # built CONCURRENTLY by migration 0005
                   models.Index(fields=["updated_at", "id"], name="suborder_changed_idx"),
                   models.Index(fields=["change_xid", "id"], name="suborder_change_xid_idx")]  # the change feed
        constraints = [models.UniqueConstraint(fields=["channel", "external_order_id"], name="suborder_channel_external_uniq",
                                               condition=~models.Q(external_order_id=""))]
        ordering = ["-id"]
        permissions = [("handle_suborder", "Handle this suborder (customer service)")]

    def __str__(self) -> str:
        return self.number


class SubOrderUserObjectPermission(UserObjectPermissionBase):
    """django-guardian's direct foreign-key table for suborders (merchant schema): the customer-service
    agent a suborder is assigned to. An agent whose membership says `assigned_only` sees only these."""

    content_object = models.ForeignKey(SubOrder, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class SubOrderLine(models.Model):
    suborder = models.ForeignKey(SubOrder, on_delete=models.CASCADE, related_name="lines")
    variant_id = models.BigIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    unit_price_minor = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    discount_minor = models.BigIntegerField(default=0)
    line_total_minor = models.BigIntegerField()  # unit × qty − discount
    # Per-line lifecycle. Units are undecided, accepted, refused or cancelled (accepted units cancelled
    # before shipping move from accepted to cancelled); shipped ⊆ accepted, delivered ⊆ shipped.
    accepted_qty = models.PositiveIntegerField(default=0, db_default=0)
    refused_qty = models.PositiveIntegerField(default=0, db_default=0)
    cancelled_qty = models.PositiveIntegerField(default=0, db_default=0)
    shipped_qty = models.PositiveIntegerField(default=0, db_default=0)
    delivered_qty = models.PositiveIntegerField(default=0, db_default=0)
    returned_qty = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(accepted_qty__lte=models.F("quantity") - models.F("refused_qty") - models.F("cancelled_qty")),
                                   name="line_decided_le_ordered"),
            models.CheckConstraint(condition=models.Q(shipped_qty__lte=models.F("accepted_qty")), name="line_shipped_le_accepted"),
            models.CheckConstraint(condition=models.Q(delivered_qty__lte=models.F("shipped_qty")), name="line_delivered_le_shipped"),
            models.CheckConstraint(condition=models.Q(returned_qty__lte=models.F("delivered_qty")), name="line_returned_le_delivered"),
        ]

    @property
    def undecided_qty(self) -> int:
        return self.quantity - self.accepted_qty - self.refused_qty - self.cancelled_qty

    @property
    def to_ship_qty(self) -> int:
        return self.accepted_qty - self.shipped_qty

    @property
    def reservation_owner(self) -> str:
        return f"suborder_line:{self.pk}"


class SubOrderEvent(models.Model):
    """Audit of every change: who, when, what (action), from, to, which lines and quantities, why."""

    suborder = models.ForeignKey(SubOrder, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=32, blank=True, default="", db_default="")
    from_status = models.CharField(max_length=24, blank=True, default="")
    to_status = models.CharField(max_length=24)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lines = models.JSONField(default=list, blank=True, db_default=[])  # [{"line": id, "sku": ..., "quantity": n}]
    reason_code = models.CharField(max_length=32, blank=True, default="", db_default="")
    reason = models.CharField(max_length=300, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]


from suborders.models_cancellations import CancellationRequest, CustomerNote  # noqa: E402, F401  after-sales
from suborders.models_drafts import OrderDraft, OrderDraftLine  # noqa: E402, F401  orders entered by staff
