"""Carts, checkout orders and their lines, vouchers, and the public mirror of every suborder (public schema).

A public row names a suborder by (merchant_id, suborder_id); the order's status is derived
from its suborders and its payment (orders.selectors.order_status), never stored twice.
"""
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Cart(models.Model):
    token = models.UUIDField(default=uuid.uuid4, unique=True)  # guests' carts live in their session by token
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="carts")
    currency = models.CharField(max_length=3, default="CNY")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    checked_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shopper"], condition=models.Q(checked_out_at__isnull=True, shopper__isnull=False),
                                    name="one_open_cart_per_shopper"),
        ]


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.CASCADE, related_name="+")
    variant_id = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    unit_price_seen_minor = models.BigIntegerField()  # the price the shopper saw; checkout refuses if it changed
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cart", "merchant", "variant_id"], name="cart_line_once")]
        ordering = ["merchant_id", "id"]


class Voucher(models.Model):
    class Kind(models.TextChoices):
        FIXED = "fixed", "fixed amount"
        PERCENT = "percent", "percentage"

    code = models.CharField(max_length=40, unique=True)
    merchant = models.ForeignKey("tenants.Merchant", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                 help_text="Merchant-funded voucher for this store only; empty = platform-funded, whole order")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount_minor = models.BigIntegerField(default=0)  # FIXED
    percent_bp = models.PositiveIntegerField(default=0)  # PERCENT, basis points (1500 = 15%)
    currency = models.CharField(max_length=3, default="CNY")
    min_spend_minor = models.BigIntegerField(default=0)
    per_shopper_limit = models.PositiveIntegerField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    redeemed_count = models.PositiveIntegerField(default=0)
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    # A merchant voucher only for shoppers the store tagged so (automation.CustomerTag), e.g. "vip".
    customer_tag = models.CharField(max_length=40, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(max_redemptions__isnull=True) | models.Q(redeemed_count__lte=models.F("max_redemptions")),
                                   name="voucher_never_over_redeemed"),
        ]

    def __str__(self) -> str:
        return self.code


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True)
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    email = models.EmailField()
    currency = models.CharField(max_length=3)
    subtotal_minor = models.BigIntegerField()
    shipping_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField()
    total_minor = models.BigIntegerField()
    shipping_address = models.JSONField()
    voucher = models.ForeignKey(Voucher, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    idempotency_scope = models.CharField(max_length=200)  # "user:<id>" or "guest:<email>"
    idempotency_key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()  # unpaid orders are cancelled after this
    expired_at = models.DateTimeField(null=True, blank=True)  # set by the expiry sweep
    # Where it was sold: "mallard" (storefront, drafts) or the channel an import brought it from, with that
    # channel's order id. An import's idempotency scope is "import:<channel>:<store id or mall>" and its key
    # the external id, so order_idempotency_once makes one order per external order (imports.services).
    channel = models.CharField(max_length=32, default="mallard", db_default="mallard")
    external_order_id = models.CharField(max_length=100, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["idempotency_scope", "idempotency_key"], name="order_idempotency_once"),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="order_unpaid_due_idx", condition=models.Q(expired_at__isnull=True)),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.PROTECT, related_name="+")
    variant_id = models.BigIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    unit_price_minor = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    discount_minor = models.BigIntegerField(default=0)
    line_total_minor = models.BigIntegerField()
    commission_bp = models.PositiveIntegerField()  # snapshot of the merchant's rate at checkout
    commission_minor = models.BigIntegerField()
    suborder_id = models.BigIntegerField(null=True)  # (merchant_id, suborder_id) names the suborder

    class Meta:
        ordering = ["id"]


class SubOrderMirror(models.Model):
    """Read copy of each suborder's status and totals for shopper and operator lists."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="suborders")
    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.PROTECT, related_name="+")
    suborder_id = models.BigIntegerField()
    number = models.CharField(max_length=40)
    status = models.CharField(max_length=24)
    warehouse_name = models.CharField(max_length=120)
    shipping_method = models.CharField(max_length=120, blank=True, default="")
    subtotal_minor = models.BigIntegerField()
    shipping_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField()
    total_minor = models.BigIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)
    # What sweeps, shopper and operator lists need, kept from the merchant side (orders.services.mirror).
    accept_by = models.DateTimeField(null=True, blank=True)
    ship_by = models.DateTimeField(null=True, blank=True)
    auto_receipt_at = models.DateTimeField(null=True, blank=True)
    complete_after = models.DateTimeField(null=True, blank=True)
    shipped_minor = models.BigIntegerField(default=0, db_default=0)  # value of the units shipped
    is_late = models.BooleanField(default=False, db_default=False)
    version = models.PositiveIntegerField(default=1, db_default=1)  # an older snapshot never overwrites a newer one
    cancellation_due_at = models.DateTimeField(null=True, blank=True)  # an open shopper cancellation request's deadline

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "suborder_id"], name="mirror_once_per_suborder")]
        indexes = [
            models.Index(fields=["accept_by"], name="mirror_accept_due_idx", condition=models.Q(status="awaiting_acceptance")),
            models.Index(fields=["ship_by"], name="mirror_ship_due_idx", condition=models.Q(status="accepted", is_late=False)),
            models.Index(fields=["auto_receipt_at"], name="mirror_receipt_due_idx", condition=models.Q(status__in=["shipped", "partially_shipped"])),
            models.Index(fields=["complete_after"], name="mirror_complete_due_idx", condition=models.Q(status="delivered")),
            models.Index(fields=["cancellation_due_at"], name="mirror_cancellation_due_idx",
                         condition=models.Q(cancellation_due_at__isnull=False)),
        ]
        ordering = ["id"]


class VoucherRedemption(models.Model):
    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="voucher_redemption")
    shopper_key = models.CharField(max_length=200)  # same as the order's idempotency scope
    discount_minor = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)  # expired/cancelled order gives the use back

    class Meta:
        indexes = [models.Index(fields=["voucher", "shopper_key"])]
