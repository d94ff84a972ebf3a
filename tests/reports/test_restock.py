"""The nightly restock run (reports/forecast_jobs.py) on a store's real sales and stock, the restock page
and its purchase list, and who may see them."""
import datetime as dt

from django.utils import timezone

from reports.forecast_models import RestockSuggestion
from tests.orders.factories import stock_item
from tests.reports.helpers import suborder


def _history(mall, item, *, days: int, per_day=lambda i: 5, wh: int = 0):
    today = timezone.localdate()
    for i in range(days, 0, -1):
        when = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=i), dt.time(12)))
        qty = per_day(i)
        if qty:
            suborder(mall.acme, channel="mallard", created_at=when, warehouse_id=item["warehouse_ids"][wh],
                     lines=[(item["variant_id"], item["sku"], qty)])


def test_a_variant_about_to_run_out_gets_a_reorder_and_a_transfer(mall, client_at):
    from reports.forecast_jobs import merchant_restock

    item = stock_item(mall.acme, stock=(12, 400))
    _history(mall, item, days=70, per_day=lambda i: 4 + (3 if i % 7 in (0, 1) else 0))
    n = merchant_restock(mall.acme)
    assert n >= 1
    s = RestockSuggestion.objects.get(merchant_id=mall.acme.pk, variant_id=item["variant_id"],
                                      warehouse_id=item["warehouse_ids"][0])
    assert s.method in ("holt_winters", "seasonal_naive") and s.model_smape is not None and s.baseline_smape is not None
    assert s.days_until_stockout is not None and s.days_until_stockout <= 3
    assert s.reorder_qty > 0 and s.reorder_date == timezone.localdate()
    assert s.transfer_from_warehouse_id == item["warehouse_ids"][1] and s.transfer_qty > 0
    assert len(s.forecast) == len(s.baseline) == 42

    owner = client_at(mall.acme, mall.users["acme:owner"])
    page = owner.get("/restock/")
    assert page.status_code == 200
    assert item["sku"].encode() in page.content and b'data-testid="forecast-chart"' in page.content
    assert owner.get(f"/restock/?variant={item['variant_id']}&warehouse={item['warehouse_ids'][0]}").status_code == 200
    assert owner.get("/restock/?variant=x&warehouse=1").status_code == 404
    csv_text = b"".join(owner.get("/restock/purchase-list.csv").streaming_content).decode()
    assert item["sku"] in csv_text and str(s.reorder_qty) in csv_text
    assert client_at(mall.acme, mall.users["acme:warehouse"]).get("/restock/").status_code == 200
    assert client_at(mall.acme, mall.users["acme:finance"]).get("/restock/").status_code == 403
    # another store sees only its own suggestions, and its owner is refused on acme's host
    other = client_at(mall.globex, mall.users["globex:owner"])
    assert item["sku"].encode() not in other.get("/restock/").content
    assert item["sku"].encode() not in b"".join(other.get("/restock/purchase-list.csv").streaming_content)
    assert client_at(mall.acme, mall.users["globex:owner"]).get("/restock/").status_code in (403, 404)
    assert other.get(f"/restock/?variant={item['variant_id']}&warehouse={item['warehouse_ids'][0]}").status_code == 404


def test_three_days_of_history_use_the_baseline(mall):
    from reports.forecast_jobs import merchant_restock

    item = stock_item(mall.acme, stock=(100,))
    _history(mall, item, days=3, per_day=lambda i: 2)
    merchant_restock(mall.acme)
    s = RestockSuggestion.objects.get(merchant_id=mall.acme.pk, variant_id=item["variant_id"])
    assert s.method == "seasonal_naive" and s.forecast == s.baseline


def test_one_merchants_failure_never_stops_the_others(mall, monkeypatch):
    from reports import forecast_jobs

    sent = []

    def delay(merchant_id):
        if merchant_id == mall.acme.pk:
            raise RuntimeError("broker down for acme")
        sent.append(merchant_id)

    monkeypatch.setattr(forecast_jobs.restock_merchant, "delay", delay)
    forecast_jobs.restock_all()
    assert mall.globex.pk in sent and mall.initech.pk in sent and mall.acme.pk not in sent


def test_the_demo_seeder_leaves_acmes_best_seller_running_low_with_a_suggestion(mall):
    from catalog.models import StockLevel
    from core.tenancy import in_merchant_schema
    from reports.forecast_demo import seed_restock

    item = stock_item(mall.acme, stock=(500,))
    _history(mall, item, days=35, per_day=lambda i: 40)  # by far acme's best seller in this test
    seed_restock([mall.acme])
    with in_merchant_schema(mall.acme):
        left = StockLevel.objects.get(variant_id=item["variant_id"]).on_hand
    assert 100 <= left <= 120  # about three days of ~40 a day
    seed_restock([mall.acme])  # idempotent: the stock is not cut again
    with in_merchant_schema(mall.acme):
        assert StockLevel.objects.get(variant_id=item["variant_id"]).on_hand == left
    s = RestockSuggestion.objects.get(merchant_id=mall.acme.pk, variant_id=item["variant_id"])
    assert s.days_until_stockout is not None and s.days_until_stockout <= 3 and s.reorder_qty > 0
