"""A shopper pays a three-store order in the sandbox; every store sees its suborder awaiting
acceptance; acme's finance refunds one line; the shopper sees the refund on the order page."""
import re

from orders.models import OrderLine, SubOrderMirror
from orders.services import CheckoutLine, order_checkout
from payments.models import GatewayEvent, Payment, Refund
from payments.services import ledger_check
from tests.orders.factories import ADDRESS, stock_item


def test_shopper_pays_three_stores_in_the_sandbox_and_acme_finance_refunds_a_line(
        committed, site, page, new_page, login, unique, wait_until):
    mall = committed
    stores = {"acme": mall.acme, "globex": mall.globex, "initech": mall.initech}
    items = {slug: stock_item(m, price_minor=price, stock=(5,), tag=unique("P").replace("-", ""))
             for (slug, m), price in zip(stores.items(), (12900, 49900, 2350), strict=True)}
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                              lines=[CheckoutLine(it["merchant_id"], it["variant_id"], 2) for it in items.values()],
                              idempotency_key=unique("e2e-pay"))

    # The shopper opens the order, picks the sandbox and pays.
    login(page, site.mall(f"/orders/{order.number}/"), mall.users["shopper"].email)
    assert page.get_by_test_id("order-status").inner_text() == "Awaiting payment"
    page.get_by_test_id("gateway-sandbox").check()
    page.get_by_test_id("pay-button").click()
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    assert page.get_by_test_id("sandbox-amount").inner_text() == f"CNY {order.total_minor / 100:,.2f}"
    page.get_by_test_id("sandbox-succeed").click()
    page.wait_for_url(re.compile(rf"/orders/{order.number}/$"))
    payment = wait_until(lambda: Payment.objects.filter(order=order, status="captured").first(), message="payment captured")
    assert payment.captured_minor == order.total_minor
    assert GatewayEvent.objects.filter(payment=payment, result="applied").count() == 1  # duplicates are stored once
    page.reload()
    assert page.get_by_test_id("payment-status").inner_text() == "Paid"
    assert page.get_by_test_id("pay").count() == 0

    # Every store sees its suborder awaiting acceptance.
    mirrors = {m.merchant.slug: m for m in SubOrderMirror.objects.filter(order=order).select_related("merchant")}
    for slug in ("acme", "globex", "initech"):
        staff = new_page()
        login(staff, site.at(stores[slug], f"/suborders/{mirrors[slug].suborder_id}/"), mall.users[f"{slug}:owner"].email)
        assert staff.get_by_test_id("suborder-status").inner_text() == "Awaiting acceptance"

    # Acme's finance refunds one unit of its line.
    finance = new_page()
    login(finance, site.at(mall.acme, f"/suborders/{mirrors['acme'].suborder_id}/"), mall.users["acme:finance"].email)
    form = finance.get_by_test_id("refund-form")
    form.get_by_test_id(f"refund-qty-{items['acme']['sku']}").fill("1")
    form.get_by_test_id("refund-reason").fill("scratched on arrival")
    form.get_by_test_id("refund-submit").click()
    finance.wait_for_load_state()
    assert "Refund of CNY 129.00 requested." in finance.content()
    refund = wait_until(lambda: Refund.objects.filter(order=order, status="succeeded").first(), message="refund succeeded")
    line = OrderLine.objects.get(order=order, merchant=mall.acme)
    assert refund.amount_minor == line.line_total_minor // 2 == 12900
    assert finance.locator("[data-testid=suborder-refunds] [data-testid=refund]").count() == 1

    # The shopper sees the refund; the ledger balances.
    page.reload()
    assert page.get_by_test_id("payment-status").inner_text() == "Partially refunded"
    refunds = page.get_by_test_id("refunds")
    assert "scratched on arrival" in refunds.inner_text() and "CNY 129.00" in refunds.inner_text()
    assert page.get_by_test_id("refunded-total").inner_text() == "CNY 129.00"
    assert ledger_check(order_ids=[order.pk]) == []
