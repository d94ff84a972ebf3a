"""Catalog and stock tables of one merchant (tenant app): products, variants, warehouses,
stock levels, the append-only stock movement journal and reservations."""
import uuid

from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase


class Category(models.Model):
    name = models.CharField(max_length=120)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "parent", name="catalog_category_name_once",
                                    nulls_distinct=False),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DRAFT = "draft", _("Draft")

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    # [["Material", "Nylon"], ["Weight", "1.2 kg"]]: ordered label/value pairs shown on the product page
    specifications = models.JSONField(default=list, blank=True, db_default=models.Value([], models.JSONField()))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # prefix search (istartswith → UPPER(name) LIKE 'X%') on 100k products
            models.Index(OpClass(Upper("name"), name="varchar_pattern_ops"), name="catalog_product_uname_idx"),
            models.Index(fields=["status", "id"], name="catalog_product_status_idx"),
            models.Index(fields=["category", "id"], name="catalog_product_cat_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    options = models.JSONField(default=dict, blank=True)  # {"size": "M", "colour": "red"}
    name_suffix = models.CharField(max_length=120, blank=True, default="")
    price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="CNY")
    weight_g = models.PositiveIntegerField(default=0)
    barcode = models.CharField(max_length=64, blank=True, default="")
    image_url = models.URLField(max_length=500, blank=True, default="")
    is_active = models.BooleanField(default=True)
    low_stock_threshold = models.PositiveIntegerField(default=5)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(price_minor__gte=0), name="catalog_variant_price_nonneg")]
        indexes = [
            models.Index(OpClass(Upper("sku"), name="varchar_pattern_ops"), name="catalog_variant_usku_idx"),
            models.Index(fields=["product", "id"], name="catalog_variant_product_idx"),
            models.Index(fields=["barcode"], name="catalog_variant_barcode_idx", condition=~Q(barcode="")),
        ]

    def __str__(self) -> str:
        return self.sku

    @property
    def display_name(self) -> str:
        return f"{self.product.name} {self.name_suffix}".strip()


class ProductImage(models.Model):
    """A picture of a product, stored through Django's storage API (catalog.images) under
    merchants/<slug>/products/<product id>/: the full image (at most 1600 px) and a square-ish thumbnail."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    path = models.CharField(max_length=300)  # storage name of the (resized) full image
    thumb_path = models.CharField(max_length=300)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    alt = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["product", "position", "id"], name="catalog_image_product_idx")]

    def __str__(self) -> str:
        return self.path


class Warehouse(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    address = models.TextField(blank=True, default="")
    region = models.CharField(max_length=32, blank=True, default="")  # province / ISO 3166-2 code
    priority = models.IntegerField(default=100)  # lower = preferred when picking where to ship from
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["priority", "id"]
        permissions = [("work_in_warehouse", "Work in this warehouse (ship from it, see its stock)")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class WarehouseUserObjectPermission(UserObjectPermissionBase):
    """django-guardian's direct foreign-key table for warehouses (in the merchant's schema): an owner
    limits a warehouse user to the warehouses granted here (catalog.selectors.warehouse_scope_for)."""

    content_object = models.ForeignKey(Warehouse, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class StockLevel(models.Model):
    """Current stock of one variant in one warehouse. Always equals the sum of its movements."""

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    low_alerted = models.BooleanField(default=False)  # a low-stock alert went out for the current dip
    # Where the variant sits in this warehouse ("A-03-2"): per (variant, warehouse), since one SKU
    # has a different bin in each warehouse. Pick lists are sorted by it; blank = not yet assigned.
    bin_location = models.CharField(max_length=32, blank=True, default="", db_default="")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["variant_id", "warehouse_id"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "warehouse"], name="catalog_stocklevel_once"),
            # available = on_hand - reserved can never go negative, whatever code runs
            models.CheckConstraint(condition=Q(reserved__gte=0), name="catalog_stocklevel_reserved_nonneg"),
            models.CheckConstraint(condition=Q(on_hand__gte=models.F("reserved")), name="catalog_stocklevel_available_nonneg"),
        ]
        indexes = [
            models.Index(fields=["warehouse", "variant"], name="catalog_stocklevel_wh_idx"),
            models.Index(fields=["low_alerted"], name="catalog_stocklevel_low_idx", condition=Q(low_alerted=True)),
        ]

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """Append-only journal: every change of on_hand or reserved is one row."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        ADJUSTMENT = "adjustment", _("Adjustment")
        RESERVATION = "reservation", _("Reservation")
        RELEASE = "release", _("Release")
        SHIPMENT = "shipment", _("Shipment")
        RETURN = "return", _("Return")
        STOCKTAKE = "stocktake", _("Stocktake")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="movements")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="movements")
    on_hand_delta = models.BigIntegerField(default=0)
    reserved_delta = models.BigIntegerField(default=0)
    # a user in the public schema; a plain id so deleting users never reaches into merchant schemas
    actor_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, default="")
    reference = models.CharField(max_length=120, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["variant", "warehouse", "id"], name="catalog_movement_level_idx"),
            models.Index(fields=["reference"], name="catalog_movement_ref_idx", condition=~Q(reference="")),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("stock movements are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("stock movements are append-only")


class StockReservation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")
        COMMITTED = "committed", _("Committed")
        EXPIRED = "expired", _("Expired")

    owner = models.CharField(max_length=120)  # "suborder_line:42"
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="reservations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    shipped_quantity = models.PositiveIntegerField(default=0)  # committed to shipments so far
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="catalog_reservation_qty_pos"),
            models.CheckConstraint(condition=Q(shipped_quantity__lte=models.F("quantity")),
                                   name="catalog_reservation_shipped_lte_qty"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="catalog_reservation_due_idx"),
            models.Index(fields=["owner", "status"], name="catalog_reservation_owner_idx"),
            models.Index(fields=["variant", "warehouse"], name="catalog_reservation_level_idx"),
        ]

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.shipped_quantity


class ImportJob(models.Model):
    """One bulk CSV/XLSX import of this merchant (catalog.bulk): its status, progress and errors.

    The uploaded file itself is NOT stored here: it can be 20 MB, so it stays on disk under
    var/imports/<schema>/<job id> (MALLARD_IMPORT_DIR; a shared volume when there are several
    hosts) until the job is applied.
    """

    class Kind(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        VALIDATING = "validating", _("Validating")
        READY = "ready", _("Ready to apply")
        APPLYING = "applying", _("Applying")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # unguessable in URLs
    kind = models.CharField(max_length=4, choices=Kind.choices, blank=True, default="")  # "" = not a table
    filename = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALIDATING)
    phase = models.CharField(max_length=20, blank=True, default="")  # what applying is doing now
    total_rows = models.IntegerField(default=0)
    processed_rows = models.IntegerField(default=0)
    error_count = models.IntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{row, column, reason}], first ERRORS_CAP only
    summary = models.JSONField(default=dict, blank=True)  # preview counts (new/updated variants, …)
    result = models.JSONField(default=dict, blank=True)  # counts written when done
    message = models.TextField(blank=True, default="")  # why a job failed outside row validation
    created_by_id = models.BigIntegerField(null=True, blank=True)  # public user id (no cross-schema FK)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
