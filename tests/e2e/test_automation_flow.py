"""Acme's owner writes the rule "accept paid suborders under 100", dry-runs it against a past suborder,
switches it on; a shopper's checkout is paid, the outbox relay runs the rule, and the suborder page shows it
accepted with the rule named on its timeline. (The rule is limited to this test's SKU and switched off at
the end: rows of browser tests commit.)"""
import re

from automation.models import AutomationRule
from catalog.services import product_create, stock_receive, warehouse_create
from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from orders.services import CheckoutLine, order_checkout
from suborders.models import SubOrder
from tests.orders.factories import ADDRESS
from tests.payments.helpers import pay


def _paid_suborder(mall, variant_id, unique):
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS, idempotency_key=unique("e2e-auto"),
                              lines=[CheckoutLine(mall.acme.pk, variant_id, 1)])
    pay(order)
    with in_merchant_schema(mall.acme):
        return SubOrder.objects.get(order_id=order.pk)


def test_owner_creates_dry_runs_and_switches_on_a_rule_that_accepts_a_paid_suborder(committed, site, page, login, unique, wait_until):
    mall = committed
    tag = unique("A").replace("-", "")
    sku = f"AUTO{tag}".upper()[:30]
    with in_merchant_schema(mall.acme):
        wh = warehouse_create(code=f"A{tag}"[:20], name=f"Auto {tag}", region="SH", priority=1)
        variant = product_create(name=f"Rule thing {tag}", variants=[{"sku": sku, "price_minor": 2500, "currency": "CNY",
                                                                        "weight_g": 200}]).variants.get()
        stock_receive(variant_id=variant.pk, warehouse_id=wh.pk, quantity=10, reason="e2e")
    past = _paid_suborder(mall, variant.pk, unique)  # paid before the rule existed: the dry run should pick it
    outbox_relay_batch(limit=1000)  # its "paid" event is delivered now, before any rule exists

    login(page, site.at(mall.acme, "/automation/"), mall.users["acme:owner"].email)
    page.get_by_test_id("rule-new").click()
    page.get_by_test_id("rule-name").fill(f"Accept paid suborders under 100 {tag}")
    page.get_by_test_id("rule-trigger").select_option("paid")
    page.get_by_test_id("rule-amount-max").fill("100.00")
    page.get_by_test_id("rule-skus").fill(sku)
    page.get_by_test_id("rule-act-accept").check()
    page.get_by_test_id("rule-save").click()
    page.wait_for_url(re.compile(r"/automation/\d+/dry-run/"))
    row = page.locator(f'[data-testid="dry-run"] tr[data-number="{past.number}"]')
    assert row.get_attribute("data-matched") == "yes" and "Accept the suborder" in row.inner_text()
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=past.pk).status == "awaiting_acceptance"  # the dry run changed nothing
        rule = AutomationRule.objects.get(name=f"Accept paid suborders under 100 {tag}")
        assert rule.enabled is False

    page.get_by_test_id("dry-run-enable").click()
    page.wait_for_url(re.compile(r"/automation/$"))
    assert page.locator(f'tr[data-rule="{rule.pk}"]').get_by_test_id("rule-status").inner_text() == "On"

    try:
        so = _paid_suborder(mall, variant.pk, unique)
        outbox_relay_batch(limit=1000)  # the worker's job in production

        def accepted():
            outbox_relay_batch(limit=200)
            with in_merchant_schema(mall.acme):
                return SubOrder.objects.get(pk=so.pk).status == "accepted"

        wait_until(accepted, message="the rule to accept the suborder")
        page.goto(site.at(mall.acme, f"/suborders/{so.pk}/"))
        assert page.get_by_test_id("suborder-status").inner_text() == "Accepted"
        run = page.get_by_test_id("rule-run")
        assert f"automation rule “Accept paid suborders under 100 {tag}” fired" in run.inner_text()
        assert "as owner@acme.test" in run.inner_text()
        with in_merchant_schema(mall.acme):
            assert SubOrder.objects.get(pk=past.pk).status == "awaiting_acceptance"  # rules act on new events only
    finally:
        with in_merchant_schema(mall.acme):
            AutomationRule.objects.filter(pk=rule.pk).update(enabled=False)
