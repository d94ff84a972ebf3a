"""Forecasting (reports/forecast.py): the model beats the naive seasonal baseline on held-out weeks of a
weekly-seasonal series with a trend; short histories fall back to the baseline; restock arithmetic."""
import datetime as dt
import random

from reports.forecast import (
    HOLDOUT_DAYS,
    forecast_series,
    model_forecast,
    restock_plan,
    seasonal_naive,
    smape,
    transfers,
)

WEEK = [12, 10, 10, 11, 14, 22, 25]  # Monday..Sunday


def _series(days: int, *, seed: int = 7, trend: float = 0.15) -> list[float]:
    rnd = random.Random(seed)
    return [max(0.0, WEEK[i % 7] + trend * i + rnd.gauss(0, 1.5)) for i in range(days)]


def test_model_beats_the_seasonal_naive_baseline_on_held_out_weeks():
    start = dt.date(2026, 1, 5)  # a Monday; no holiday in the held-out weeks
    history = _series(20 * 7)
    train, held = history[:-HOLDOUT_DAYS], history[-HOLDOUT_DAYS:]
    model = model_forecast(train, HOLDOUT_DAYS, start=start)
    naive = seasonal_naive(train, HOLDOUT_DAYS)
    assert smape(held, model) < smape(held, naive)
    f = forecast_series(history, 42, start=start)
    assert f.method == "holt_winters"
    assert f.model_smape < f.baseline_smape
    assert len(f.forecast) == len(f.baseline) == 42
    # the trend carries on: the forecast's next week sells more than the last week seen
    assert sum(f.forecast[:7]) > sum(history[-7:])


def test_three_days_of_history_fall_back_to_the_baseline():
    f = forecast_series([3.0, 5.0, 4.0], 28, start=dt.date(2026, 3, 2))
    assert f.method == "seasonal_naive"
    assert f.forecast == f.baseline == [4.0] * 28
    assert f.model_smape is None


def test_seasonal_naive_repeats_the_last_week():
    history = list(range(1, 15))
    assert seasonal_naive(history, 9) == [8, 9, 10, 11, 12, 13, 14, 8, 9]


def test_a_holiday_spike_is_forecast_again_next_year_not_smeared_on_ordinary_days():
    start = dt.date(2025, 9, 1)
    rnd = random.Random(3)
    history = []
    for i in range((dt.date(2026, 11, 5) - start).days):
        day = start + dt.timedelta(days=i)
        value = WEEK[day.weekday()] + rnd.gauss(0, 1)
        history.append(value * 5 if (day.month, day.day) in ((11, 11), (6, 18)) else value)
    out = model_forecast(history, 14, start=start)
    nov11 = (dt.date(2026, 11, 11) - dt.date(2026, 11, 5)).days
    assert out[nov11] > 3 * out[nov11 - 7]
    assert max(out[:nov11]) < 2 * max(WEEK)


def test_reorder_respects_lead_time_and_safety_stock():
    plan = restock_plan([10.0] * 42, 100, lead_time_days=5, safety_stock_days=2, service_level=0.95, residual_sd=0.0)
    assert plan.days_until_stockout == 10
    assert plan.safety_stock == 20
    # reorder point = 5 days × 10 + 20 = 70, reached on day 3: ordered then, it arrives on day 8 with 20 left
    assert plan.reorder_day == 3
    assert plan.reorder_qty == 14 * 10 + 20 - 20
    # a longer lead time orders earlier; more safety stock orders more
    longer = restock_plan([10.0] * 42, 100, lead_time_days=7, safety_stock_days=2, service_level=0.95)
    assert longer.reorder_day == 1
    safer = restock_plan([10.0] * 42, 100, lead_time_days=5, safety_stock_days=4, service_level=0.95)
    assert safer.safety_stock == 40 and safer.reorder_day == 1
    assert 100 - 10 * (1 + 5) + safer.reorder_qty - 10 * 14 >= 40  # still 40 left after the cover days
    # ordered late (already below the reorder point), it orders more: the shortfall on arrival is made up
    late = restock_plan([10.0] * 42, 30, lead_time_days=5, safety_stock_days=2, service_level=0.95)
    assert late.reorder_day == 0 and late.reorder_qty == 14 * 10 + 20 - 0
    # demand uncertainty adds z × σ × √L at the service level
    unsure = restock_plan([10.0] * 42, 100, lead_time_days=4, safety_stock_days=0, service_level=0.95, residual_sd=3.0)
    assert unsure.safety_stock == 10  # ceil(1.645 × 3 × 2)
    # stock arriving covers what sells during the lead time: never below the safety stock on arrival
    arrival = plan.reorder_day + 5
    assert 100 - 10 * arrival + plan.reorder_qty - 10 * 14 >= plan.safety_stock
    # no demand: nothing to order
    assert restock_plan([0.0] * 28, 5, lead_time_days=5, safety_stock_days=2, service_level=0.9).reorder_qty == 0


def test_transfers_from_a_warehouse_with_spare_stock():
    rows = [
        {"warehouse_id": 1, "available": 4, "demand": 84, "safety_stock": 6, "days_until_stockout": 2, "need": 20},
        {"warehouse_id": 2, "available": 200, "demand": 42, "safety_stock": 3, "days_until_stockout": None, "need": 0},
    ]
    assert transfers(rows, lead_time_days=7) == [{"from": 2, "to": 1, "qty": 20}]
    rows[1]["available"] = 50  # spare 5
    assert transfers(rows, lead_time_days=7) == [{"from": 2, "to": 1, "qty": 5}]
