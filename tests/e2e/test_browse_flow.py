"""A shopper on a phone (390x844) finds a product by search, picks size and colour, sees that option's price
and stock change, adds it, sees the cart badge count, and the cart holds exactly that variant."""
import re

from catalog.services import product_create, stock_receive, warehouse_create
from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from orders.models import CartLine
from storefront.models import ListingProduct

NO_OVERFLOW = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def test_browse_pick_options_and_add_the_shown_variant(committed, site, new_page, unique, wait_until):
    mall = committed
    tag = unique("BR").replace("-", "")
    name = f"Ridge Parka {tag}"
    with in_merchant_schema(mall.acme):
        wh = warehouse_create(code=f"W{tag}", name="Browse warehouse", region="SH", priority=1)
        product = product_create(name=name, description="A parka for the ridge.", variants=[
            {"sku": f"{tag}-S-RED", "price_minor": 50000, "options": {"size": "S", "colour": "red"}},
            {"sku": f"{tag}-M-RED", "price_minor": 52000, "options": {"size": "M", "colour": "red"}},
            {"sku": f"{tag}-M-NAVY", "price_minor": 54000, "options": {"size": "M", "colour": "navy"}},
            {"sku": f"{tag}-S-NAVY", "price_minor": 51000, "options": {"size": "S", "colour": "navy"}},
        ])
        variants = {v.sku: v for v in product.variants.all()}
        for sku, qty in ((f"{tag}-S-RED", 20), (f"{tag}-M-RED", 2), (f"{tag}-M-NAVY", 9)):  # S/navy sold out
            stock_receive(variant_id=variants[sku].pk, warehouse_id=wh.pk, quantity=qty, reason="test stock")

    def listed():
        with in_merchant_schema(mall.acme):
            outbox_relay_batch(limit=500)
        return ListingProduct.objects.filter(merchant=mall.acme, product_id=product.pk, in_stock=True,
                                             variant_count=4).first()

    wait_until(listed, message="the parka in the listing index")

    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not re.match(r"^(https?://[^/]*localhost[:/]|data:|blob:)", r.url) else None)
    page.goto(site.mall("/"))
    page.get_by_test_id("home-search").fill(tag)
    page.get_by_test_id("home-search").press("Enter")
    page.wait_for_url(re.compile(r"/products/\?"))
    cards = page.get_by_test_id("product-card")
    assert cards.count() == 1  # one card for the four variants
    assert page.evaluate(NO_OVERFLOW), "the search page scrolls sideways at 390 px"
    assert cards.first.get_by_test_id("listing-price").inner_text().startswith("from CNY 500.00")
    cards.first.get_by_test_id("listing-name").click()
    page.wait_for_url(re.compile(rf"/products/acme/{product.pk}/"))

    # the cheapest in-stock option is shown first
    assert page.get_by_test_id("variant-price").inner_text() == "CNY 500.00"
    page.get_by_test_id("opt-size").select_option("M")
    assert page.get_by_test_id("variant-price").inner_text() == "CNY 520.00"
    assert page.get_by_test_id("variant-stock").get_attribute("data-state") == "low"
    page.get_by_test_id("opt-colour").select_option("navy")
    assert page.get_by_test_id("variant-price").inner_text() == "CNY 540.00"
    assert page.get_by_test_id("variant-stock").get_attribute("data-state") == "in_stock"
    assert page.get_by_test_id("variant-sku").inner_text() == f"{tag}-M-NAVY"
    # a sold-out option cannot be added
    page.get_by_test_id("opt-size").select_option("S")
    assert page.get_by_test_id("variant-stock").get_attribute("data-state") == "out"
    assert page.get_by_test_id("add-button").is_disabled()
    page.get_by_test_id("opt-size").select_option("M")
    assert not page.get_by_test_id("add-button").is_disabled()
    # no horizontal scrolling on a phone
    assert page.evaluate(NO_OVERFLOW), "the product page scrolls sideways at 390 px"

    page.get_by_test_id("quantity").fill("2")
    page.get_by_test_id("add-button").click()
    page.wait_for_load_state()
    assert "Added to your cart." in page.content()
    assert page.get_by_test_id("cart-count").inner_text() == "2"
    # back on the same option after adding
    assert page.get_by_test_id("variant-sku").inner_text() == f"{tag}-M-NAVY"

    lines = list(CartLine.objects.filter(merchant=mall.acme, variant_id__in=[v.pk for v in variants.values()],
                                         added_at__isnull=False).values_list("variant_id", "quantity"))
    assert lines == [(variants[f"{tag}-M-NAVY"].pk, 2)]
    page.goto(site.mall("/cart/"))
    assert f"{tag}-M-NAVY" in page.content() or name in page.content()
    assert page.get_by_test_id("cart-count").inner_text() == "2"
    page.goto(site.mall("/stores/acme/"))
    assert page.get_by_test_id("store-policies").is_visible()
    assert page.evaluate(NO_OVERFLOW), "the store page scrolls sideways at 390 px"
    assert outside == [], outside
