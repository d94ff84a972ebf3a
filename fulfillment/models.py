"""Shipping rules per merchant (merchant schema). Shipments and tracking come with their own issue."""
from django.db import models


class ShippingRule(models.Model):
    """One shipping method a merchant offers. Price = flat + per started kg, free over an amount.

    `regions` empty = everywhere; otherwise the shipping address's region must be listed.
    """

    name = models.CharField(max_length=120)
    regions = models.JSONField(default=list, blank=True)
    flat_minor = models.BigIntegerField(default=0)
    per_kg_minor = models.BigIntegerField(default=0)
    free_over_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="CNY")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(flat_minor__gte=0, per_kg_minor__gte=0), name="shipping_rule_non_negative"),
        ]

    def __str__(self) -> str:
        return self.name
