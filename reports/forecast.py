"""Daily demand forecasts and restock arithmetic: pure functions over lists of numbers (no database).

- `seasonal_naive`: the baseline, always computed: each day is the same weekday of the last week seen.
- `model_forecast`: Holt-Winters exponential smoothing (statsmodels; additive damped trend, additive weekly
  seasonality). Holiday days (双十一 Nov 11, 618 Jun 18) are taken out of the fit (replaced by the same
  weekday a week before) and put back into the forecast as an uplift factor learnt from past holidays:
  Holt-Winters has no exogenous regressors (docs/decisions.md says why this model anyway).
- `forecast_series`: both, with their error on the last held-out weeks (MAPE, sMAPE), and the chosen one;
  less than MIN_MODEL_DAYS of history falls back to the baseline.
- `restock_plan`: days until stock-out, reorder date and quantity from lead time, safety stock and the
  service level; `transfers`: what one warehouse of a store can spare for another about to run out.
"""
from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass
from statistics import NormalDist

SEASON = 7
MIN_MODEL_DAYS = 4 * SEASON  # less history than this: the baseline is the forecast
HOLDOUT_DAYS = 2 * SEASON
COVER_DAYS = 14  # an order covers this many days of demand after it arrives
HOLIDAYS = ((11, 11), (6, 18))  # 双十一, 618


def is_holiday(day: dt.date) -> bool:
    return (day.month, day.day) in HOLIDAYS


def seasonal_naive(history: list[float], horizon: int) -> list[float]:
    """Same weekday last week; with less than a week of history, the mean of what there is."""
    if not history:
        return [0.0] * horizon
    if len(history) < SEASON:
        mean = sum(history) / len(history)
        return [mean] * horizon
    last = history[-SEASON:]
    return [float(last[i % SEASON]) for i in range(horizon)]


def _deholiday(history: list[float], start: dt.date) -> tuple[list[float], float]:
    """History with holiday days replaced by the same weekday a week before, and the mean uplift seen."""
    clean, ratios = list(map(float, history)), []
    for i, value in enumerate(history):
        if i >= SEASON and is_holiday(start + dt.timedelta(days=i)):
            usual = clean[i - SEASON]
            if usual > 0:
                ratios.append(value / usual)
            clean[i] = usual
    return clean, (sum(ratios) / len(ratios) if ratios else 1.0)


def model_forecast(history: list[float], horizon: int, *, start: dt.date | None = None) -> list[float]:
    """Holt-Winters (additive damped trend, additive weekly seasonality), never below zero."""
    import numpy as np
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    start = start or dt.date(2000, 1, 3)
    clean, uplift = _deholiday(history, start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(np.asarray(clean, dtype=float), trend="add", damped_trend=True,
                                   seasonal="add", seasonal_periods=SEASON, initialization_method="estimated").fit()
        out = [max(0.0, float(v)) for v in fit.forecast(horizon)]
    first = start + dt.timedelta(days=len(history))
    return [v * uplift if is_holiday(first + dt.timedelta(days=i)) else v for i, v in enumerate(out)]


def smape(actual: list[float], predicted: list[float]) -> float:
    """Symmetric MAPE in percent (0..200); days where both are zero count as no error."""
    terms = [0.0 if a == p == 0 else 2 * abs(a - p) / (abs(a) + abs(p)) for a, p in zip(actual, predicted, strict=True)]
    return 100 * sum(terms) / len(terms) if terms else 0.0


def mape(actual: list[float], predicted: list[float]) -> float | None:
    """MAPE in percent over the days with sales (None when none had any)."""
    terms = [abs(a - p) / abs(a) for a, p in zip(actual, predicted, strict=True) if a]
    return 100 * sum(terms) / len(terms) if terms else None


@dataclass(frozen=True)
class Forecast:
    method: str  # "holt_winters" or "seasonal_naive"
    forecast: list[float]
    baseline: list[float]
    model_smape: float | None = None
    baseline_smape: float | None = None
    model_mape: float | None = None
    baseline_mape: float | None = None
    residual_sd: float = 0.0  # of the chosen method on the held-out days: the safety stock's sigma


def forecast_series(history: list[float], horizon: int, *, start: dt.date | None = None) -> Forecast:
    """The forecast for the next `horizon` days, the baseline beside it, and both errors on the last
    HOLDOUT_DAYS (fitted on what came before them). The model is used when it has enough history and did
    not do worse than the baseline on the held-out weeks."""
    baseline = seasonal_naive(history, horizon)
    if len(history) < MIN_MODEL_DAYS + HOLDOUT_DAYS:
        sd = _sd([a - p for a, p in zip(history[SEASON:], history[:-SEASON], strict=False)]) if len(history) > SEASON else 0.0
        return Forecast("seasonal_naive", baseline, baseline, residual_sd=sd)
    train, held = history[:-HOLDOUT_DAYS], history[-HOLDOUT_DAYS:]
    m_held = model_forecast(train, HOLDOUT_DAYS, start=start)
    b_held = seasonal_naive(train, HOLDOUT_DAYS)
    m_s, b_s = smape(held, m_held), smape(held, b_held)
    use_model = m_s <= b_s
    chosen_held = m_held if use_model else b_held
    sd = _sd([a - p for a, p in zip(held, chosen_held, strict=True)])
    forecast = model_forecast(history, horizon, start=start) if use_model else baseline
    return Forecast("holt_winters" if use_model else "seasonal_naive", forecast, baseline,
                    model_smape=m_s, baseline_smape=b_s, model_mape=mape(held, m_held), baseline_mape=mape(held, b_held),
                    residual_sd=sd)


def _sd(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


@dataclass(frozen=True)
class RestockPlan:
    days_until_stockout: int | None  # first day (0 = today) whose demand cannot be met; None: not in horizon
    safety_stock: int
    reorder_day: int | None  # days from today to order (0: now); None: nothing to order within the horizon
    reorder_qty: int


def restock_plan(forecast: list[float], available: int, *, lead_time_days: int, safety_stock_days: int,
                 service_level: float, residual_sd: float = 0.0) -> RestockPlan:
    """Order when the projected stock falls to the demand over the lead time plus safety stock, enough to
    cover COVER_DAYS after it arrives plus the safety stock.

    safety stock = safety_stock_days × mean daily demand + z(service level) × σ × √lead time."""
    h = len(forecast)
    mean = sum(forecast) / h if h else 0.0
    z = NormalDist().inv_cdf(min(max(service_level, 0.5), 0.999))
    safety = math.ceil(safety_stock_days * mean + z * residual_sd * math.sqrt(lead_time_days))
    cum = [0.0]
    for v in forecast:
        cum.append(cum[-1] + v)
    stockout = next((d for d in range(h) if cum[d + 1] > available + 1e-9), None)

    def demand(a: int, b: int) -> float:  # days a..b-1; beyond the horizon at the mean rate
        a2, b2 = min(a, h), min(b, h)
        return cum[b2] - cum[a2] + max(0, b - max(a, h)) * mean

    reorder_day = None
    for d in range(h):
        if available - cum[d] <= demand(d, d + lead_time_days) + safety:
            reorder_day = d
            break
    if reorder_day is None or mean == 0:
        return RestockPlan(stockout, safety, None, 0)
    arrival = reorder_day + lead_time_days
    at_arrival = max(0.0, available - demand(0, arrival))
    qty = max(0, math.ceil(demand(arrival, arrival + COVER_DAYS) + safety - at_arrival))
    return RestockPlan(stockout, safety, reorder_day, qty)


def transfers(rows: list[dict], *, lead_time_days: int) -> list[dict]:
    """Within one variant's warehouses of a store: a warehouse running out before a purchase could arrive
    gets what another can spare (its stock beyond its own horizon demand and safety stock).

    rows: {warehouse_id, available, demand (over the horizon), safety_stock, days_until_stockout,
    need (units short over the lead time)}. Returns [{from, to, qty}]."""
    spare = {r["warehouse_id"]: max(0, r["available"] - math.ceil(r["demand"]) - r["safety_stock"]) for r in rows}
    moves = []
    for r in sorted(rows, key=lambda r: (r["days_until_stockout"] is None, r["days_until_stockout"] or 0)):
        if r["days_until_stockout"] is None or r["days_until_stockout"] >= lead_time_days or r["need"] <= 0:
            continue
        need = r["need"]
        for wid in sorted(spare, key=lambda w: -spare[w]):
            if wid == r["warehouse_id"] or spare[wid] <= 0 or need <= 0:
                continue
            qty = min(need, spare[wid])
            spare[wid] -= qty
            need -= qty
            moves.append({"from": wid, "to": r["warehouse_id"], "qty": qty})
    return moves
