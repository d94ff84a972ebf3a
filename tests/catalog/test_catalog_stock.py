"""Stock services in one connection: levels, journal, reservations, releases, shipments, alerts."""
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import StockLevel, StockMovement, StockReservation
from catalog.selectors import low_stock_count, stock_availability
from catalog.services import (
    ReserveLine,
    reservation_expire_sweep,
    stock_adjust,
    stock_commit_shipment,
    stock_journal_check,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_stocktake,
)
from core.errors import Conflict, OutOfStock, ValidationFailed, WrongSchema
from core.models import OutboxEvent
from core.tenancy import in_merchant_schema


def levels(variants, warehouses):
    return {(lv.variant_id, lv.warehouse_id): (lv.on_hand, lv.reserved)
            for lv in StockLevel.objects.filter(variant__in=variants, warehouse__in=warehouses)}


def journal(variant, warehouse):
    agg = StockMovement.objects.filter(variant=variant, warehouse=warehouse).aggregate(
        oh=Sum("on_hand_delta"), res=Sum("reserved_delta"))
    return agg["oh"] or 0, agg["res"] or 0


def test_services_refuse_public_schema(mall):
    with pytest.raises(WrongSchema):
        stock_receive(variant_id=1, warehouse_id=1, quantity=1)


def test_receive_reserve_ship_release_keep_journal_equal_to_levels(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=10)
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 4, "suborder_line:1")], expires_at=None)
        assert levels([v], [w]) == {(v.pk, w.pk): (10, 4)}
        assert stock_commit_shipment(owner="suborder_line:1", quantity=3) == 3
        assert levels([v], [w]) == {(v.pk, w.pk): (7, 1)}
        res = StockReservation.objects.get(owner="suborder_line:1")
        assert (res.status, res.shipped_quantity) == ("active", 3)
        assert stock_release(owners=["suborder_line:1"], reason="cancelled") == 1
        assert stock_release(owners=["suborder_line:1"], reason="cancelled") == 0  # idempotent
        res.refresh_from_db()
        assert res.status == "released"
        assert levels([v], [w]) == {(v.pk, w.pk): (7, 0)}
        assert journal(v, w) == (7, 0)
        kinds = list(StockMovement.objects.filter(variant=v).order_by("id").values_list("kind", "on_hand_delta", "reserved_delta"))
        assert kinds == [("receipt", 10, 0), ("reservation", 0, 4), ("shipment", -3, -3), ("release", 0, -1)]


def test_reserve_error_names_sku_warehouse_requested_available(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=3)
        with pytest.raises(OutOfStock) as err:
            stock_reserve(lines=[ReserveLine(v.pk, w.pk, 5, "suborder_line:9")], expires_at=None)
        e = err.value
        assert e.details == {"sku": v.sku, "warehouse": w.code, "requested": 5, "available": 3}
        assert e.field == "lines[0]"
        assert v.sku in e.message and w.code in e.message and "5" in e.message and "3" in e.message
        assert levels([v], [w]) == {(v.pk, w.pk): (3, 0)}


@pytest.mark.parametrize("qty", [0, -1, 1.5, True, "2", 1_000_001])
def test_reserve_refuses_bad_quantities(mall, make_stock, qty):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=3)
        with pytest.raises(ValidationFailed) as err:
            stock_reserve(lines=[ReserveLine(v.pk, w.pk, qty, "o:1")], expires_at=None)
        assert err.value.field == "lines[0].quantity"
        assert StockReservation.objects.filter(variant=v).count() == 0
        assert levels([v], [w]) == {(v.pk, w.pk): (3, 0)}


def test_reserve_merges_duplicate_lines(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=5)
        out = stock_reserve(lines=[ReserveLine(v.pk, w.pk, 2, "o:1"), ReserveLine(v.pk, w.pk, 3, "o:1")], expires_at=None)
        assert [(r.owner, r.quantity) for r in out] == [("o:1", 5)]
        assert levels([v], [w]) == {(v.pk, w.pk): (5, 5)}
        with pytest.raises(OutOfStock):
            stock_reserve(lines=[ReserveLine(v.pk, w.pk, 1, "o:2")], expires_at=None)


def test_reserve_unknown_variant_names_the_line(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=5)
        with pytest.raises(ValidationFailed) as err:
            stock_reserve(lines=[ReserveLine(v.pk, w.pk, 1, "o:1"), ReserveLine(999999999, w.pk, 1, "o:1")], expires_at=None)
        assert err.value.field == "lines[1].variant_id"
        assert levels([v], [w]) == {(v.pk, w.pk): (5, 0)}


def test_reservation_across_two_warehouses_three_variants_is_all_or_nothing(mall, make_stock):
    with in_merchant_schema(mall.acme):
        vs, whs = make_stock(variants=3, warehouses=2, qty=4)
        before = levels(vs, whs)
        movements_before = StockMovement.objects.filter(variant__in=vs).count()
        lines = [ReserveLine(v.pk, w.pk, 2, f"suborder_line:{i}") for i, (v, w) in enumerate((v, w) for v in vs for w in whs)]
        lines[-1] = ReserveLine(vs[2].pk, whs[1].pk, 5, "suborder_line:5")  # the last line is short
        events_before = OutboxEvent.objects.filter(topic="catalog.listing_changed").count()
        with pytest.raises(OutOfStock) as err:
            stock_reserve(lines=lines, expires_at=None)
        assert err.value.field == "lines[5]" and err.value.details["sku"] == vs[2].sku
        assert levels(vs, whs) == before
        assert all(value == (4, 0) for value in before.values()) and len(before) == 6
        assert StockMovement.objects.filter(variant__in=vs).count() == movements_before
        assert StockReservation.objects.filter(variant__in=vs).count() == 0
        assert OutboxEvent.objects.filter(topic="catalog.listing_changed").count() == events_before
        # the same request that fits succeeds entirely
        lines[-1] = ReserveLine(vs[2].pk, whs[1].pk, 4, "suborder_line:5")
        stock_reserve(lines=lines, expires_at=None)
        after = levels(vs, whs)
        assert after[(vs[2].pk, whs[1].pk)] == (4, 4)
        assert sum(r for _oh, r in after.values()) == 2 * 5 + 4


def test_reserve_statement_count_is_constant(mall, make_stock):
    with in_merchant_schema(mall.acme):
        vs, whs = make_stock(variants=5, warehouses=1, qty=100)
        with CaptureQueriesContext(connection) as one:
            stock_reserve(lines=[ReserveLine(vs[0].pk, whs[0].pk, 1, "o:1")], expires_at=None)
        with CaptureQueriesContext(connection) as five:
            stock_reserve(lines=[ReserveLine(v.pk, whs[0].pk, 1, f"o:{i}") for i, v in enumerate(vs)], expires_at=None)
        assert len(one.captured_queries) == len(five.captured_queries)
        assert len(one.captured_queries) <= 8, [q["sql"][:80] for q in one.captured_queries]


def test_one_listing_event_per_reserve_call(mall, make_stock):
    with in_merchant_schema(mall.acme):
        vs, whs = make_stock(variants=3, warehouses=1, qty=100)
        start = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first()
        stock_reserve(lines=[ReserveLine(v.pk, whs[0].pk, 1, "o:1") for v in vs], expires_at=None)
        events = list(OutboxEvent.objects.filter(id__gt=start).values_list("topic", "payload"))
        assert events == [("catalog.listing_changed", {"variant_ids": sorted(v.pk for v in vs)})]


def test_adjust_and_stocktake(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=10)
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 6, "o:1")], expires_at=None)
        with pytest.raises(OutOfStock):
            stock_adjust(variant_id=v.pk, warehouse_id=w.pk, delta=-5, reason="damaged")  # would cut into reserved
        with pytest.raises(ValidationFailed) as err:
            stock_adjust(variant_id=v.pk, warehouse_id=w.pk, delta=-1, reason="")
        assert err.value.field == "reason"
        assert stock_adjust(variant_id=v.pk, warehouse_id=w.pk, delta=-4, reason="damaged").available == 0
        with pytest.raises(ValidationFailed) as err:
            stock_stocktake(variant_id=v.pk, warehouse_id=w.pk, counted=5, actor=None, reason="count")
        assert err.value.field == "counted"
        level = stock_stocktake(variant_id=v.pk, warehouse_id=w.pk, counted=9, actor=mall.users["acme:warehouse"], reason="count")
        assert (level.on_hand, level.reserved) == (9, 6)
        last = StockMovement.objects.filter(variant=v).order_by("-id").first()
        assert (last.kind, last.on_hand_delta, last.actor_id) == ("stocktake", 3, mall.users["acme:warehouse"].pk)
        assert journal(v, w) == (9, 6)


def test_database_refuses_negative_available(mall, make_stock):
    from django.db import IntegrityError, transaction

    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=2)
        with pytest.raises(IntegrityError), transaction.atomic():
            StockLevel.objects.filter(variant=v, warehouse=w).update(reserved=3)
        with pytest.raises(IntegrityError), transaction.atomic():
            StockLevel.objects.filter(variant=v, warehouse=w).update(reserved=-1, on_hand=0)


def test_sweep_expires_due_reservations_only(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=10)
        now = timezone.now()
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 2, "o:due")], expires_at=now - timedelta(minutes=1))
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 3, "o:later")], expires_at=now + timedelta(minutes=30))
        assert reservation_expire_sweep(now=now) == 1
        assert reservation_expire_sweep(now=now) == 0
        assert dict(StockReservation.objects.filter(variant=v).values_list("owner", "status")) == {"o:due": "expired", "o:later": "active"}
        assert levels([v], [w]) == {(v.pk, w.pk): (10, 3)}
        assert journal(v, w) == (10, 3)


def test_commit_shipment_without_reservation_is_a_conflict(mall, make_stock):
    with in_merchant_schema(mall.acme):
        make_stock(qty=1)
        with pytest.raises(Conflict):
            stock_commit_shipment(owner="suborder_line:none")


def test_low_stock_alert_once_per_crossing(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=10, threshold=5)
        alerts = lambda: list(OutboxEvent.objects.filter(topic="catalog.low_stock", aggregate_id=str(v.pk)).values_list("payload", flat=True))  # noqa: E731
        assert alerts() == []
        badge = low_stock_count()
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 4, "o:1")], expires_at=None)  # 6 left: above
        assert alerts() == []
        assert low_stock_count() == badge and StockLevel.objects.get(variant=v).low_alerted is False
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 1, "o:2")], expires_at=None)  # 5 left: crossed
        assert alerts() == [{"sku": v.sku, "variant_id": v.pk, "available": 5, "threshold": 5, "warehouse": w.code, "warehouse_id": w.pk}]
        assert StockLevel.objects.get(variant=v).low_alerted is True
        assert low_stock_count() == badge + 1
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 1, "o:3")], expires_at=None)  # 4 left: still low, no new alert
        stock_commit_shipment(owner="o:3")
        assert len(alerts()) == 1
        stock_receive(variant_id=v.pk, warehouse_id=w.pk, quantity=10)  # 14: re-armed
        assert StockLevel.objects.get(variant=v).low_alerted is False
        assert len(alerts()) == 1 and low_stock_count() == badge
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 9, "o:4")], expires_at=None)  # 5 again: second crossing
        assert len(alerts()) == 2


def test_low_stock_email_sent_once_with_a_message_id_from_its_delivery(mall, make_stock, settings, mailoutbox):
    from core.outbox import outbox_relay_batch

    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=6, threshold=5)
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 1, "o:1")], expires_at=None)
        event = OutboxEvent.objects.get(topic="catalog.low_stock", aggregate_id=str(v.pk))
    outbox_relay_batch(limit=500)
    outbox_relay_batch(limit=500)  # a second relay finds the delivery made
    mine = [m for m in mailoutbox if v.sku in m.subject]
    assert len(mine) == 1
    assert mine[0].to == ["owner@acme.test"]
    assert mine[0].extra_headers["Message-ID"] == f"<evt{event.pk}.catalog.low_stock_email@{settings.MALL_HOST.split(':')[0]}>"


def test_availability_lists_active_warehouses_by_priority(mall, make_stock):
    from catalog.services import warehouse_update

    with in_merchant_schema(mall.acme):
        (v,), whs = make_stock(qty=7, warehouses=3)
        warehouse_update(warehouse_id=whs[1].pk, is_active=False)
        stock_reserve(lines=[ReserveLine(v.pk, whs[2].pk, 2, "o:1")], expires_at=None)
        got = stock_availability(variant_ids=[v.pk])
        assert [(s.warehouse_code, s.available) for s in got[v.pk]] == [(whs[0].code, 7), (whs[2].code, 5)]


def test_journal_check_detects_and_repairs_drift(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=10)
        assert [d for d in stock_journal_check() if d.variant_id == v.pk] == []
        StockLevel.objects.filter(variant=v, warehouse=w).update(on_hand=12)  # someone wrote behind the journal's back
        drift = [d for d in stock_journal_check() if d.variant_id == v.pk]
        assert [(d.on_hand, d.journal_on_hand, d.repaired) for d in drift] == [(12, 10, False)]
        assert journal(v, w) == (10, 0)  # a check alone writes nothing
        repaired = [d for d in stock_journal_check(repair=True) if d.variant_id == v.pk]
        assert [(d.on_hand, d.journal_on_hand, d.repaired) for d in repaired] == [(12, 10, True)]
        assert journal(v, w) == (12, 0)
        assert [d for d in stock_journal_check() if d.variant_id == v.pk] == []


def test_stock_check_command_reports_and_repairs(mall, make_stock):
    from io import StringIO

    from django.core.management import call_command

    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=4)
        StockLevel.objects.filter(variant=v, warehouse=w).update(on_hand=3)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("stock_check", "--schema", "m_acme", stdout=out)
    assert exit_.value.code == 1
    assert f"SKU {v.sku} @ {w.code}: level on_hand=3 reserved=0, journal on_hand=4 reserved=0" in out.getvalue()
    out = StringIO()
    call_command("stock_check", "--schema", "m_acme", "--repair", stdout=out)
    assert "-> repaired" in out.getvalue()
    with in_merchant_schema(mall.acme):
        assert journal(v, w) == (3, 0)
    out = StringIO()
    call_command("stock_check", "--schema", "m_acme", stdout=out)
    assert out.getvalue().strip().endswith("0 drift(s) found")


def test_beat_task_sweeps_every_merchant_schema(mall, make_stock):
    from catalog.tasks import expire_reservations_all

    past = timezone.now() - timedelta(seconds=1)
    made = {}
    for merchant in (mall.acme, mall.globex):
        with in_merchant_schema(merchant):
            (v,), (w,) = make_stock(qty=3)
            stock_reserve(lines=[ReserveLine(v.pk, w.pk, 2, f"o:{merchant.slug}")], expires_at=past)
            made[merchant.slug] = (v, w)
    assert expire_reservations_all() >= 2
    for merchant in (mall.acme, mall.globex):
        with in_merchant_schema(merchant):
            v, w = made[merchant.slug]
            assert StockReservation.objects.get(variant=v).status == "expired"
            assert levels([v], [w]) == {(v.pk, w.pk): (3, 0)}


def test_out_of_stock_inside_a_caller_transaction_leaves_it_usable(mall, make_stock):
    """Checkout calls stock_reserve inside its own transaction (no savepoint of ours): a refusal
    comes before any write, so the caller can go on, e.g. try another warehouse."""
    from django.db import transaction

    with in_merchant_schema(mall.acme):
        (v,), (a, b) = make_stock(qty=2, warehouses=2)
        with transaction.atomic():
            with pytest.raises(OutOfStock):
                stock_reserve(lines=[ReserveLine(v.pk, a.pk, 3, "o:1")], expires_at=None)
            assert not transaction.get_rollback()
            stock_reserve(lines=[ReserveLine(v.pk, a.pk, 2, "o:1"), ReserveLine(v.pk, b.pk, 1, "o:1")], expires_at=None)
        assert levels([v], [a, b]) == {(v.pk, a.pk): (2, 2), (v.pk, b.pk): (2, 1)}
        assert journal(v, a) == (2, 2) and journal(v, b) == (2, 1)
