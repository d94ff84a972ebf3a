"""Acme's owner opens the dashboard and the reports page on a phone-sized screen: the charts are there (inline SVG)
and the figures match the tables under them. (Rows of browser tests commit.)"""
from core.outbox import outbox_relay_batch
from tests.payments.helpers import pay, place_order


def test_owner_sees_charts_whose_numbers_match_the_tables(committed, site, page, login):
    mall = committed
    order, _ = place_order(mall, stores=("acme",), qty=2, price_minor=3456)
    pay(order)
    while outbox_relay_batch(limit=500):  # the rollup subscribers count the sale
        pass
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, site.at(mall.acme, "/"), mall.users["acme:owner"].email)
    card = page.get_by_test_id("dashboard-sales")
    assert card.locator("svg.chart").count() == 1
    orders_home = int(page.locator('[data-testid="dashboard-kpis"] tr[data-kpi="orders"] td').first.inner_text())
    assert orders_home >= 1

    page.goto(site.at(mall.acme, "/reports/?days=30"))
    for chart in ("chart-days", "chart-heat", "chart-regions", "chart-best", "chart-bands"):
        assert page.get_by_test_id(chart).locator("svg").count() == 1, chart
    kpi_orders = int(page.locator('tr[data-kpi="orders"] td').first.inner_text())
    kpi_gmv = int(page.locator('tr[data-kpi="gmv_minor"] td').first.get_attribute("data-value"))
    day_orders = page.locator('[data-testid="table-days"] td[data-col="orders"]').all_text_contents()
    day_gmv = [int(c.get_attribute("data-value")) for c in page.locator('[data-testid="table-days"] td[data-col="gmv"]').all()]
    assert kpi_orders == orders_home == sum(int(v) for v in day_orders)
    assert kpi_gmv == sum(day_gmv) and kpi_gmv >= 2 * 3456
    assert len(day_orders) == 30
