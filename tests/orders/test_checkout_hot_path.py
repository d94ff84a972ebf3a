"""The checkout hot path's statement budget: a constant number of statements per merchant."""
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import StockMovement, StockReservation
from core.tenancy import in_merchant_schema
from orders.services import CheckoutLine, order_checkout
from suborders.models import SubOrderEvent, SubOrderLine
from tests.orders.factories import ADDRESS, levels, stock_item


def _count(shopper, items, key):
    lines = [CheckoutLine(merchant_id=x["merchant_id"], variant_id=x["variant_id"], quantity=q) for x, q in items]
    with CaptureQueriesContext(connection) as ctx:
        order, created = order_checkout(shopper=shopper, email=None, lines=lines, shipping_address=ADDRESS, idempotency_key=key)
    assert created
    return order, [q["sql"] for q in ctx.captured_queries]


def test_each_merchant_costs_three_statements_whatever_its_lines(mall):
    shopper = mall.users["shopper"]
    a1, a2, a3 = (stock_item(mall.acme, stock=(50,)) for _ in range(3))
    g = stock_item(mall.globex, stock=(50,))
    i = stock_item(mall.initech, stock=(50,))
    _count(shopper, [(a1, 1)], "warm")
    _order, one = _count(shopper, [(a1, 1)], "one-merchant-one-line")
    _order, one_many = _count(shopper, [(a1, 2), (a2, 1), (a3, 4)], "one-merchant-three-lines")
    order, three = _count(shopper, [(a1, 1), (g, 1), (i, 1)], "three-merchants")
    assert len(one_many) == len(one), "\n".join(q[:100] for q in one_many)
    # per extra merchant: SET search_path, suborders+lines+events, the stock reservation
    assert len(three) - len(one) == 2 * 3, "\n".join(q[:100] for q in three)
    # and every row the hot path promises is there, once
    for merchant, item in ((mall.acme, a1), (mall.globex, g), (mall.initech, i)):
        with in_merchant_schema(merchant):
            lines = list(SubOrderLine.objects.filter(suborder__order_id=order.pk))
            assert [(ln.variant_id, ln.quantity) for ln in lines] == [(item["variant_id"], 1)]
            assert SubOrderEvent.objects.filter(suborder__order_id=order.pk, from_status="", reason="checkout").count() == 1
            res = StockReservation.objects.get(owner=f"suborder_line:{lines[0].pk}")
            assert (res.variant_id, res.quantity, res.status) == (item["variant_id"], 1, "active")
            assert StockMovement.objects.filter(reason=res.owner, kind="reservation", reserved_delta=1).count() == 1
    assert levels(g) == [(50, 1)]
