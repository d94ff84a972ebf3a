"""Demo: acme's best seller in its warehouse is left with about three days of stock, then every demo
store's restock forecast is computed, so /restock/ shows a reorder at once. Runs after reports.demo's
six months of history (registered after it in merchants.demo.DEMO_SEEDERS). Idempotent: the stock is cut
only while it is above the target."""
from __future__ import annotations

import logging
from datetime import timedelta

from core.tenancy import in_merchant_schema

log = logging.getLogger(__name__)
REASON = "demo: running low (restock suggestions)"


def _run_low(merchant) -> None:
    from django.db.models import F, Sum
    from django.utils import timezone

    from catalog.models import StockLevel
    from catalog.services import stock_adjust
    from suborders.models import SubOrderLine

    since = timezone.now() - timedelta(days=28)
    with in_merchant_schema(merchant):
        top = (SubOrderLine.objects.filter(suborder__created_at__gte=since)
               .values("variant_id", wh=F("suborder__warehouse_id")).annotate(units=Sum("quantity")).order_by("-units").first())
        if not top:
            return
        level = StockLevel.objects.filter(variant_id=top["variant_id"], warehouse_id=top["wh"]).first()
        if level is None:
            return
        target = max(1, round(top["units"] / 28 * 3))  # about three days of its recent sales
        cut = min(level.on_hand - level.reserved, level.on_hand) - target
        if cut > 0:
            stock_adjust(variant_id=level.variant_id, warehouse_id=level.warehouse_id, delta=-cut, reason=REASON)


def seed_restock(merchants) -> None:
    from reports.forecast_jobs import merchant_restock

    for merchant in merchants:
        if merchant.slug == "acme":
            _run_low(merchant)
        try:
            merchant_restock(merchant)
        except Exception:  # the demo goes on without this store's suggestions; the nightly job retries
            log.exception("demo restock forecast failed for %s", merchant.slug)
