"""A manager swaps a line to another variant of the same product before it ships: the reservation
moves to the new variant in the same warehouse, the order's line follows, a cheaper variant refunds the
difference exactly once, and bad input or the wrong role changes nothing."""
import pytest
from django.test import TestCase

from catalog.models import StockLevel
from catalog.services import product_create, stock_receive, variant_create
from core.errors import InvalidTransition, OutOfStock, PermissionDenied, ValidationFailed
from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from orders.models import OrderLine
from payments.models import Refund
from suborders.edits import suborder_line_variant_swap
from suborders.models import SubOrder, SubOrderEvent, SubOrderLine
from tests.payments.helpers import pay, place_order


def _relay():
    with TestCase.captureOnCommitCallbacks(execute=True):
        while outbox_relay_batch(limit=500):
            pass


@pytest.fixture
def paid(mall):
    """A paid acme suborder of 2 units at 50.00, and a sibling variant at 45.00 with 5 units in the same warehouse."""
    order, items = place_order(mall, stores=("acme",), qty=2, price_minor=5000)
    pay(order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
        line = SubOrderLine.objects.get(suborder=so)
        from catalog.models import Variant

        old = Variant.objects.get(pk=line.variant_id)
        sibling = variant_create(product_id=old.product_id, sku=f"{old.sku}-S", price_minor=4500, name_suffix="S")
        stock_receive(variant_id=sibling.pk, warehouse_id=so.warehouse_id, quantity=5, reason="test")
    return order, so, line, old, sibling


def _levels(variant_ids, warehouse_id):
    return {v: StockLevel.objects.filter(variant_id=v, warehouse_id=warehouse_id).values_list("on_hand", "reserved").first()
            for v in variant_ids}


def test_the_manager_swaps_the_variant_and_the_cheaper_difference_is_refunded_once(mall, paid):
    order, so, line, old, sibling = paid
    with in_merchant_schema(mall.acme):
        before = _levels([old.pk, sibling.pk], so.warehouse_id)
        suborder_line_variant_swap(suborder_id=so.pk, line_id=line.pk, variant_id=sibling.pk, actor=mall.users["acme:manager"])
        after = _levels([old.pk, sibling.pk], so.warehouse_id)
        fresh_line = SubOrderLine.objects.get(pk=line.pk)
        fresh = SubOrder.objects.get(pk=so.pk)
        ev = SubOrderEvent.objects.get(suborder=so, action="variant_swapped")
    assert after[old.pk] == (before[old.pk][0], before[old.pk][1] - 2)  # its 2 units released
    assert after[sibling.pk] == (5, 2)  # reserved in the same warehouse
    assert (fresh_line.variant_id, fresh_line.sku, fresh_line.unit_price_minor) == (sibling.pk, sibling.sku, 5000)
    assert sibling.sku in fresh.skus and old.sku not in fresh.skus and fresh.version == so.version + 1
    assert ev.lines == [{"field": "sku", "before": old.sku, "after": sibling.sku}]
    order_line = OrderLine.objects.get(order=order, merchant=mall.acme)
    assert (order_line.variant_id, order_line.sku) == (sibling.pk, sibling.sku)
    _relay()
    _relay()  # a second delivery refunds nothing more
    refunds = list(Refund.objects.filter(order_id=order.pk).values_list("custom_minor", "amount_minor"))
    assert refunds == [(1000, 1000)]  # (50.00 − 45.00) × 2
    from payments.services import ledger_check

    assert ledger_check(order_ids=[order.pk]) == []


def test_wrong_role_other_product_shipped_line_or_no_stock_change_nothing(mall, paid):
    order, so, line, old, sibling = paid
    with in_merchant_schema(mall.acme):
        for role in ("customer_service", "warehouse", "finance"):
            with pytest.raises(PermissionDenied):
                suborder_line_variant_swap(suborder_id=so.pk, line_id=line.pk, variant_id=sibling.pk, actor=mall.users[f"acme:{role}"])
        other = product_create(name="Another thing", variants=[{"sku": f"{old.sku}-X", "price_minor": 100}]).variants.get()
        with pytest.raises(ValidationFailed) as exc:
            suborder_line_variant_swap(suborder_id=so.pk, line_id=line.pk, variant_id=other.pk, actor=mall.users["acme:owner"])
        assert exc.value.field == "variant_id"
        empty = variant_create(product_id=old.product_id, sku=f"{old.sku}-E", price_minor=4000)
        levels = _levels([old.pk], so.warehouse_id)
        with pytest.raises(OutOfStock):
            suborder_line_variant_swap(suborder_id=so.pk, line_id=line.pk, variant_id=empty.pk, actor=mall.users["acme:owner"])
        assert _levels([old.pk], so.warehouse_id) == levels and SubOrderLine.objects.get(pk=line.pk).variant_id == old.pk
        from fulfillment.shipments import shipment_create
        from suborders.services import suborder_accept

        suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        shipment_create(suborder_id=so.pk, actor=mall.users["acme:owner"], lines=[(line.pk, 1)], carrier="sf",
                        tracking_number="SF2000000000456")
        with pytest.raises(InvalidTransition):
            suborder_line_variant_swap(suborder_id=so.pk, line_id=line.pk, variant_id=sibling.pk, actor=mall.users["acme:owner"])
    assert OrderLine.objects.get(order=order, merchant=mall.acme).variant_id == old.pk


def test_the_page_and_the_api_swap_and_other_stores_ids_are_not_found(mall, paid, client_at, api_at):
    order, so, line, old, sibling = paid
    page = client_at(mall.acme, mall.users["acme:manager"])
    assert 'data-testid="variant-swap"' in page.get(f"/suborders/{so.pk}/").content.decode()
    assert 'data-testid="variant-swap"' not in client_at(mall.acme, mall.users["acme:customer_service"]).get(
        f"/suborders/{so.pk}/").content.decode()
    url = f"/api/v1/suborders/{so.pk}/lines/{line.pk}/variant/"
    assert api_at(mall.globex, mall.users["globex:owner"]).post(url, {"variant_id": sibling.pk}, format="json",
                                                               HTTP_IDEMPOTENCY_KEY="sw-g").status_code == 404
    bad = api_at(mall.acme, mall.users["acme:manager"]).post(url, {"variant_id": "²"}, format="json", HTTP_IDEMPOTENCY_KEY="sw-0")
    assert bad.status_code == 400 and bad.json()["field"] == "variant_id"
    resp = page.post(f"/suborders/{so.pk}/lines/{line.pk}/variant/", {"variant_id": str(sibling.pk)})
    assert resp.status_code == 302
    detail = api_at(mall.acme, mall.users["acme:manager"]).get(f"/api/v1/suborders/{so.pk}/").json()
    assert detail["lines"][0]["sku"] == sibling.sku
