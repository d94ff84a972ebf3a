"""The public storefront listing index: one row per listed variant of every merchant.

Kept current by the `catalog.listing_changed` outbox handler (storefront.handlers); shoppers'
pages read only this table, never the merchant schemas.
"""
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StockState(models.TextChoices):
    IN_STOCK = "in_stock", _("In stock")
    LOW = "low", _("Low stock")
    OUT = "out", _("Out of stock")


class ListingEntry(models.Model):
    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.CASCADE, related_name="listing_entries")
    variant_id = models.BigIntegerField()
    product_id = models.BigIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    options = models.JSONField(default=dict, blank=True)
    store_name = models.CharField(max_length=120)
    category = models.CharField(max_length=120, blank=True, default="")
    price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    image_url = models.URLField(max_length=500, blank=True, default="")
    available = models.IntegerField(default=0)
    stock_state = models.CharField(max_length=10, choices=StockState.choices, default=StockState.OUT)
    is_listed = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "variant_id"], name="listing_entry_one_per_variant"),
        ]
        indexes = [
            # Django's icontains is UPPER(name) LIKE UPPER('%term%'): this trigram index on
            # UPPER(name) serves it across all stores.
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="listing_name_trgm"),
            models.Index(fields=["name", "id"], name="listing_name_order",
                         condition=models.Q(is_listed=True)),
            models.Index(fields=["merchant", "category", "name"], name="listing_merchant_category"),
            models.Index(fields=["category", "name"], name="listing_category"),
            models.Index(fields=["merchant", "product_id"], name="listing_product"),
        ]

    def __str__(self) -> str:
        return f"{self.store_name}: {self.name} ({self.sku})"


class ListingProduct(models.Model):
    """One row per listed product (what a shopper's card and search show), next to the per-variant rows.

    Kept by the same outbox handler as ListingEntry (storefront.services.listing_sync), in the same
    transaction: the aggregates (price range, stock state) are recomputed from the product's variant
    rows each time, never incremented. A read model: it may be rebuilt from the catalogs at any time
    (listing_rebuild), and the benchmark fills it directly with COPY.
    """

    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.CASCADE, related_name="listing_products")
    product_id = models.BigIntegerField()
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    specifications = models.JSONField(default=list, blank=True)  # [[label, value], ...]
    store_name = models.CharField(max_length=120)
    category = models.CharField(max_length=120, blank=True, default="")
    min_price_minor = models.BigIntegerField()
    max_price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    variant_count = models.IntegerField(default=1)
    available = models.IntegerField(default=0)
    stock_state = models.CharField(max_length=10, choices=StockState.choices, default=StockState.OUT)
    in_stock = models.BooleanField(default=False)  # stock_state != out: the "in stock only" filter
    # [{"full": storage name, "thumb": storage name, "alt": ""}]; URLs are resolved at render time so
    # a storage with expiring signed URLs still works.
    images = models.JSONField(default=list, blank=True)
    image_url = models.URLField(max_length=500, blank=True, default="")  # a variant's external picture, if no upload
    sold_count = models.IntegerField(default=0)  # units ordered (best-selling sort)
    listed_at = models.DateTimeField(default=timezone.now)  # the product's creation: "newest" sort
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "product_id"], name="listing_product_once"),
        ]
        indexes = [
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="listing_product_name_trgm"),
            # one index per sort order, so "first page sorted by X" is an index scan with a LIMIT
            models.Index(fields=["min_price_minor", "id"], name="listing_product_price"),
            models.Index(fields=["-listed_at", "-id"], name="listing_product_newest"),
            models.Index(fields=["-sold_count", "-id"], name="listing_product_sold"),
            models.Index(fields=["merchant", "-sold_count", "-id"], name="listing_product_store_sold"),
            models.Index(fields=["category", "min_price_minor"], name="listing_product_category"),
        ]

    def __str__(self) -> str:
        return f"{self.store_name}: {self.name}"
