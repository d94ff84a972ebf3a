"""Roles in the browser: acme's customer service changes the address of an unshipped suborder and sees
the change in its history, with no refund button anywhere; acme's warehouse user opens the same page and
sees no price at all (and no way to change the address)."""
import re

from orders.models import SubOrderMirror
from orders.services import CheckoutLine, order_checkout
from tests.orders.factories import ADDRESS, stock_item
from tests.payments.helpers import pay


def test_customer_service_edits_the_address_and_warehouse_sees_no_price(committed, site, new_page, login, unique, wait_until):
    mall = committed
    item = stock_item(mall.acme, price_minor=12345, stock=(5,), tag=unique("R").replace("-", ""))
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                              lines=[CheckoutLine(item["merchant_id"], item["variant_id"], 2)], idempotency_key=unique("e2e-roles"))
    pay(order)
    suborder_id = SubOrderMirror.objects.get(order=order, merchant=mall.acme).suborder_id
    url = site.at(mall.acme, f"/suborders/{suborder_id}/")

    cs = new_page()
    login(cs, url, mall.users["acme:customer_service"].email)
    assert cs.get_by_test_id("refund-form").count() == 0 and cs.get_by_role("button", name=re.compile("Refund")).count() == 0
    assert "123.45" in cs.content()  # customer service may read amounts, never change them
    cs.get_by_test_id("contact-edit").locator("summary").click()
    cs.fill("input[name=address_line1]", "88 Huaihai Road")
    cs.fill("input[name=address_phone]", "+86 139 1111 2222")
    cs.get_by_test_id("contact-save").click()
    cs.wait_for_url(url)
    assert "88 Huaihai Road" in cs.get_by_test_id("address").inner_text()
    changes = cs.get_by_test_id("change").all_inner_texts()
    assert "line1: 1 Nanjing Road → 88 Huaihai Road" in changes
    assert "phone: +86 138 0000 0000 → +86 139 1111 2222" in changes

    wh = new_page()
    login(wh, url, mall.users["acme:warehouse"].email)
    body = wh.locator("main").inner_text()
    assert "88 Huaihai Road" in body  # the warehouse needs the street to ship
    assert "123.45" not in body and "246.90" not in body and not re.search(r"CNY\s?[\d,]+\.\d\d", body)
    assert wh.get_by_test_id("totals").count() == 0 and wh.get_by_test_id("contact-edit").count() == 0
