"""Acme's warehouse user ships two of three lines, prints the label, ships the rest, enters a "delivered"
event for the first parcel by hand; the shopper sees two parcels with tracking and confirms receipt; the
suborder completes when the window closes."""
import re
from datetime import timedelta

from catalog.services import product_create, stock_receive, warehouse_create
from core.tenancy import in_merchant_schema
from orders.models import SubOrderMirror
from orders.services import CheckoutLine, order_checkout
from orders.services.sweeps import suborders_sweep
from suborders.models import SubOrder
from suborders.services import suborder_accept
from tests.orders.factories import ADDRESS
from tests.payments.helpers import pay


def test_warehouse_ships_in_two_parcels_and_the_shopper_confirms_receipt(committed, site, page, new_page, login, unique, wait_until):
    mall = committed
    tag = unique("F").replace("-", "")
    with in_merchant_schema(mall.acme):
        wh = warehouse_create(code=f"E{tag}"[:20], name=f"E2E {tag}", region="SH", priority=1)
        skus = []
        for i in range(3):
            sku = f"E{tag}{i}".upper()[:30]
            v = product_create(name=f"Parcel thing {i}", variants=[{"sku": sku, "price_minor": 1500, "currency": "CNY", "weight_g": 200}]).variants.get()
            stock_receive(variant_id=v.pk, warehouse_id=wh.pk, quantity=5, reason="e2e")
            skus.append((sku, v.pk))
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS, idempotency_key=unique("e2e-f"),
                              lines=[CheckoutLine(mall.acme.pk, vid, 1) for _sku, vid in skus])
    pay(order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
        suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])

    staff = new_page()
    login(staff, site.at(mall.acme, f"/suborders/{so.pk}/"), mall.users["acme:warehouse"].email)
    form = staff.get_by_test_id("ship-form")
    form.get_by_test_id(f"ship-qty-{skus[2][0]}").fill("0")  # two of three lines
    form.get_by_test_id("carrier").select_option("sf")
    form.get_by_test_id("tracking-number").fill("SF1" + f"{abs(hash(tag)) % 10**12:012d}")
    form.get_by_test_id("ship").click()
    staff.wait_for_load_state()
    assert staff.get_by_test_id("suborder-status").inner_text() == "Partially shipped"
    # print the first parcel's label
    href = staff.get_by_test_id("label-link").first.get_attribute("href")
    status, ctype, head = staff.evaluate(
        "async (u) => { const r = await fetch(u); const b = new Uint8Array(await r.arrayBuffer());"
        " return [r.status, r.headers.get('content-type'), String.fromCharCode(...b.slice(0, 4))]; }", href)
    assert (status, ctype, head) == (200, "application/pdf", "%PDF")
    # the rest, from the pack screen
    staff.goto(site.at(mall.acme, f"/suborders/{so.pk}/pack/"))
    scan = staff.get_by_test_id("scan")
    scan.fill(skus[2][0])
    scan.press("Enter")
    assert staff.get_by_test_id(f"packed-{skus[2][0]}").input_value() == "1"
    staff.get_by_test_id("carrier").select_option("zto")
    staff.get_by_test_id("tracking-number").fill("73" + f"{abs(hash(tag + 'z')) % 10**10:010d}")
    staff.get_by_test_id("ship-packed").click()
    staff.wait_for_url(re.compile(rf"/suborders/{so.pk}/$"))
    assert staff.get_by_test_id("suborder-status").inner_text() == "Shipped"
    # the courier phones: the first parcel was left at the front desk; entered by hand on the page
    tracking = staff.get_by_test_id("shipment").first.get_by_test_id("tracking-form")
    tracking.get_by_test_id("tracking-kind").select_option("delivered")
    tracking.get_by_test_id("tracking-location").fill("前台 Front desk")
    tracking.get_by_test_id("tracking-add").click()
    staff.wait_for_load_state()
    first = staff.get_by_test_id("shipment").first
    assert first.get_by_test_id("shipment-status").inner_text() == "delivered"
    assert "前台 Front desk" in first.get_by_test_id("tracking-events").inner_text()
    assert staff.get_by_test_id("suborder-status").inner_text() == "Shipped"  # the second parcel is still on its way
    with in_merchant_schema(mall.acme):
        assert [ln.delivered_qty for ln in SubOrder.objects.get(pk=so.pk).lines.order_by("sku")] == [1, 1, 0]

    # the shopper sees two parcels and confirms receipt
    login(page, site.mall(f"/orders/{order.number}/"), mall.users["shopper"].email)
    parcels = page.get_by_test_id("parcel")
    assert parcels.count() == 2
    assert page.get_by_test_id("tracking-link").count() == 2
    page.get_by_test_id("confirm-receipt").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("suborder-status").inner_text() == "Delivered"

    # the return window closes (frozen time: the sweep runs as of that moment): completed
    with in_merchant_schema(mall.acme):
        closes = SubOrder.objects.get(pk=so.pk).complete_after
    # (committed rows of other tests may be due too: assert on this suborder, not on the sweep's count)
    suborders_sweep(kind="complete", now=closes - timedelta(seconds=1))
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).status == "delivered"
    assert suborders_sweep(kind="complete", now=closes + timedelta(seconds=1)) >= 1
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).status == "completed"
    page.reload()
    assert page.get_by_test_id("suborder-status").inner_text() == "Completed"
