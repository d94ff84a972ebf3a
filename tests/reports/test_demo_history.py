"""The demo's sales history (reports/demo.py): seasonal orders imported, worked and backdated, rollups rebuilt."""
from __future__ import annotations

from reports import analytics as an
from reports.demo import _factor, history_plan, seed_history
from reports.rollup_models import MerchantDayRollup
from reports.rollups import rollups_rebuild, rollups_snapshot
from tests.orders.factories import stock_item
from tests.webhooks.helpers import relay


def test_the_plan_has_weekend_peaks_and_a_double_eleven_spike():
    from datetime import date

    plan = history_plan(slug="acme", today=date(2026, 12, 3))
    per_day: dict = {}
    for at, _p in plan:
        per_day[at.date()] = per_day.get(at.date(), 0) + 1
    assert per_day[date(2026, 11, 11)] > 3 * (sum(per_day.values()) / len(per_day))
    assert _factor(date(2026, 11, 14)) > _factor(date(2026, 11, 16))  # a Saturday over a Monday


def test_seed_history_makes_orders_whose_rollups_match_the_rebuild_and_is_idempotent(mall):
    stock_item(mall.initech, price_minor=2599, stock=(50,))
    made = seed_history([mall.initech], days=20, per_day={"initech": 2.0})
    assert made > 20
    rows = MerchantDayRollup.objects.filter(merchant_id=mall.initech.pk)
    assert sum(r.orders for r in rows) >= made and rows.filter(accept_count__gt=0).exists()
    assert len({r.day for r in rows}) > 10  # spread over the period, not all today
    relay()  # the demo's worker delivers the import's events afterwards: the rollups stay equal to the rebuild
    after = rollups_snapshot(merchant_ids=[mall.initech.pk])
    rollups_rebuild(merchants=[mall.initech])
    assert rollups_snapshot(merchant_ids=[mall.initech.pk]) == after
    assert seed_history([mall.initech], days=20) == 0
    assert an.totals(merchant_id=mall.initech.pk, period=an.period_default(30))["orders"] >= made
