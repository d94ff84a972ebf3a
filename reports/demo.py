"""Demo: ~6 months of sales history for every demo store, so the report charts mean something.

Orders come in through the channel import's batch writer (orders.services.channel, channel "history") with
weekly seasonality (weekend peaks), evening peak hours, a 618 bump and a 双十一 (Nov 11) spike; most are then
accepted and shipped through the suborder services, and their moments moved back to the sale time. Then the
rollups are rebuilt from those rows. Idempotent: skipped for a store that already has history orders.
Registered LAST in merchants.demo.DEMO_SEEDERS (it reads what the other seeders made).
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from core.tenancy import in_merchant_schema

CHANNEL = "history"
DAYS = 182
PER_DAY = {"acme": 2.5, "globex": 1.6, "initech": 1.0}  # average orders a day before seasonality
WEEKDAY = (0.8, 0.75, 0.85, 0.9, 1.1, 1.5, 1.4)  # Monday..Sunday
HOURS = [1, 1, 0, 0, 0, 0, 1, 2, 4, 6, 7, 8, 9, 7, 6, 6, 7, 8, 9, 11, 13, 14, 11, 5]
PROVINCES = [("上海", "SH", "200001", 20), ("北京", "BJ", "100022", 16), ("广东", "GD", "510000", 18), ("浙江", "ZJ", "310000", 14),
             ("江苏", "JS", "210000", 12), ("四川", "SC", "610000", 8), ("湖北", "HB", "430000", 6), ("山东", "SD", "250000", 6)]
ZONE = ZoneInfo("Asia/Shanghai")


def _factor(d: date) -> float:
    f = WEEKDAY[d.weekday()]
    if d.month == 11 and d.day == 11:
        f *= 8  # 双十一
    elif d.month == 11 and 1 <= d.day <= 12:
        f *= 1.6  # the run-up
    elif d.month == 6 and d.day == 18:
        f *= 3  # 618
    return f


def history_plan(*, slug: str, today: date, days: int = DAYS, seed: int = 13) -> list[tuple[datetime, int]]:
    """[(sale moment, province index)] for one store: deterministic, seasonal."""
    rng = random.Random(f"{slug}-{seed}")
    out = []
    for i in range(days, 0, -1):
        d = today - timedelta(days=i)
        n = int(rng.gauss(PER_DAY.get(slug, 1.0) * _factor(d), 1) + 0.5)
        for _ in range(max(0, n)):
            hour = rng.choices(range(24), weights=HOURS)[0]
            at = datetime(d.year, d.month, d.day, hour, rng.randrange(60), tzinfo=ZONE)
            out.append((at, rng.choices(range(len(PROVINCES)), weights=[p[3] for p in PROVINCES])[0]))
    return out


def seed_history(merchants, *, days: int = DAYS, per_day: dict | None = None) -> int:
    """Import, work and backdate the history of each store; rebuild the rollups. Returns the orders made."""
    from catalog.models import StockLevel, Variant
    from catalog.services import ReceiveLine, stock_receive_bulk
    from orders.services.channel import ChannelLine, ChannelOrder, import_scope, orders_import_chunk
    from reports.rollups import rollups_rebuild
    from suborders.models import SubOrder, SubOrderEvent
    from suborders.services import suborder_accept, suborder_lines_shipped

    if per_day:
        PER_DAY.update(per_day)
    today = timezone.now().astimezone(ZONE).date()
    made = 0
    for merchant in sorted(merchants, key=lambda m: m.pk):
        with in_merchant_schema(merchant):
            if SubOrder.objects.filter(channel=CHANNEL).exists():
                continue
            levels = list(StockLevel.objects.filter(variant__is_active=True).order_by("variant_id", "warehouse_id")
                          .values_list("variant_id", "warehouse_id"))
            first_wh: dict[int, int] = {}
            for vid, wid in levels:
                first_wh.setdefault(vid, wid)
            variants = list(Variant.objects.filter(pk__in=list(first_wh)[:12]).select_related("product").order_by("pk"))
        if not variants:
            continue
        plan = history_plan(slug=merchant.slug, today=today, days=days)
        rng = random.Random(f"lines-{merchant.slug}")
        weights = [1.0 / (i + 1) for i in range(len(variants))]  # a few best sellers, a long tail
        orders, need = [], {}
        for k, (at, prov) in enumerate(plan):
            picks = {v.pk: v for v in rng.choices(variants, weights=weights, k=rng.choice((1, 1, 1, 2)))}
            lines = []
            for v in picks.values():
                qty = rng.choice((1, 1, 1, 2, 3))
                need[v.pk] = need.get(v.pk, 0) + qty
                lines.append(ChannelLine(row=k + 1, merchant_id=merchant.pk, variant_id=v.pk, sku=v.sku, name=f"{v.product.name} {v.name_suffix}".strip()[:300],
                                         unit_price_minor=v.price_minor, quantity=qty))
            name, code, postcode, _w = PROVINCES[prov]
            orders.append(ChannelOrder(
                external_order_id=f"H{merchant.pk}-{k:05d}", row=k + 1, email=f"buyer{k % 97}@example.com", currency="CNY",
                address={"name": "买家", "phone": "13800000000", "line1": "1 路", "city": name, "region": code,
                         "province": name, "postcode": postcode, "country": "CN"},
                created_at=at, lines=lines))
        with in_merchant_schema(merchant):
            stock_receive_bulk(lines=[ReceiveLine(variant_id=vid, warehouse_id=first_wh[vid], quantity=q)
                                      for vid, q in sorted(need.items())], reason="demo history", reference="demo history")
        scope = import_scope(channel=CHANNEL, merchant_id=merchant.pk)
        for i in range(0, len(orders), 200):
            orders_import_chunk(channel=CHANNEL, scope=scope, orders=orders[i:i + 200], merchants={merchant.pk: merchant})
        sale_at = {o.external_order_id: o.created_at for o in orders}
        with in_merchant_schema(merchant), transaction.atomic():
            subs = list(SubOrder.objects.filter(channel=CHANNEL).order_by("pk").prefetch_related("lines"))
            cutoff = timezone.now() - timedelta(days=3)
            for so in subs:
                at = sale_at.get(so.external_order_id.split("/")[0])
                if at is None:
                    continue
                accepted = at + timedelta(hours=rng.uniform(0.5, 20))
                shipped = accepted + timedelta(hours=rng.uniform(4, 60))
                if at < cutoff:
                    suborder_accept(suborder_id=so.pk, actor=None, system=True, reason="demo history")
                    suborder_lines_shipped(suborder_id=so.pk, shipped=[(ln.pk, ln.quantity) for ln in so.lines.all()],
                                           actor=None, shipment_ref="demo history")
                    SubOrderEvent.objects.filter(suborder_id=so.pk, action="accepted").update(at=accepted)
                    SubOrderEvent.objects.filter(suborder_id=so.pk, action="shipped").update(at=shipped)
                    SubOrder.objects.filter(pk=so.pk).update(accepted_at=accepted, shipped_at=shipped,
                                                             is_late=shipped - at > timedelta(hours=48))
                SubOrderEvent.objects.filter(suborder_id=so.pk, action="imported").update(at=at)
                SubOrder.objects.filter(pk=so.pk).update(created_at=at)
        made += len(orders)
    rollups_rebuild(merchants=list(merchants))
    return made
