"""Browser: a new shopper signs up, verifies the email (the link read from the email backend), saves an
address by choosing 上海市 → 市辖区 → 浦东新区 in the cascading selects, buys two variants of one product and
one product of another store, and finds the order under "To pay"."""
import re

from django.core import mail
from playwright.sync_api import expect

from accounts.models import Address
from catalog.services import product_create, stock_receive, warehouse_create
from core.tenancy import in_merchant_schema
from orders.models import Order
from permissions.models import User
from tests.orders.factories import stock_item


def _two_variant_product(merchant, tag):
    with in_merchant_schema(merchant):
        wh = warehouse_create(code=f"W{tag}", name=f"Warehouse {tag}", region="SH", priority=5)
        product = product_create(name=f"Tent {tag}", variants=[
            {"sku": f"TENT-{tag}-GRN", "price_minor": 12900, "currency": "CNY", "weight_g": 500},
            {"sku": f"TENT-{tag}-SND", "price_minor": 13900, "currency": "CNY", "weight_g": 500}])
        variants = list(product.variants.order_by("id"))
        for v in variants:
            stock_receive(variant_id=v.pk, warehouse_id=wh.pk, quantity=5, reason="test stock")
    return [{"merchant_id": merchant.pk, "variant_id": v.pk} for v in variants]


def _add_to_cart(page, item):
    """Posts the storefront's add-to-cart form (the product page's own form is covered by the browsing tests)."""
    with page.expect_navigation():
        page.evaluate("""([m, v]) => {
        const f = document.createElement('form'); f.method = 'post'; f.action = '/cart/add/';
        const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken=')).split('=')[1];
        for (const [k, val] of [['csrfmiddlewaretoken', token], ['merchant_id', m], ['variant_id', v], ['quantity', '1'], ['next', '/cart/']]) {
            const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = String(val); f.appendChild(i);
        }
        document.body.appendChild(f); setTimeout(() => f.submit(), 0);  // after evaluate returns
    }""", [item["merchant_id"], item["variant_id"]])
    assert page.url.endswith("/cart/")


def test_new_shopper_signs_up_verifies_saves_an_address_and_buys(committed, site, page, unique):
    mall = committed
    tag = unique("S").replace("-", "")
    email = f"new-{tag}@example.test".lower()
    tent = _two_variant_product(mall.acme, tag)
    lamp = stock_item(mall.globex, price_minor=4900, stock=(5,), tag=tag)

    # Sign up.
    sent_before = len(mail.outbox)
    page.goto(site.mall("/"))
    page.get_by_test_id("signup-nav").click()
    form = page.get_by_test_id("signup-form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill("a-long-pass-123")
    form.locator("input[name=password2]").fill("a-long-pass-123")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/account/$"))
    expect(page.get_by_test_id("verify-banner")).to_be_visible()
    assert User.objects.get(email=email).email_verified_at is None

    # Verify with the link from the email.
    message = next(m for m in mail.outbox[sent_before:] if m.to == [email])
    link = re.search(r"http://\S+/account/verify/\S+/", message.body).group(0)
    assert link.startswith(site.mall("/"))  # the right host and port
    page.goto(link)
    expect(page.get_by_test_id("email-verified")).to_be_visible()
    assert page.get_by_test_id("verify-banner").count() == 0

    # Save an address with the cascading selects.
    page.get_by_test_id("addresses-link").click()
    page.get_by_test_id("address-add").click()
    form = page.get_by_test_id("address-form")
    form.locator("input[name=name]").fill("新买家")
    form.locator("input[name=phone]").fill("13912345678")
    page.get_by_test_id("province").select_option(label="上海市")
    page.get_by_test_id("city").select_option(label="市辖区")
    page.get_by_test_id("district").select_option(label="浦东新区")
    form.locator("input[name=line1]").fill("世纪大道100号")
    page.get_by_test_id("address-save").click()
    page.wait_for_url(re.compile(r"/account/addresses/$"))
    expect(page.get_by_test_id("address-default")).to_be_visible()
    address = Address.objects.get(user__email=email)
    assert (address.region, address.city, address.district, address.division_code) == ("CN-SH", "市辖区", "浦东新区", "310115")

    # Two variants of one product and a product of another store.
    for item in (*tent, lamp):
        _add_to_cart(page, item)
    page.goto(site.mall("/checkout/"))
    checkout = page.get_by_test_id("checkout-form")
    assert checkout.locator("input[name=district]").input_value() == "浦东新区"  # from the address book
    page.get_by_test_id("place-order").click()
    page.wait_for_url(re.compile(r"/orders/[0-9A-Z-]+/$"))
    order = Order.objects.get(shopper__email=email)
    assert sorted(ln.variant_id for ln in order.lines.all()) == sorted([tent[0]["variant_id"], tent[1]["variant_id"], lamp["variant_id"]])
    assert order.shipping_address["district"] == "浦东新区"

    # "My orders", tab "To pay".
    page.goto(site.mall("/orders/"))
    page.locator("[data-testid=order-tabs] [data-tab=to_pay]").click()
    page.wait_for_url(re.compile(r"tab=to_pay"))
    expect(page.locator(f"[data-testid=orders] tr[data-number='{order.number}']")).to_be_visible()


def test_account_pages_fit_a_phone_screen(committed, site, browser, login):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site.mall("/")) else None)

        def fits(path):
            page.goto(site.mall(path))
            widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"{path} scrolls sideways: {widths}"

        for path in ("/account/signup/", "/order-lookup/", "/account/password/reset/"):
            fits(path)
        login(page, site.mall("/account/"), committed.users["shopper"].email)
        for path in ("/account/", "/account/addresses/", "/account/addresses/new/", "/account/password/"):
            fits(path)
        assert outside == []  # nothing from another host
    finally:
        context.close()
