"""The demo seeder: acme gets its rules and runs replayed from real paid events; a second run adds nothing."""
from automation.demo import seed_automation
from automation.models import AutomationRule, RuleRun
from core.tenancy import in_merchant_schema
from orders.demo import DEMO_ADDRESS
from orders.services import CheckoutLine, order_checkout
from permissions.services import membership_grant, user_create
from tests.orders.factories import stock_item
from tests.payments.helpers import pay


def test_demo_rules_and_runs(mall):
    owner = user_create(email="owner@acme.localhost", password="x-demo-pass-1")
    membership_grant(user=owner, merchant=mall.acme, roles=["owner"])
    item = stock_item(mall.acme, price_minor=30000)
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=DEMO_ADDRESS, idempotency_key="demo-auto-1",
                              lines=[CheckoutLine(mall.acme.pk, item["variant_id"], 1)])
    pay(order)
    seed_automation([mall.acme])
    seed_automation([mall.acme])
    with in_merchant_schema(mall.acme):
        assert AutomationRule.objects.count() == 3 and AutomationRule.objects.filter(enabled=True).count() == 2
        runs = RuleRun.objects.filter(suborder__order_id=order.pk)
        assert sorted(r.rule_name for r in runs) == ["Shanghai deliveries 上海订单", "Tag big orders 大额订单"]
        assert sorted(runs.first().suborder.tags) == ["big-order", "shanghai"]
