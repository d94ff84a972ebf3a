"""The nightly restock run: per merchant, daily units sold per variant × warehouse (its own schema), the
forecast of each (reports/forecast.py), what to reorder and when, transfers between its warehouses; the
results replace that merchant's RestockSuggestion rows in `public` in one transaction.

Beat sends `restock_all`, which queues one `restock_merchant` task per merchant (carrying its schema):
one merchant's failure is logged and retried on its own, never stopping the others.
"""
from __future__ import annotations

import datetime as dt
import logging
import math

from celery import shared_task
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.tenancy import in_merchant_schema, in_public_schema
from reports.forecast import forecast_series, restock_plan, transfers
from reports.forecast_models import RestockSetting, RestockSuggestion

log = logging.getLogger(__name__)

HISTORY_DAYS = 2 * 365
COUNTED = ("awaiting_acceptance", "accepted", "partially_shipped", "shipped", "delivered", "completed")


def restock_setting(merchant_id: int) -> RestockSetting:
    with in_public_schema():
        return RestockSetting.objects.filter(merchant_id=merchant_id).first() or RestockSetting(merchant_id=merchant_id)


def daily_sales(*, today: dt.date, days: int = HISTORY_DAYS) -> dict[tuple[int, int], dict[dt.date, int]]:
    """{(variant_id, warehouse_id): {day: units}} of this schema's suborders since `days` ago (units
    ordered less refused and cancelled; unpaid and cancelled suborders not counted)."""
    from suborders.models import SubOrderLine

    since = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=days), dt.time()))
    rows = (SubOrderLine.objects.filter(suborder__created_at__gte=since, suborder__status__in=COUNTED)
            .annotate(day=TruncDate("suborder__created_at"), wh=F("suborder__warehouse_id"))
            .values("variant_id", "wh", "day")
            .annotate(units=Sum(F("quantity") - F("refused_qty") - F("cancelled_qty"))))
    out: dict[tuple[int, int], dict[dt.date, int]] = {}
    for r in rows.order_by():
        out.setdefault((r["variant_id"], r["wh"]), {})[r["day"]] = int(r["units"] or 0)
    return out


def merchant_restock(merchant, *, today: dt.date | None = None) -> int:
    """Recompute and store `merchant`'s suggestions; returns how many variant × warehouse rows."""
    from catalog.models import StockLevel

    today = today or timezone.localdate()
    setting = restock_setting(merchant.pk)
    horizon = max(28, min(56, setting.horizon_days))
    with in_merchant_schema(merchant):
        sales = daily_sales(today=today)
        levels = {(s.variant_id, s.warehouse_id): s for s in StockLevel.objects.select_related("variant", "warehouse")}
    now = timezone.now()
    rows, by_variant = [], {}
    for key, level in levels.items():
        days = sales.get(key, {})
        if not days:  # never sold here: nothing to forecast, but its stock can be moved where it sells
            if level.on_hand - level.reserved > 0:
                by_variant.setdefault(key[0], []).append({
                    "warehouse_id": key[1], "available": level.on_hand - level.reserved, "demand": 0, "safety_stock": 0,
                    "days_until_stockout": None, "need": 0, "row": None})
            continue
        first = min(days)
        n = (today - first).days
        history = [float(days.get(first + dt.timedelta(days=i), 0)) for i in range(n)]
        if not history:
            history = [float(days.get(today, 0))]
        fc = forecast_series(history, horizon, start=first)
        available = level.on_hand - level.reserved
        plan = restock_plan(fc.forecast, available, lead_time_days=setting.lead_time_days,
                            safety_stock_days=setting.safety_stock_days, service_level=float(setting.service_level),
                            residual_sd=fc.residual_sd)
        rows.append(RestockSuggestion(
            merchant_id=merchant.pk, variant_id=key[0], warehouse_id=key[1], sku=level.variant.sku,
            warehouse_name=level.warehouse.name, available=available, method=fc.method,
            history=[round(v, 2) for v in history[-56:]], forecast=[round(v, 2) for v in fc.forecast],
            baseline=[round(v, 2) for v in fc.baseline], history_start=today - dt.timedelta(days=min(56, len(history))),
            model_smape=fc.model_smape, baseline_smape=fc.baseline_smape, model_mape=fc.model_mape,
            baseline_mape=fc.baseline_mape, days_until_stockout=plan.days_until_stockout, reorder_qty=plan.reorder_qty,
            reorder_date=today + dt.timedelta(days=plan.reorder_day) if plan.reorder_day is not None else None,
            computed_at=now))
        lead_demand = sum(fc.forecast[:setting.lead_time_days])
        by_variant.setdefault(key[0], []).append({
            "warehouse_id": key[1], "available": available, "demand": sum(fc.forecast), "safety_stock": plan.safety_stock,
            "days_until_stockout": plan.days_until_stockout,
            "need": max(0, math.ceil(lead_demand + plan.safety_stock - available)), "row": rows[-1]})
    for entries in by_variant.values():
        for move in transfers(entries, lead_time_days=setting.lead_time_days):
            target = next(e["row"] for e in entries if e["warehouse_id"] == move["to"])
            target.transfer_from_warehouse_id, target.transfer_qty = move["from"], move["qty"]
    with in_public_schema(), transaction.atomic():
        RestockSuggestion.objects.filter(merchant_id=merchant.pk).delete()
        RestockSuggestion.objects.bulk_create(rows, batch_size=500)
    return len(rows)


@shared_task(name="reports.tasks.restock_merchant", acks_late=True, ignore_result=True,
             autoretry_for=(Exception,), max_retries=2, default_retry_delay=600)
def restock_merchant(merchant_id: int) -> int:
    from tenants.models import Merchant

    with in_public_schema():
        merchant = Merchant.objects.get(pk=merchant_id)
    return merchant_restock(merchant)


@shared_task(name="reports.tasks.restock_all", ignore_result=True)
def restock_all() -> int:
    """Beat, nightly: one task per merchant, each sent from (and carrying) that merchant's schema."""
    from tenants.selectors import merchant_list

    n = 0
    for merchant in merchant_list(active_only=True):
        try:
            with in_merchant_schema(merchant):
                restock_merchant.delay(merchant.pk)
            n += 1
        except Exception:  # a broker hiccup for one merchant must not stop the others' forecasts
            log.exception("could not queue the restock forecast of %s", merchant.schema_name)
    return n
