"""Analytics pages: the store's /reports/ (reports.view) and the console's /console/reports/ (reports.view_all).

Both read the rollups only (reports.analytics); every chart is inline SVG (reports.charts) with its numbers in a
table under it."""
from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _

from core.tenancy import assert_public_schema, current_merchant
from permissions.decorators import require_capability, require_platform_capability
from reports import analytics as an
from reports import charts


def _weekdays() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def _change(now, before):
    if now is None or before in (None, 0):
        return None
    return round(100 * (now - before) / before, 1)


def analytics_context(*, merchant_id: int | None, period: an.Period) -> dict:
    cur = an.totals(merchant_id=merchant_id, period=period)
    prev = an.totals(merchant_id=merchant_id, period=period.previous())
    kpi_keys = ("orders", "units", "gmv_minor", "aov_minor", "refund_rate", "cancel_rate", "accept_hours", "ship_hours",
                "late_rate")
    kpis = [{"key": k, "now": cur[k], "before": prev[k], "change": _change(cur[k], prev[k])} for k in kpi_keys]
    days = an.by_day(merchant_id=merchant_id, period=period)
    grid = an.heat_map(merchant_id=merchant_id, period=period)
    regions = an.by_region(merchant_id=merchant_id, period=period)
    bands = an.value_bands(merchant_id=merchant_id, period=period)
    weekdays = _weekdays()
    every = max(1, len(days) // 8)
    ctx = {
        "period": period, "previous": period.previous(), "kpis": kpis, "totals": cur, "days": days,
        "heat_rows": [{"label": weekdays[i], "hours": row, "total": sum(row)} for i, row in enumerate(grid)],
        "regions": regions, "bands": bands,
        "chart_days": charts.columns([d["gmv_minor"] // 100 for d in days], [d["day"].strftime("%m-%d") for d in days],
                                     label=_("Sales by day"), every=every),
        "chart_heat": charts.heat(grid, weekdays, label=_("Orders by weekday and hour")),
        "chart_regions": charts.bars([(r["province"] or "—", r["gmv_minor"] // 100) for r in regions], label=_("Sales by region")),
        "chart_bands": charts.bars([(b["label"], b["orders"]) for b in bands], label=_("Order value distribution")),
    }
    if merchant_id is not None:
        best, slow = an.best_and_slow(merchant_id=merchant_id, period=period)
        ctx.update(best=best, slow=slow,
                   chart_best=charts.bars([(r["name"] or r["sku"], r["units"]) for r in best], label=_("Best sellers")))
    return ctx


@require_capability("reports.view")
def reports_merchant(request):
    merchant = current_merchant()
    period, error = an.period_parse(request.GET)
    ctx = analytics_context(merchant_id=merchant.pk, period=period)
    return render(request, "reports/analytics.html", {**ctx, "merchant": merchant, "currency": merchant_currency(merchant),
                                                      "error": error}, status=400 if error else 200)


def merchant_currency(merchant) -> str:
    return merchant.default_currency or "CNY"


@require_platform_capability("reports.view_all")
def console_reports(request):
    assert_public_schema()
    period, error = an.period_parse(request.GET)
    ctx = analytics_context(merchant_id=None, period=period)
    ctx["merchants"] = an.merchants_breakdown(period=period)
    return render(request, "reports/console_analytics.html", {**ctx, "currency": "CNY", "error": error},
                  status=400 if error else 200)


def dashboard_sales(*, user, merchant) -> dict | None:
    """The dashboard home's last-30-days summary with its chart, or None for roles without reports.view."""
    from permissions.selectors import user_can

    if not user_can(user=user, merchant=merchant, capability="reports.view"):
        return None
    period = an.period_default(30)
    cur = an.totals(merchant_id=merchant.pk, period=period)
    prev = an.totals(merchant_id=merchant.pk, period=period.previous())
    days = an.by_day(merchant_id=merchant.pk, period=period)
    return {"period": period, "now": cur, "before": prev, "currency": merchant_currency(merchant),
            "chart": charts.columns([d["gmv_minor"] // 100 for d in days], [d["day"].strftime("%m-%d") for d in days],
                                    label=_("Sales by day"), every=4)}
