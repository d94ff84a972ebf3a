"""Orders a store's staff enter for a customer (代客下单), while they are drafts (merchant schema).

A draft holds what the staff typed: variants and quantities of this store, the customer, the
shipping method and a discount with its reason. Confirming it places a checkout order through
orders.services.order_checkout (suborders.drafts.draft_confirm); the draft then names that order.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OrderDraftStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CONFIRMED = "confirmed", _("Confirmed")
    DISCARDED = "discarded", _("Discarded")


# The table is the law: suborders.drafts._transition is the only code that assigns OrderDraft.status.
DRAFT_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderDraftStatus.DRAFT: frozenset({OrderDraftStatus.CONFIRMED, OrderDraftStatus.DISCARDED}),
    OrderDraftStatus.CONFIRMED: frozenset(),
    OrderDraftStatus.DISCARDED: frozenset(),
}


class OrderDraft(models.Model):
    Status = OrderDraftStatus

    status = models.CharField(max_length=12, choices=OrderDraftStatus.choices, default=OrderDraftStatus.DRAFT)
    email = models.CharField(max_length=254, blank=True, default="")  # the customer's; "" until entered
    shipping_address = models.JSONField(default=dict, blank=True)  # orders.validation.clean_address shape, or {}
    shipping_rule_id = models.BigIntegerField(null=True, blank=True)  # fulfillment.ShippingRule here; None = cheapest
    currency = models.CharField(max_length=3, default="CNY")
    discount_minor = models.BigIntegerField(default=0)  # merchant-funded
    discount_reason = models.CharField(max_length=300, blank=True, default="")
    order_id = models.BigIntegerField(null=True, blank=True)  # public orders_order.id, once confirmed
    order_number = models.CharField(max_length=32, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    pay_link_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "suborders"
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "-id"], name="orderdraft_status_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(discount_minor__gte=0), name="orderdraft_discount_non_negative"),
            models.CheckConstraint(condition=~models.Q(status="confirmed") | models.Q(order_id__isnull=False),
                                   name="orderdraft_confirmed_has_order"),
        ]

    def __str__(self) -> str:
        return f"draft {self.pk} ({self.status})"


class OrderDraftLine(models.Model):
    draft = models.ForeignKey(OrderDraft, on_delete=models.CASCADE, related_name="lines")
    variant_id = models.BigIntegerField()  # catalog.Variant in this schema
    quantity = models.PositiveIntegerField()

    class Meta:
        app_label = "suborders"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "variant_id"], name="orderdraftline_variant_once"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="orderdraftline_quantity_positive"),
        ]
