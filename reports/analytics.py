"""Analytics reads for the merchant dashboard and the operator console, from the rollups only (reports/rollup_models.py).

A period [start, end] (days, inclusive, in the mall's reporting zone) is compared with the one just before it
of the same length. Merchant pages pass one merchant id; the console passes None (every merchant, one query
per table, grouped by merchant where it breaks them down).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from reports.rollup_models import (
    MerchantDayRollup,
    MerchantHourRollup,
    MerchantProductDayRollup,
    MerchantRegionRollup,
    MerchantValueBandRollup,
)
from reports.rollups import VALUE_BANDS, report_zone

DAY_MEASURES = ("orders", "units", "gmv_minor", "commission_minor", "refunds_minor", "refund_count", "cancellations",
                "accept_seconds", "accept_count", "ship_seconds", "ship_count", "late_count")
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def period_default(days: int = 30) -> Period:
    today = timezone.now().astimezone(report_zone()).date()
    return Period(today - timedelta(days=days - 1), today)


def _scope(qs, merchant_id, period):
    qs = qs.filter(day__gte=period.start, day__lte=period.end)
    return qs if merchant_id is None else qs.filter(merchant_id=merchant_id)


def kpis(totals: dict) -> dict:
    """Derived figures of summed day measures (None where there is nothing to divide by)."""
    t = {m: totals.get(m) or 0 for m in DAY_MEASURES}
    t["aov_minor"] = t["gmv_minor"] // t["orders"] if t["orders"] else None
    t["refund_rate"] = round(100 * t["refunds_minor"] / t["gmv_minor"], 1) if t["gmv_minor"] else None
    t["cancel_rate"] = round(100 * t["cancellations"] / t["orders"], 1) if t["orders"] else None
    t["accept_hours"] = round(t["accept_seconds"] / t["accept_count"] / 3600, 1) if t["accept_count"] else None
    t["ship_hours"] = round(t["ship_seconds"] / t["ship_count"] / 3600, 1) if t["ship_count"] else None
    t["late_rate"] = round(100 * t["late_count"] / t["orders"], 1) if t["orders"] else None
    return t


def totals(*, merchant_id: int | None, period: Period) -> dict:
    return kpis(_scope(MerchantDayRollup.objects, merchant_id, period).aggregate(**{m: Sum(m) for m in DAY_MEASURES}))


def by_day(*, merchant_id: int | None, period: Period) -> list[dict]:
    rows = {r["day"]: r for r in _scope(MerchantDayRollup.objects, merchant_id, period).values("day")
            .annotate(orders=Sum("orders"), gmv_minor=Sum("gmv_minor"), units=Sum("units"), refunds_minor=Sum("refunds_minor"))}
    out = []
    for i in range(period.days):
        d = period.start + timedelta(days=i)
        out.append(rows.get(d) or {"day": d, "orders": 0, "gmv_minor": 0, "units": 0, "refunds_minor": 0})
    return out


def heat_map(*, merchant_id: int | None, period: Period) -> list[list[int]]:
    """Orders by weekday (0 = Monday) x hour of the day."""
    grid = [[0] * 24 for _ in range(7)]
    for r in _scope(MerchantHourRollup.objects, merchant_id, period).values("day", "hour").annotate(n=Sum("orders")):
        grid[r["day"].weekday()][r["hour"]] += r["n"]
    return grid


def by_region(*, merchant_id: int | None, period: Period, limit: int = 12) -> list[dict]:
    return list(_scope(MerchantRegionRollup.objects, merchant_id, period).values("province")
                .annotate(orders=Sum("orders"), gmv_minor=Sum("gmv_minor")).order_by("-gmv_minor", "province")[:limit])


def by_product(*, merchant_id: int | None, period: Period) -> list[dict]:
    return list(_scope(MerchantProductDayRollup.objects, merchant_id, period).values("merchant_id", "variant_id")
                .annotate(units=Sum("units"), gmv_minor=Sum("gmv_minor"), orders=Sum("orders"))
                .order_by("-units", "variant_id"))


def best_and_slow(*, merchant_id: int, period: Period, n: int = 8) -> tuple[list[dict], list[dict]]:
    """Best sellers by units, and slow movers: variants that sold before but least (or nothing) in the period."""
    rows = by_product(merchant_id=merchant_id, period=period)
    names: dict[int, tuple[str, str]] = {}
    for vid, sku, name in (MerchantProductDayRollup.objects.filter(merchant_id=merchant_id)
                           .order_by("variant_id", "-day").distinct("variant_id").values_list("variant_id", "sku", "name")):
        names[vid] = (sku, name)
    sold = {r["variant_id"] for r in rows}
    for r in rows:
        r["sku"], r["name"] = names.get(r["variant_id"], ("", ""))
    idle = [{"variant_id": v, "sku": s, "name": nm, "units": 0, "gmv_minor": 0, "orders": 0}
            for v, (s, nm) in sorted(names.items()) if v not in sold]
    slow = (idle + sorted(rows, key=lambda r: (r["units"], r["variant_id"])))[:n]
    return rows[:n], slow


def value_bands(*, merchant_id: int | None, period: Period) -> list[dict]:
    counts = dict(_scope(MerchantValueBandRollup.objects, merchant_id, period).values("band")
                  .annotate(n=Sum("orders")).values_list("band", "n"))
    out, low = [], 0
    for i, top in enumerate((*VALUE_BANDS, None)):
        label = f"{low}–{top}" if top is not None else f"≥ {low}"
        out.append({"band": i, "label": label, "orders": counts.get(i, 0)})
        low = top
    return out


def merchants_breakdown(*, period: Period) -> list[dict]:
    """The console's per-merchant table, one grouped query over the day rollup."""
    from tenants.models import Merchant

    rows = list(_scope(MerchantDayRollup.objects, None, period).values("merchant_id")
                .annotate(**{m: Sum(m) for m in DAY_MEASURES}).order_by(F("gmv_minor").desc(nulls_last=True), "merchant_id"))
    names = dict(Merchant.objects.filter(pk__in=[r["merchant_id"] for r in rows]).values_list("pk", "name"))
    return [{"merchant_id": r["merchant_id"], "name": names.get(r["merchant_id"], "?"), **kpis(r)} for r in rows]


def period_parse(params) -> tuple[Period, str | None]:
    """The period from ?start=&end= (ISO dates) or ?days=7|30|90; an error message naming the field if bad."""
    from core.inputs import has_nul, is_malformed

    if any(is_malformed(params.get(k, "")) or has_nul(str(params.get(k, ""))) for k in ("start", "end", "days")):
        return period_default(), _("period: the dates contain characters that are not allowed.")
    days = params.get("days", "")
    if params.get("start") or params.get("end"):
        try:
            start = date.fromisoformat(str(params.get("start", ""))[:10])
        except ValueError:
            return period_default(), _("start: enter a date as YYYY-MM-DD.")
        try:
            end = date.fromisoformat(str(params.get("end", ""))[:10])
        except ValueError:
            return period_default(), _("end: enter a date as YYYY-MM-DD.")
        if end < start or (end - start).days >= MAX_DAYS:
            return period_default(), _("end: the period must end after it starts and span at most a year.")
        return Period(start, end), None
    if days in ("7", "30", "90", "180", "365"):
        return period_default(int(days)), None
    if days:
        return period_default(), _("days: choose 7, 30, 90, 180 or 365.")
    return period_default(), None
