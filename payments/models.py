"""Payments (public): one charge per checkout order. Gateways, refunds and the ledger come later."""
from django.db import models
from django.utils import timezone


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        CAPTURED = "captured", "captured"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="payment")
    gateway = models.CharField(max_length=20, default="sandbox")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    gateway_reference = models.CharField(max_length=120, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
