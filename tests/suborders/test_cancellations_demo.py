"""The demo seeder leaves acme's shopper cancellations in each state, and tags and notes on its customer."""
from __future__ import annotations

from automation.models import CustomerTag
from core.tenancy import in_merchant_schema
from permissions.services import membership_grant, user_create
from suborders.models import CancellationRequest, CustomerNote, SubOrderEvent
from tests.orders.factories import stock_item


def test_the_demo_seeder_leaves_cancellations_in_each_state(mall):
    from suborders.demo_cancellations import seed_cancellations

    for _ in range(2):
        stock_item(mall.acme, stock=(50,))
    for role in ("owner", "customer_service"):
        membership_grant(user=user_create(email=f"{role.replace('_', '')}@acme.localhost", password=None),
                         merchant=mall.acme, roles=[role])
    shopper = user_create(email="shopper1@example.com", password=None)
    with in_merchant_schema(mall.acme):
        CancellationRequest.objects.all().delete()
    seed_cancellations([mall.acme])
    with in_merchant_schema(mall.acme):
        got = sorted(CancellationRequest.objects.values_list("status", "automatic"))
        assert got == [("approved", True), ("refused", False), ("requested", False)]
        immediate = SubOrderEvent.objects.filter(action="lines_cancelled", suborder__shopper_email=shopper.email,
                                                 reason="ordered one too many")
        assert immediate.count() == 1
        assert CustomerTag.objects.get(email=shopper.email).tags == ["vip", "repeat"]
        assert CustomerNote.objects.filter(email=shopper.email).count() == 2
    seed_cancellations([mall.acme])  # idempotent
    with in_merchant_schema(mall.acme):
        assert CancellationRequest.objects.count() == 3
