"""The restock page on merchant hosts (/restock/): what will run out and when, what to order and when,
what to move between warehouses; one variant's forecast as an inline SVG chart with its error on the
held-out weeks beside the naive baseline's; the purchase list as CSV."""
from __future__ import annotations

import datetime as dt

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exports import export_csv_chunks
from core.tenancy import current_merchant, in_public_schema
from permissions.decorators import require_capability
from reports.forecast_models import RestockSuggestion


def _suggestions(merchant) -> list[RestockSuggestion]:
    with in_public_schema():
        return list(RestockSuggestion.objects.filter(merchant_id=merchant.pk))


def chart_svg(s: RestockSuggestion, *, width: int = 640, height: int = 200) -> str:
    """History (solid), forecast (dashed) and the naive baseline (dotted) as an inline SVG."""
    hist, fc, base = s.history, s.forecast, s.baseline
    n = len(hist) + len(fc)
    top = max([1.0, *hist, *fc, *base]) * 1.1
    pad = 24

    def pts(values, offset):
        step = (width - 2 * pad) / max(1, n - 1)
        return " ".join(f"{pad + (offset + i) * step:.1f},{height - pad - v / top * (height - 2 * pad):.1f}"
                        for i, v in enumerate(values))
    x_now = pad + (len(hist) - 0.5) * (width - 2 * pad) / max(1, n - 1)
    title = escape(_("Daily units: sold (solid), forecast (dashed), same weekday last week (dotted)"))
    return (f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{title}" data-testid="forecast-chart" '
            f'width="100%" preserveAspectRatio="none"><title>{title}</title>'
            f'<line x1="{x_now:.1f}" y1="{pad}" x2="{x_now:.1f}" y2="{height - pad}" stroke="#999" stroke-width="1"/>'
            f'<text x="{pad}" y="14" font-size="11">{top:.0f}</text><text x="{pad}" y="{height - 6}" font-size="11">0</text>'
            f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{pts(hist, 0)}"/>'
            f'<polyline fill="none" stroke="#16a34a" stroke-width="2" stroke-dasharray="6 3" points="{pts(fc, len(hist))}"/>'
            f'<polyline fill="none" stroke="#9ca3af" stroke-width="1.5" stroke-dasharray="2 3" points="{pts(base, len(hist))}"/>'
            "</svg>")


@require_capability("restock.view")
def restock_page(request):
    merchant = current_merchant()
    rows = _suggestions(merchant)
    urgent = [r for r in rows if r.reorder_qty or r.transfer_qty or r.days_until_stockout is not None]
    chosen = None
    if request.GET.get("variant") or request.GET.get("warehouse"):
        try:
            v, w = int(request.GET.get("variant", "")), int(request.GET.get("warehouse", ""))
        except ValueError:
            raise Http404(_("No such forecast.")) from None
        chosen = next((r for r in rows if r.variant_id == v and r.warehouse_id == w), None)
        if chosen is None:
            raise Http404(_("No such forecast."))
    elif urgent:
        chosen = urgent[0]
    names = {r.warehouse_id: r.warehouse_name for r in rows}
    return render(request, "reports/restock.html", {
        "rows": urgent, "all_count": len(rows), "chosen": chosen, "names": names,
        "chart": mark_safe(chart_svg(chosen)) if chosen else "",  # noqa: S308  numbers and an escaped title only
        "computed_at": max((r.computed_at for r in rows), default=None),
        "transfers": [(r, names.get(r.transfer_from_warehouse_id, "")) for r in rows if r.transfer_qty],
    })


@require_POST
@require_capability("restock.view")
def restock_refresh(request):
    """Recompute this store's forecasts now (the nightly job does it anyway)."""
    from reports.forecast_jobs import merchant_restock

    merchant_restock(current_merchant())
    return redirect("restock")


@require_capability("restock.view")
def purchase_list(request):
    merchant = current_merchant()
    rows = [r for r in _suggestions(merchant) if r.reorder_qty]
    rows.sort(key=lambda r: (r.reorder_date or dt.date.max, r.sku))

    def lines():
        yield [_("SKU"), _("Warehouse"), _("Order quantity"), _("Order by"), _("Available"), _("Days until stock-out"),
               _("Forecast method")]
        for r in rows:
            yield [r.sku, r.warehouse_name, r.reorder_qty, r.reorder_date.isoformat() if r.reorder_date else "",
                   r.available, "" if r.days_until_stockout is None else r.days_until_stockout, r.method]
    response = StreamingHttpResponse(export_csv_chunks(lines()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="purchase-list-{merchant.slug}-{timezone.localdate():%Y%m%d}.csv"'
    return response
