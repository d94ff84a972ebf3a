"""A shopper fills one cart from three stores and checks out; each merchant sees its own suborder, and only it."""
import re
from pathlib import Path

from core.outbox import outbox_relay_batch
from orders.models import Order, SubOrderMirror
from storefront.models import ListingEntry
from tests.orders.factories import ADDRESS, stock_item

# Written under var/ so a test run never changes tracked files; copy it to docs/img/ to refresh the README's.
SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "order-page.png"


def test_shopper_checks_out_across_three_stores_and_each_store_sees_only_its_suborder(
        committed, site, page, new_page, login, unique, wait_until):
    mall = committed
    stores = {"acme": mall.acme, "globex": mall.globex, "initech": mall.initech}
    items = {slug: stock_item(m, price_minor=price, stock=(6,), tag=unique("E").replace("-", ""))
             for (slug, m), price in zip(stores.items(), (12900, 49900, 2350), strict=True)}

    # The relay brings the new products into the storefront's listing index.
    def listed():
        outbox_relay_batch(limit=500)
        entries = {slug: ListingEntry.objects.filter(merchant=stores[slug], variant_id=it["variant_id"], stock_state="in_stock").first()
                   for slug, it in items.items()}
        return entries if all(entries.values()) else None

    entries = wait_until(listed, message="three products in the listing index")

    # The shopper signs in on the mall host and finds each product in the listing, then adds it from its page.
    login(page, site.mall("/products/"), mall.users["shopper"].email)
    for slug, entry in entries.items():
        page.goto(site.mall(f"/products/?q={entry.name}&store={slug}"))
        assert page.locator(f"[data-testid=product-card][data-product='{slug}/{entry.product_id}']").count() == 1
        page.goto(site.mall(f"/products/{slug}/{entry.product_id}/"))
        assert page.get_by_test_id("product-store").inner_text() == stores[slug].name
        assert page.get_by_test_id("variant-sku").inner_text() == entry.sku
        page.get_by_test_id("quantity").fill("2" if slug == "initech" else "1")
        page.get_by_test_id("add-button").click()
        page.wait_for_load_state()
        assert "Added to your cart." in page.content()

    # The cart groups the lines by store.
    page.goto(site.mall("/cart/"))
    groups = page.get_by_test_id("store-group")
    assert groups.count() == 3
    assert sorted(groups.nth(i).get_attribute("data-store") for i in range(3)) == ["acme", "globex", "initech"]
    assert page.get_by_test_id("cart-total").inner_text() == "CNY 675.00"  # 129 + 499 + 2 × 23.50, shipping free

    # Checkout with an address.
    page.get_by_test_id("to-checkout").click()
    page.wait_for_url(re.compile(r"/checkout/$"))
    form = page.get_by_test_id("checkout-form")
    for key in ("name", "phone", "line1", "city", "region", "postcode"):
        form.locator(f"input[name={key}]").fill(ADDRESS[key])
    form.locator("select[name=country]").select_option(ADDRESS["country"])  # the countries the mall ships to
    page.get_by_test_id("place-order").click()
    page.wait_for_url(re.compile(r"/orders/[0-9A-F-]+/$"))

    # The order page shows one suborder per store.
    number = page.get_by_test_id("order-number").inner_text()
    order = Order.objects.get(number=number)
    assert order.shopper_id == mall.users["shopper"].pk and order.total_minor == 67500
    sections = page.get_by_test_id("suborder")
    assert sections.count() == 3
    shown = {sections.nth(i).get_attribute("data-store"): sections.nth(i).get_by_test_id("suborder-number").inner_text()
             for i in range(3)}
    mirrors = {m.merchant.slug: m.number for m in SubOrderMirror.objects.filter(order=order).select_related("merchant")}
    assert shown == mirrors and set(shown) == {"acme", "globex", "initech"}
    assert page.get_by_test_id("order-status").inner_text() == "Awaiting payment"
    assert page.get_by_test_id("order-total").inner_text() == "CNY 675.00"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Each store's owner, on the store's own host, sees its suborder and no other store's.
    for slug in ("acme", "globex"):
        staff = new_page()
        login(staff, site.at(stores[slug], "/suborders/"), mall.users[f"{slug}:owner"].email)
        staff.wait_for_url(re.compile(r"/suborders/$"))
        rows = staff.locator("[data-testid=suborders] tr[data-number]")
        numbers = {rows.nth(i).get_attribute("data-number") for i in range(rows.count())}
        assert shown[slug] in numbers
        assert not numbers & {n for s, n in shown.items() if s != slug}
        assert all(f"-{slug[:6].upper()}" in n for n in numbers), numbers  # every row is this store's
        staff.locator(f"tr[data-number='{shown[slug]}'] a").click()
        staff.wait_for_url(re.compile(r"/suborders/\d+/$"))
        assert staff.get_by_test_id("suborder-number").inner_text() == shown[slug]
        assert items[slug]["sku"] in staff.get_by_test_id("lines").inner_text()
