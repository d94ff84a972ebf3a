"""Merchants as tenants: one PostgreSQL schema each, routed by host."""
from django.db import models
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin


class Merchant(TenantMixin):
    class Status(models.TextChoices):
        ACTIVE = "active", "active"
        SUSPENDED = "suspended", "suspended"

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    is_template = models.BooleanField(default=False)  # the schema cloned for new merchants
    default_currency = models.CharField(max_length=3, default="CNY")
    contact_email = models.EmailField(blank=True, default="")
    commission_bp = models.PositiveIntegerField(default=1000)  # basis points: 1000 = 10%
    created_at = models.DateTimeField(default=timezone.now)
    suspended_reason = models.CharField(max_length=300, blank=True, default="")
    # Order policies (operator defaults; the merchant may change them): deadlines of the suborder lifecycle.
    acceptance_hours = models.PositiveIntegerField(default=24)  # accept or refuse a paid suborder within this
    auto_accept = models.BooleanField(default=False)  # missed acceptance deadline: accept (True) or refuse and refund
    shipping_hours = models.PositiveIntegerField(default=48)  # ship within this after acceptance
    auto_receipt_days = models.PositiveIntegerField(default=10)  # shipped, no delivery event: delivered after this
    return_window_days = models.PositiveIntegerField(default=7)  # delivered: completes when this closes

    # Schemas are created by tenants.services (clone of the template), never on save().
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Domain(DomainMixin):
    pass
