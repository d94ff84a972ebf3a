"""order_checkout when the warehouse it planned from a stale read runs out before the reservation:
the merchant is re-planned from fresh stock and the lines go to the next warehouse that can ship."""
import pytest

from catalog.services import ReserveLine, product_create, stock_receive, stock_reserve, warehouse_create
from core.errors import OutOfStock
from core.tenancy import in_merchant_schema
from orders.models import Order, SubOrderMirror
from orders.services import CheckoutLine, order_checkout
from orders.services import checkout as checkout_module
from suborders.models import SubOrder
from tests.orders.factories import ADDRESS, levels, stock_item


def _two_variants_two_warehouses(merchant, stock):
    """Variants x and y in warehouses A (priority 10) and B (priority 20); stock = {("x", "A"): n, ...}."""
    with in_merchant_schema(merchant):
        wa = warehouse_create(code="FB-A", name="Fallback A", region="SH", priority=10)
        wb = warehouse_create(code="FB-B", name="Fallback B", region="SH", priority=20)
        product = product_create(name="Fallback thing", variants=[
            {"sku": "FB-X", "price_minor": 1000, "currency": "CNY", "weight_g": 100},
            {"sku": "FB-Y", "price_minor": 500, "currency": "CNY", "weight_g": 100},
        ])
        ids = {v.sku: v.pk for v in product.variants.all()}
        wh = {"A": wa.pk, "B": wb.pk}
        for (sku, w), qty in stock.items():
            stock_receive(variant_id=ids[f"FB-{sku.upper()}"], warehouse_id=wh[w], quantity=qty, reason="test stock")
    return ids["FB-X"], ids["FB-Y"], wh


def _rival_takes_after_the_read(monkeypatch, merchant, takes):
    """Let checkout read the stock, then reserve `takes` [(variant, warehouse, qty)] before its transaction."""
    real = checkout_module.checkout_variants_many
    calls = []

    def read_then_rival(**kw):
        out = real(**kw)
        calls.append(kw)
        if len(calls) == 1:
            with in_merchant_schema(merchant):
                stock_reserve(lines=[ReserveLine(variant_id=v, warehouse_id=w, quantity=q, owner=f"rival:{n}")
                                     for n, (v, w, q) in enumerate(takes)], expires_at=None)
        return out

    monkeypatch.setattr(checkout_module, "checkout_variants_many", read_then_rival)
    return calls


def test_stale_plan_falls_back_and_splits_when_one_warehouse_no_longer_holds_every_line(mall, monkeypatch):
    x, y, wh = _two_variants_two_warehouses(mall.acme, {("x", "A"): 2, ("x", "B"): 2, ("y", "A"): 2})
    # the read says A holds both lines (one suborder); a rival then takes every x in A
    calls = _rival_takes_after_the_read(monkeypatch, mall.acme, [(x, wh["A"], 2)])
    order, created = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                                    lines=[CheckoutLine(mall.acme.pk, x, 1), CheckoutLine(mall.acme.pk, y, 1)],
                                    idempotency_key="fallback-split")
    assert created
    assert len(calls) == 2  # the planning read, then one fresh read of acme's stock after the refusal
    assert calls[1] == {"wanted": {mall.acme.schema_name: [x, y]}}
    with in_merchant_schema(mall.acme):
        sos = {s.warehouse_id: s for s in SubOrder.objects.filter(order_id=order.pk)}
        assert set(sos) == {wh["A"], wh["B"]}
        assert [ln.variant_id for ln in sos[wh["A"]].lines.all()] == [y]
        assert [ln.variant_id for ln in sos[wh["B"]].lines.all()] == [x]
        from catalog.models import StockLevel

        got = {(lv.variant_id, lv.warehouse_id): (lv.on_hand, lv.reserved) for lv in StockLevel.objects.filter(variant_id__in=[x, y])}
    assert got == {(x, wh["A"]): (2, 2), (x, wh["B"]): (2, 1), (y, wh["A"]): (2, 1)}
    assert sum(s.total_minor for s in sos.values()) == order.total_minor == 1500
    assert SubOrderMirror.objects.filter(order=order).count() == 2
    assert Order.objects.filter(idempotency_key="fallback-split").count() == 1


def test_stale_plan_with_no_warehouse_left_refuses_and_writes_nothing(mall, monkeypatch):
    item = stock_item(mall.acme, stock=(1, 1))
    a, b = item["warehouse_ids"]
    _rival_takes_after_the_read(monkeypatch, mall.acme, [(item["variant_id"], a, 1), (item["variant_id"], b, 1)])
    orders_before = Order.objects.count()
    with in_merchant_schema(mall.acme):
        suborders_before = SubOrder.objects.count()
    with pytest.raises(OutOfStock) as err:
        order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                       lines=[CheckoutLine(mall.acme.pk, item["variant_id"], 1)], idempotency_key="fallback-none")
    assert err.value.field == "lines[0].quantity"
    assert err.value.message == f"Line 1: {item['sku']} — 1 requested, 0 available."
    assert levels(item) == [(1, 1), (1, 1)]  # only the rival's units
    assert Order.objects.count() == orders_before
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.count() == suborders_before
