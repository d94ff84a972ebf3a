"""Restock suggestions from the nightly forecast (reports/forecast.py), and each store's settings for them."""
from __future__ import annotations

from django.db import models


class RestockSetting(models.Model):
    """A store's purchasing settings: supplier lead time, safety stock, service level (public)."""

    merchant_id = models.BigIntegerField(unique=True)
    lead_time_days = models.PositiveIntegerField(default=7)
    safety_stock_days = models.PositiveIntegerField(default=3)
    service_level = models.DecimalField(max_digits=4, decimal_places=3, default=0.95)  # 0.5 .. 0.999
    horizon_days = models.PositiveIntegerField(default=42)  # 4-8 weeks


class RestockSuggestion(models.Model):
    """The latest forecast of one variant in one warehouse of a store, and what to buy or move (public)."""

    merchant_id = models.BigIntegerField(db_index=True)
    variant_id = models.BigIntegerField()
    warehouse_id = models.BigIntegerField()
    sku = models.CharField(max_length=64)
    warehouse_name = models.CharField(max_length=120)
    available = models.BigIntegerField(default=0)
    method = models.CharField(max_length=20)  # holt_winters | seasonal_naive (too little history)
    history = models.JSONField(default=list)  # last 8 weeks of daily units, oldest first
    forecast = models.JSONField(default=list)  # daily units from tomorrow
    baseline = models.JSONField(default=list)  # the same-weekday-last-week forecast
    history_start = models.DateField()
    model_smape = models.FloatField(null=True)
    baseline_smape = models.FloatField(null=True)
    model_mape = models.FloatField(null=True)
    baseline_mape = models.FloatField(null=True)
    days_until_stockout = models.IntegerField(null=True)  # None: not within the horizon
    reorder_qty = models.BigIntegerField(default=0)
    reorder_date = models.DateField(null=True)
    transfer_from_warehouse_id = models.BigIntegerField(null=True)
    transfer_qty = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["days_until_stockout", "sku"]
        constraints = [models.UniqueConstraint(fields=["merchant_id", "variant_id", "warehouse_id"],
                                               name="reports_restock_one_per_variant_wh")]
