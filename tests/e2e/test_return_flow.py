"""A shopper asks to return one line of a delivered parcel with a photo; acme's owner approves; the
warehouse receives and inspects (restocked); finance refunds; the shopper sees the refund on the order page."""
import re

from core.tenancy import in_merchant_schema
from payments.models import Refund
from returns.models import ReturnRequest
from tests.returns.helpers import delivered_suborder, png_bytes


def test_return_of_one_line_with_a_photo_to_refund(committed, site, page, new_page, login, wait_until):
    mall = committed
    order, so, items = delivered_suborder(mall, qty=2, lines=2, price_minor=2500)

    # The shopper: "Return or exchange" on the order page, one unit of the first line, a photo.
    login(page, site.mall(f"/orders/{order.number}/"), mall.users["shopper"].email)
    page.get_by_test_id("return-or-exchange").click()
    page.wait_for_url(re.compile(r"/returns/new/"))
    page.get_by_test_id("qty-0").fill("1")
    page.get_by_test_id("reason-code").select_option("damaged")
    page.get_by_test_id("reason-text").fill("The zip is broken / 拉链坏了")
    page.get_by_test_id("photos").set_input_files([{"name": "zip.png", "mimeType": "image/png", "buffer": png_bytes((40, 30))}])
    page.get_by_test_id("submit-return").click()
    page.wait_for_url(re.compile(r"/returns/\d+/\d+/$"))
    assert page.get_by_test_id("return-status").get_attribute("data-status") == "requested"
    with in_merchant_schema(mall.acme):
        ret = ReturnRequest.objects.get(suborder_id=so.pk)
        assert ret.photos.count() == 1 and ret.lines.get().quantity == 1

    # Acme's owner approves from the queue.
    owner = new_page()
    login(owner, site.at(mall.acme, "/returns/?queue=decide"), mall.users["acme:owner"].email)
    owner.locator(f"[data-number='{ret.number}'] a").click()
    owner.wait_for_url(re.compile(rf"/returns/{ret.pk}/$"))
    assert owner.locator("[data-testid=return-photos] img").count() == 1
    owner.get_by_test_id("approve").click()
    owner.wait_for_load_state()
    assert owner.get_by_test_id("return-status").inner_text() == "Awaiting your parcel"

    # The warehouse receives the parcel and inspects it: restocked to the suborder's warehouse.
    wh = new_page()
    login(wh, site.at(mall.acme, f"/returns/{ret.pk}/"), mall.users["acme:warehouse"].email)
    wh.get_by_test_id("receive").click()
    wh.wait_for_load_state()
    assert wh.get_by_test_id("return-status").inner_text() == "Received by the store"
    wh.get_by_test_id("restock-0").fill("1")
    wh.get_by_test_id("inspect").click()
    wh.wait_for_load_state()
    assert wh.get_by_test_id("return-status").inner_text() == "Inspected"

    # Finance refunds.
    fin = new_page()
    login(fin, site.at(mall.acme, f"/returns/{ret.pk}/"), mall.users["acme:finance"].email)
    fin.get_by_test_id("refund").click()
    fin.wait_for_load_state()
    assert fin.get_by_test_id("return-status").inner_text() == "Refunded"
    refund = wait_until(lambda: Refund.objects.filter(order=order, status="succeeded").first(), message="refund succeeded")
    assert refund.amount_minor == 2500

    # The shopper sees the refund on the order page.
    page.goto(site.mall(f"/orders/{order.number}/"))
    assert "CNY 25.00" in page.get_by_test_id("refunds").inner_text()
    assert page.get_by_test_id("order-return").get_attribute("data-status") == "refunded"
    with in_merchant_schema(mall.acme):
        assert [ln.returned_qty for ln in so.lines.order_by("pk")] == [1, 0]
