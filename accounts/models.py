"""Shopper account tables (public schema): the address book."""
from django.conf import settings
from django.db import models
from django.utils import timezone


class Address(models.Model):
    """One saved shipping address of a shopper, in the shape of a checkout's `shipping_address`
    (orders.validation.ADDRESS_FIELDS) and checked the same way (accounts.regions). For China `region` is the
    province's ISO code (CN-SH), `city` and `district` the GB/T 2260 names and `division_code` the district's
    6-digit code. At most one address per shopper is the default (a partial unique index)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(max_length=40, blank=True, default="")  # "Home", "公司"
    name = models.CharField(max_length=100)
    phone = models.CharField(max_length=30)
    country = models.CharField(max_length=2)
    region = models.CharField(max_length=60, blank=True, default="")
    city = models.CharField(max_length=100)
    district = models.CharField(max_length=100, blank=True, default="")
    division_code = models.CharField(max_length=6, blank=True, default="")
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True, default="")
    postcode = models.CharField(max_length=20, blank=True, default="")
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user"], condition=models.Q(is_default=True),
                                               name="address_one_default_per_user")]
        indexes = [models.Index(fields=["user", "-is_default", "-updated_at"], name="address_user_idx")]
        ordering = ["-is_default", "-updated_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name}, {self.city} ({self.country})"

    SHIPPING_FIELDS = ("name", "phone", "line1", "line2", "city", "district", "region", "postcode", "country")

    def as_shipping_address(self) -> dict:
        return {k: getattr(self, k) for k in self.SHIPPING_FIELDS}
