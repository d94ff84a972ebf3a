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
