"""acme's owner exports last month's suborders to XLSX from the suborder list, watches the progress bar
complete and downloads the file (read back with openpyxl); then opens the restock page and sees a
suggestion for a variant seeded to run out."""
import datetime as dt
import io
import re

import pytest
from django.utils import timezone

from tests.orders.factories import stock_item
from tests.reports.helpers import suborder


@pytest.fixture
def eager_tasks():
    """No Celery worker in tests: the export task runs right after the request's commit."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_owner_exports_last_months_suborders_and_sees_a_restock_suggestion(committed, site, page, login, unique, eager_tasks):
    from openpyxl import load_workbook

    mall = committed
    channel = unique("e2e").lower()
    today = timezone.localdate()
    first_this = today.replace(day=1)
    last_prev = first_this - dt.timedelta(days=1)
    first_prev = last_prev.replace(day=1)
    item = stock_item(mall.acme, stock=(5,), tag=unique("R").upper().replace("-", ""))
    wh = item["warehouse_ids"][0]
    numbers = set()
    for i in range(63, 0, -1):  # nine weeks of daily sales of the variant, weekends busier
        day = today - dt.timedelta(days=i)
        when = timezone.make_aware(dt.datetime.combine(day, dt.time(11)))
        so = suborder(mall.acme, channel=channel, created_at=when, warehouse_id=wh, warehouse_name="E2E",
                      lines=[(item["variant_id"], item["sku"], 3 + (2 if day.weekday() >= 5 else 0))])
        if first_prev <= day <= last_prev:
            numbers.add(so.number)

    login(page, site.at(mall.acme, "/"), mall.users["acme:owner"].email)
    page.goto(site.at(mall.acme, f"/suborders/?channel={channel}&from={first_prev:%Y-%m-%d}&to={last_prev:%Y-%m-%d}"))
    page.get_by_test_id("export-xlsx").click()
    page.wait_for_url(re.compile(r"/exports/[0-9a-f-]+/$"))
    link = page.get_by_test_id("export-download")
    link.wait_for(state="visible", timeout=30_000)
    assert page.get_by_test_id("export-progress").get_attribute("value") == "100"
    with page.expect_download() as info:
        link.click()
    data = open(info.value.path(), "rb").read()
    ws = load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0][0] == "Suborder" and "Total" in rows[0]
    assert {r[0] for r in rows[1:]} == numbers

    page.goto(site.at(mall.acme, "/restock/"))
    page.get_by_test_id("restock-refresh").click()
    page.wait_for_url(re.compile(r"/restock/$"))
    row = page.locator(f"[data-testid=restock-row][data-sku='{item['sku']}']")
    assert row.count() == 1
    assert int(row.get_by_test_id("reorder-qty").inner_text()) > 0
    assert page.get_by_test_id("forecast-chart").count() == 1
