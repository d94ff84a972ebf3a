"""Concurrency claims against the real database: real threads, one connection each, committed rows."""
import threading
from datetime import timedelta

from django.db import connection, connections
from django.db.models import Sum
from django.utils import timezone

from catalog.models import StockLevel, StockMovement, StockReservation
from catalog.services import ReserveLine, reservation_expire_sweep, stock_reserve
from core.errors import OutOfStock
from core.tenancy import in_merchant_schema


def run_threads(n, target):
    """Start n threads that wait on one barrier, so they really race; each closes its connection."""
    barrier = threading.Barrier(n, timeout=60)
    results, errors = [None] * n, []

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "threads hung"
    assert errors == [], errors[:3]
    return results


def test_200_concurrent_reservations_for_10_units(committed, make_stock):
    mall = committed
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=10, threshold=0)

    def reserve(i):
        with in_merchant_schema(mall.acme):
            try:
                stock_reserve(lines=[ReserveLine(v.pk, w.pk, 1, f"race:{v.pk}:{i}")], expires_at=None)
                return "ok"
            except OutOfStock as exc:
                assert exc.details["sku"] == v.sku
                return "short"

    outcomes = run_threads(200, reserve)
    assert outcomes.count("ok") == 10 and outcomes.count("short") == 190
    with in_merchant_schema(mall.acme):
        level = StockLevel.objects.get(variant=v, warehouse=w)
        assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)
        sums = StockMovement.objects.filter(variant=v, warehouse=w).aggregate(oh=Sum("on_hand_delta"), res=Sum("reserved_delta"))
        assert (sums["oh"], sums["res"]) == (10, 10)
        assert StockMovement.objects.filter(variant=v, kind="reservation").count() == 10
        assert StockReservation.objects.filter(variant=v, status="active").aggregate(q=Sum("quantity"))["q"] == 10
    connection.close()


def test_opposite_order_multi_line_reservations_do_not_deadlock(committed, make_stock):
    """Half the threads list the lines A,B and half B,A: the fixed lock order keeps them deadlock-free."""
    mall = committed
    with in_merchant_schema(mall.acme):
        (a, b), (w,) = make_stock(variants=2, qty=40)

    def reserve(i):
        pair = [a, b] if i % 2 else [b, a]
        with in_merchant_schema(mall.acme):
            try:
                stock_reserve(lines=[ReserveLine(x.pk, w.pk, 1, f"dl:{a.pk}:{i}") for x in pair], expires_at=None)
                return "ok"
            except OutOfStock:
                return "short"

    outcomes = run_threads(60, reserve)
    assert outcomes.count("ok") == 40
    with in_merchant_schema(mall.acme):
        assert sorted(StockLevel.objects.filter(variant__in=[a, b]).values_list("reserved", flat=True)) == [40, 40]
    connection.close()


def test_two_concurrent_sweeps_release_each_reservation_once(committed, make_stock):
    mall = committed
    with in_merchant_schema(mall.acme):
        vs, (w,) = make_stock(variants=5, qty=20)
        past = timezone.now() - timedelta(minutes=5)
        for i in range(8):
            stock_reserve(lines=[ReserveLine(v.pk, w.pk, 1, f"sweep:{vs[0].pk}:{i}") for v in vs], expires_at=past)
        ids = list(StockReservation.objects.filter(variant__in=vs).values_list("id", flat=True))
        assert len(ids) == 40

    def sweep(i):
        with in_merchant_schema(mall.acme):
            total = 0
            while True:  # each sweep takes small batches, so both really interleave
                n = reservation_expire_sweep(limit=3)
                if n == 0:
                    return total
                total += n

    counts = run_threads(2, sweep)
    # other tests' committed expired rows in this schema may also be swept; ours are counted below
    with in_merchant_schema(mall.acme):
        assert StockReservation.objects.filter(pk__in=ids, status="expired").count() == 40
        assert sum(counts) >= 40
        assert list(StockLevel.objects.filter(variant__in=vs).values_list("reserved", flat=True)) == [0] * 5
        releases = StockMovement.objects.filter(variant__in=vs, kind="release")
        assert releases.count() == 40 and releases.aggregate(r=Sum("reserved_delta"))["r"] == -40
        assert StockMovement.objects.filter(variant__in=vs).aggregate(r=Sum("reserved_delta"))["r"] == 0
    connection.close()
