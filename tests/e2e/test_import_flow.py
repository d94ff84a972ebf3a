"""acme's owner imports a Shopify orders export on the dashboard and sees the imported orders, with their
channel, in the suborder list. The steps are also the second half of the issue's integration path
(tests/e2e/test_webhooks_flow.py: webhook endpoint, shipment, delivery, then this import)."""
import re

from tests.imports.test_import_files import shopify_csv
from tests.orders.factories import stock_item


def test_owner_imports_a_shopify_csv_and_sees_the_orders_in_the_suborder_list(committed, site, page, login, unique, tmp_path):
    login(page, site.at(committed.acme, "/"), committed.users["acme:owner"].email)
    import_shopify_export_and_see_the_orders(page, site, committed, unique, tmp_path)


def import_shopify_export_and_see_the_orders(page, site, mall, unique, tmp_path) -> None:
    """Signed in as acme's owner: upload a Shopify export, preview, confirm, and find the orders in the list."""
    a = stock_item(mall.acme, price_minor=1000, stock=(20,), tag=unique("E").upper().replace("-", ""))
    b = stock_item(mall.acme, price_minor=2000, stock=(20,), tag=unique("E").upper().replace("-", ""))
    channel = unique("shop").lower().replace("-", "")[:30]
    first, second = f"#{unique('A')}", f"#{unique('B')}"
    path = tmp_path / "orders_export.csv"
    path.write_text(shopify_csv(a["sku"], b["sku"], first=first, second=second), encoding="utf-8")

    page.goto(site.at(mall.acme, "/"))
    page.get_by_role("link", name="Import orders").click()
    page.wait_for_url(re.compile(r"/imports/orders/$"))
    form = page.get_by_test_id("order-import-form")
    form.locator("input[name=file]").set_input_files(str(path))
    form.locator("select[name=file_format]").select_option("shopify")
    form.locator("input[name=channel]").fill(channel)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/imports/orders/[0-9a-f-]+/$"))
    assert "2 orders (3 lines) are fine: 2 to import" in page.get_by_test_id("order-import-ok").inner_text()

    page.get_by_test_id("order-import-confirm").click()
    done = page.get_by_test_id("order-import-done")
    assert "2 orders imported, 0 skipped" in done.inner_text()

    page.get_by_role("link", name="See them in the suborder list").click()
    page.wait_for_url(re.compile(r"/suborders/\?channel="))
    table = page.get_by_test_id("suborders")
    rows = table.locator("tbody tr")
    assert rows.count() == 3  # #first sits in two warehouses: two suborders, as a checkout would split it
    text = table.inner_text()
    assert first in text and second in text
    assert {c.strip() for c in table.get_by_test_id("channel").all_inner_texts()} == {channel}
