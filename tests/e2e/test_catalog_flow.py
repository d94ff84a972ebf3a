"""A merchant adds a product and receives stock through the dashboard; a shopper finds it on the storefront."""
import re

from core.outbox import outbox_relay_batch
from storefront.models import ListingEntry


def test_merchant_adds_product_with_stock_and_shopper_finds_it(committed, site, page, new_page, login, unique,
                                                              wait_until):
    mall = committed
    name = f"Summit Parka {unique('sp')}"
    sku = unique("SP-").upper().replace("_", "-")
    code = unique("W").upper().replace("-", "")[:30]

    # The owner signs in on acme's host and opens the dashboard.
    login(page, site.at(mall.acme, "/"), mall.users["acme:owner"].email)
    assert page.get_by_test_id("merchant-name").inner_text() == "Acme Outfitters"

    # A warehouse to receive into.
    page.goto(site.at(mall.acme, "/catalog/warehouses/"))
    form = page.get_by_test_id("warehouse-form")
    form.locator("input[name=code]").fill(code)
    form.locator("input[name=name]").fill("E2E warehouse")
    form.locator("input[name=priority]").fill("1")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/catalog/warehouses/$"))
    assert code in page.get_by_test_id("warehouses").inner_text()

    # The product with one variant, price typed as a decimal.
    page.goto(site.at(mall.acme, "/catalog/products/"))
    page.get_by_test_id("new-product").click()
    page.fill("input[name=name]", name)
    page.fill("input[name=new_category]", "Jackets")
    page.fill("input[name=v-0-sku]", sku)
    page.fill("input[name=v-0-options]", "size=M; colour=orange")
    page.fill("input[name=v-0-price]", "899.90")
    page.get_by_test_id("save-product").click()
    page.wait_for_url(re.compile(r"/catalog/products/\d+/$"))
    assert "Product created." in page.content()

    # Receive 15 units through the stock page.
    page.get_by_test_id(f"stock-link-{sku}").click()
    receive = page.get_by_test_id("receive-form")
    receive.locator("select[name=receive-warehouse]").select_option(label=f"{code} · E2E warehouse")
    receive.locator("input[name=receive-quantity]").fill("15")
    receive.locator("input[name=receive-reference]").fill("PO-E2E")
    page.get_by_test_id("receive-submit").click()
    page.wait_for_url(re.compile(r"/catalog/stock/\d+/$"))
    row = page.locator(f"[data-testid=levels] tr[data-warehouse='{code}']")
    assert row.get_by_test_id("on-hand").inner_text() == "15"
    assert "PO-E2E" in page.get_by_test_id("movements").inner_text()

    # The outbox relay carries the change to the public listing index (the worker's job in production).
    def listed():
        outbox_relay_batch(limit=500)
        return ListingEntry.objects.filter(merchant=mall.acme, sku=sku, stock_state="in_stock").first()

    entry = wait_until(listed, message=f"{sku} in the listing index")
    assert (entry.available, entry.price_minor, entry.store_name) == (15, 89990, "Acme Outfitters")

    # A shopper, not signed in, searches the storefront on the mall host.
    shopper = new_page()
    shopper.goto(site.mall("/"))
    shopper.get_by_test_id("nav-products").click()
    shopper.get_by_test_id("search-q").fill("Summit Parka")
    shopper.get_by_test_id("search-submit").click()
    card = shopper.locator(f"[data-testid=product-card][data-product='acme/{entry.product_id}']")
    assert card.get_by_test_id("listing-name").inner_text() == name  # one card per product
    assert card.get_by_test_id("listing-store").inner_text() == "Acme Outfitters"
    assert card.get_by_test_id("stock-state").inner_text() == "In stock"
    assert card.get_by_test_id("listing-price").inner_text() == "CNY 899.90"

    # The product page names the store, the chosen option and its stock state.
    card.get_by_test_id("listing-name").click()
    shopper.wait_for_url(re.compile(r"/products/acme/\d+/$"))
    assert shopper.get_by_test_id("product-store").inner_text() == "Acme Outfitters"
    assert shopper.get_by_test_id("opt-colour").input_value() == "orange"
    assert shopper.get_by_test_id("variant-sku").inner_text() == sku
    assert shopper.get_by_test_id("variant-stock").get_by_test_id("stock-state").inner_text() == "In stock"
