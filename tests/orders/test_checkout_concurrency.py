"""Concurrency claims of checkout and expiry, proven with real threads and real connections."""
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from catalog.models import StockMovement, StockReservation
from core.errors import DomainError
from core.tenancy import in_merchant_schema
from orders.models import Order
from orders.services import CheckoutLine, order_checkout, orders_expire_unpaid
from suborders.models import SubOrder, SubOrderEvent
from tests.orders.factories import ADDRESS, levels, stock_item


def _run_threads(n, target):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, [None] * n

    def run(i):
        try:
            barrier.wait(timeout=60)
            results[i] = target(i)
        except Exception as exc:  # collected and asserted on below
            errors[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a checkout thread hung"
    return results, errors


def _orders_in(merchant, order_ids):
    with in_merchant_schema(merchant):
        return SubOrder.objects.filter(order_id__in=order_ids).count()


def test_200_shoppers_race_for_last_10_units_across_three_schemas(committed, unique):
    mall = committed
    tag = unique("R")
    a = stock_item(mall.acme, stock=(10,), tag=tag)    # the scarce one: 10 units
    g = stock_item(mall.globex, stock=(12,), tag=tag)
    i = stock_item(mall.initech, stock=(15,), tag=tag)
    lines = [CheckoutLine(x["merchant_id"], x["variant_id"], 1) for x in (a, g, i)]

    def shop(n):
        return order_checkout(shopper=None, email=f"racer{n}-{tag}@example.test", lines=lines,
                              shipping_address=ADDRESS, idempotency_key=f"race-{tag}-{n}")[0].pk

    results, errors = _run_threads(200, shop)
    won = [r for r in results if r is not None]
    lost = [e for e in errors if e is not None]
    assert len(won) == 10 and len(lost) == 190
    assert all(isinstance(e, DomainError) and e.code == "out_of_stock" for e in lost), {type(e).__name__ + str(e) for e in lost}
    # 0 oversold, and the losers left no trace in any schema
    assert levels(a) == [(10, 10)] and levels(g) == [(12, 10)] and levels(i) == [(15, 10)]
    assert Order.objects.filter(email__iendswith=f"-{tag}@example.test").count() == 10
    for merchant in (mall.acme, mall.globex, mall.initech):
        with in_merchant_schema(merchant):
            assert SubOrder.objects.filter(order_id__in=won).count() == 10
            assert SubOrder.objects.filter(shopper_email__iendswith=f"-{tag}@example.test").count() == 10
    for item in (a, g, i):
        with in_merchant_schema(item["merchant"]):
            assert StockReservation.objects.filter(variant_id=item["variant_id"]).count() == 10
            assert StockMovement.objects.filter(variant_id=item["variant_id"], kind="reservation").count() == 10


@pytest.mark.parametrize(("buyers", "stock"), [(12, (6, 4)), (7, (3, 2, 4))], ids=["12-buyers-10-units", "7-buyers-9-units"])
def test_burst_sells_every_unit_across_warehouses_and_never_oversells(committed, unique, buyers, stock):
    """All buyers plan the first warehouse from the same pre-transaction read; those who find it
    empty under the lock fall back to the next warehouse, so exactly min(buyers, units) sell."""
    mall = committed
    tag = unique("W")
    item = stock_item(mall.acme, stock=stock, tag=tag)
    units = sum(stock)

    def shop(n):
        return order_checkout(shopper=None, email=f"burst{n}-{tag}@example.test",
                              lines=[CheckoutLine(item["merchant_id"], item["variant_id"], 1)],
                              shipping_address=ADDRESS, idempotency_key=f"burst-{tag}-{n}")[0].pk

    results, errors = _run_threads(buyers, shop)
    won = [r for r in results if r is not None]
    lost = [e for e in errors if e is not None]
    sold = min(buyers, units)
    assert all(isinstance(e, DomainError) and e.code == "out_of_stock" for e in lost), [f"{type(e).__name__}: {e}" for e in lost]
    assert (len(won), len(lost)) == (sold, buyers - sold), [str(e) for e in lost]
    after = levels(item)
    assert [on_hand for on_hand, _r in after] == list(stock)
    assert all(reserved <= on_hand for on_hand, reserved in after)  # never oversold
    assert sum(reserved for _o, reserved in after) == sold
    if buyers >= units:
        assert after == [(q, q) for q in stock]  # nothing left unsold
    assert Order.objects.filter(email__iendswith=f"-{tag}@example.test").count() == sold
    with in_merchant_schema(mall.acme):
        sos = list(SubOrder.objects.filter(order_id__in=won))
        assert len(sos) == sold  # one suborder per order, from the warehouse that had the unit
        by_warehouse = {w: sum(1 for s in sos if s.warehouse_id == w) for w in item["warehouse_ids"]}
        assert by_warehouse == {w: r for w, (_o, r) in zip(item["warehouse_ids"], after, strict=True)}
        assert StockReservation.objects.filter(variant_id=item["variant_id"]).count() == sold
        assert StockMovement.objects.filter(variant_id=item["variant_id"], kind="reservation").count() == sold


def test_100_identical_requests_make_one_order(committed, unique):
    mall = committed
    tag = unique("I")
    a = stock_item(mall.acme, stock=(5,), tag=tag)
    g = stock_item(mall.globex, stock=(5,), tag=tag)
    shopper = mall.users["shopper"]
    lines = [CheckoutLine(a["merchant_id"], a["variant_id"], 2), CheckoutLine(g["merchant_id"], g["variant_id"], 1)]

    def shop(n):
        return order_checkout(shopper=shopper, email=None, lines=lines, shipping_address=ADDRESS,
                              idempotency_key=f"idem-{tag}")[0].pk

    results, errors = _run_threads(100, shop)
    assert errors == [None] * 100
    assert len(set(results)) == 1
    assert levels(a) == [(5, 2)] and levels(g) == [(5, 1)]
    assert Order.objects.filter(idempotency_key=f"idem-{tag}").count() == 1


def test_expiry_sweep_twice_concurrently_cancels_each_order_once(committed, unique):
    mall = committed
    tag = unique("E")
    a = stock_item(mall.acme, stock=(20,), tag=tag)
    g = stock_item(mall.globex, stock=(20,), tag=tag)
    ids = []
    for n in range(6):
        order, _ = order_checkout(shopper=None, email=f"late{n}-{tag}@example.test",
                                  lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 1), CheckoutLine(g["merchant_id"], g["variant_id"], 2)],
                                  shipping_address=ADDRESS, idempotency_key=f"exp-{tag}-{n}")
        ids.append(order.pk)
    Order.objects.filter(pk__in=ids).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert levels(a) == [(20, 6)] and levels(g) == [(20, 12)]

    results, errors = _run_threads(2, lambda n: orders_expire_unpaid())
    assert errors == [None, None]
    assert Order.objects.filter(pk__in=ids, expired_at__isnull=False).count() == 6
    assert levels(a) == [(20, 0)] and levels(g) == [(20, 0)]
    for item in (a, g):
        with in_merchant_schema(item["merchant"]):
            sos = SubOrder.objects.filter(order_id__in=ids)
            assert {s.status for s in sos} == {"cancelled"}
            assert SubOrderEvent.objects.filter(suborder__in=sos, to_status="cancelled").count() == 6
            assert StockMovement.objects.filter(variant_id=item["variant_id"], kind="release").count() == 6
    # a third run finds nothing to do
    assert orders_expire_unpaid() == 0
    connection.set_schema_to_public()


def test_voucher_redemptions_counted_exactly_once_under_concurrency(committed, unique):
    from orders.models import Voucher, VoucherRedemption

    mall = committed
    tag = unique("V")
    a = stock_item(mall.acme, stock=(100,), tag=tag)
    code = f"RUSH{tag}".replace("-", "").upper()
    Voucher.objects.create(code=code, kind="fixed", amount_minor=100, max_redemptions=5, per_shopper_limit=1)

    def shop(n):
        return order_checkout(shopper=None, email=f"v{n}-{tag}@example.test", voucher_code=code,
                              lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 1)], shipping_address=ADDRESS,
                              idempotency_key=f"v-{tag}-{n}")[0].pk

    results, errors = _run_threads(30, shop)
    assert len([r for r in results if r]) == 5
    assert all(e.code == "voucher_exhausted" for e in errors if e is not None)
    assert Voucher.objects.get(code=code).redeemed_count == 5
    assert VoucherRedemption.objects.filter(voucher__code=code).count() == 5
    assert levels(a) == [(100, 5)]  # the 25 refused checkouts reserved nothing
