"""The demo seeder imports acme's Shopify and Taobao orders through the real job and works some of them."""
from __future__ import annotations

from core.tenancy import in_merchant_schema
from permissions.roles import Role
from permissions.services import membership_grant, user_create
from suborders.models import SubOrder
from tests.orders.factories import stock_item


def test_the_demo_seeder_imports_orders_from_two_channels_in_different_states(mall):
    from imports.demo import seed_imports

    for _ in range(3):
        stock_item(mall.acme, stock=(50,))
    owner = user_create(email="owner@acme.localhost", password=None)
    membership_grant(user=owner, merchant=mall.acme, roles=[Role.OWNER])
    with in_merchant_schema(mall.acme):
        SubOrder.objects.filter(channel__in=["shopify", "taobao"]).delete()
    seed_imports([mall.acme])
    with in_merchant_schema(mall.acme):
        shopify = {s.external_order_id.split("/")[0] for s in SubOrder.objects.filter(channel="shopify")}
        taobao = sorted(SubOrder.objects.filter(channel="taobao").values_list("status", flat=True))
        statuses = set(SubOrder.objects.filter(channel__in=["shopify", "taobao"]).values_list("status", flat=True))
    assert shopify == {"#1001", "#1002", "#1003"}
    assert taobao == ["awaiting_acceptance", "shipped"]
    assert statuses == {"awaiting_acceptance", "accepted", "shipped"}
    seed_imports([mall.acme])  # idempotent
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.filter(channel="taobao").count() == 2
