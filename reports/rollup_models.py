"""Sales rollups in `public`, kept incrementally by reports.handlers from outbox events (see reports/rollups.py).

Every rollup is keyed by merchant and the mall's reporting day (DISPLAY_TIME_ZONE), so any period reads a
range of one index; operator pages read all merchants from the same tables in one query.
"""
from django.db import models


class SuborderFact(models.Model):
    """What one suborder contributes to the rollups, as last applied: the handler applies new − old."""

    merchant_id = models.BigIntegerField()
    suborder_id = models.BigIntegerField()
    fact = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant_id", "suborder_id"], name="reports_fact_uniq")]


class MerchantDayRollup(models.Model):
    merchant_id = models.BigIntegerField()
    day = models.DateField()
    currency = models.CharField(max_length=3)
    orders = models.BigIntegerField(default=0)  # paid suborders, on the day they were paid
    units = models.BigIntegerField(default=0)
    gmv_minor = models.BigIntegerField(default=0)  # suborder totals, on the day they were paid
    commission_minor = models.BigIntegerField(default=0)
    refunds_minor = models.BigIntegerField(default=0)  # on the day the refund succeeded
    refund_count = models.BigIntegerField(default=0)
    cancellations = models.BigIntegerField(default=0)  # paid suborders later cancelled or refused (on their sale day)
    accept_seconds = models.BigIntegerField(default=0)  # paid -> accepted, summed
    accept_count = models.BigIntegerField(default=0)
    ship_seconds = models.BigIntegerField(default=0)  # paid -> shipped, summed
    ship_count = models.BigIntegerField(default=0)
    late_count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant_id", "day", "currency"], name="reports_day_uniq")]
        indexes = [models.Index(fields=["day"], name="reports_day_day")]


class MerchantHourRollup(models.Model):
    merchant_id = models.BigIntegerField()
    day = models.DateField()
    hour = models.SmallIntegerField()
    currency = models.CharField(max_length=3)
    orders = models.BigIntegerField(default=0)
    gmv_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant_id", "day", "hour", "currency"], name="reports_hour_uniq")]


class MerchantRegionRollup(models.Model):
    merchant_id = models.BigIntegerField()
    day = models.DateField()
    province = models.CharField(max_length=60)
    currency = models.CharField(max_length=3)
    orders = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    gmv_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant_id", "day", "province", "currency"], name="reports_region_uniq")]


class MerchantValueBandRollup(models.Model):
    """Order value distribution: paid suborders per value band (reports.rollups.VALUE_BANDS)."""

    merchant_id = models.BigIntegerField()
    day = models.DateField()
    band = models.SmallIntegerField()
    currency = models.CharField(max_length=3)
    orders = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant_id", "day", "band", "currency"], name="reports_band_uniq")]


class MerchantProductDayRollup(models.Model):
    merchant_id = models.BigIntegerField()
    day = models.DateField()
    variant_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    sku = models.CharField(max_length=64, default="")
    name = models.CharField(max_length=300, default="")
    orders = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    gmv_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant_id", "day", "variant_id", "currency"], name="reports_product_uniq")]
