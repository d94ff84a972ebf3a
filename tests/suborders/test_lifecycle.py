"""The suborder lifecycle: the state table, per-line accept/refuse/cancel/ship/deliver/complete,
refunds of refused paid units exactly once, deadlines, the mirror read model, concurrency."""
import itertools
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import TestCase
from django.utils import timezone

from catalog.models import StockReservation
from core.errors import InvalidTransition, PermissionDenied, ValidationFailed
from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from fulfillment.shipments import shipment_create, suborder_confirm_receipt
from orders.models import SubOrderMirror
from orders.services.mirror import mirror_apply_snapshot
from orders.services.sweeps import suborders_sweep
from payments.models import Payment, Refund
from payments.services import ledger_check
from suborders import services as svc
from suborders.models import SubOrder, SubOrderEvent, SubOrderLine
from suborders.states import TRANSITIONS, SubOrderStatus
from tests.concurrency import race_in_schema
from tests.orders.factories import levels
from tests.payments.helpers import pay, place_order

S = SubOrderStatus


def _items_one_warehouse(merchant, n, *, price_minor, stock=10):
    """n variants stocked in ONE new warehouse of `merchant` (so they ship as one suborder)."""
    from catalog.services import product_create, stock_receive, warehouse_create
    from tests.orders.factories import _n

    k = next(_n)
    with in_merchant_schema(merchant):
        wh = warehouse_create(code=f"LC{k}", name=f"Lifecycle {k}", region="SH", priority=1)
        items = []
        for i in range(n):
            sku = f"LC{k}-{i}-{merchant.slug[:3]}".upper()
            product = product_create(name=f"Thing {k}-{i}", variants=[{"sku": sku, "price_minor": price_minor, "currency": "CNY",
                                                                      "weight_g": 300}])
            variant = product.variants.get()
            stock_receive(variant_id=variant.pk, warehouse_id=wh.pk, quantity=stock, reason="test stock")
            items.append({"merchant": merchant, "merchant_id": merchant.pk, "variant_id": variant.pk, "sku": sku,
                          "warehouse_ids": [wh.pk], "price_minor": price_minor})
    return items


def _paid_suborder(mall, merchant="acme", qty=3, lines=1, price_minor=1000):
    from orders.services import CheckoutLine, order_checkout
    from tests.orders.factories import ADDRESS

    m = getattr(mall, merchant)
    items = _items_one_warehouse(m, lines, price_minor=price_minor)
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                              lines=[CheckoutLine(i["merchant_id"], i["variant_id"], qty) for i in items],
                              idempotency_key=f"lc-{timezone.now().timestamp()}-{items[0]['sku']}")
    pay(order)
    with in_merchant_schema(m):
        so = SubOrder.objects.get(order_id=order.pk)
    return order, so, items


def _sweep(kind, now, merchant, so_id) -> int:
    """One sweep as beat runs it, counted for this suborder only (committed rows of other tests may be due too)."""
    from orders.services.sweeps import apply_due, suborders_due

    if so_id not in suborders_due(kind=kind, now=now).get(merchant.pk, []):
        return 0
    with in_merchant_schema(merchant):
        return apply_due(kind=kind, suborder_ids=[so_id], now=now)


def _relay():
    with TestCase.captureOnCommitCallbacks(execute=True):
        outbox_relay_batch(limit=500)


def _mirror_matches(merchant, so_id):
    with in_merchant_schema(merchant):
        so = SubOrder.objects.get(pk=so_id)
    mirror = SubOrderMirror.objects.get(merchant=merchant, suborder_id=so_id)
    return (mirror.status, mirror.version, mirror.accept_by, mirror.ship_by, mirror.is_late) == (
        so.status, so.version, so.accept_by, so.ship_by, so.is_late)


def test_state_table_every_allowed_transition_works_and_every_other_is_refused(mall):
    _order, so, _ = _paid_suborder(mall)
    pairs = list(itertools.product(S.values, S.values))
    with in_merchant_schema(mall.acme):
        for current, target in pairs:
            if current == target:
                continue
            sid = transaction.savepoint()
            SubOrder.objects.filter(pk=so.pk).update(status=current)
            locked, lines = svc._lock(so.pk)
            events_before = SubOrderEvent.objects.filter(suborder_id=so.pk).count()
            version = locked.version
            if target in TRANSITIONS[current]:
                svc._transition(so=locked, lines=lines, action="test", to=target)
                assert SubOrder.objects.get(pk=so.pk).status == target
                assert SubOrderEvent.objects.filter(suborder_id=so.pk).count() == events_before + 1
            else:
                with pytest.raises(InvalidTransition):
                    svc._transition(so=locked, lines=lines, action="test", to=target)
                fresh = SubOrder.objects.get(pk=so.pk)
                assert (fresh.status, fresh.version) == (current, version)
                assert SubOrderEvent.objects.filter(suborder_id=so.pk).count() == events_before
            transaction.savepoint_rollback(sid)


def test_full_day_accept_ship_in_two_parcels_deliver_complete(mall):
    order, so, items = _paid_suborder(mall, qty=2, lines=3)
    owner, wh = mall.users["acme:owner"], mall.users["acme:warehouse"]
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=so.pk).accept_by is not None
        svc.suborder_accept(suborder_id=so.pk, actor=owner)
        lines = list(SubOrderLine.objects.filter(suborder_id=so.pk).order_by("pk"))
        assert [ln.accepted_qty for ln in lines] == [2, 2, 2]
        shipment_create(suborder_id=so.pk, actor=wh, lines=[(lines[0].pk, 2), (lines[1].pk, 2)], carrier="sf",
                        tracking_number="SF1000000000001")
        assert SubOrder.objects.get(pk=so.pk).status == S.PARTIALLY_SHIPPED
        shipment_create(suborder_id=so.pk, actor=wh, lines=None, carrier="zto", tracking_number="731000000001")
        so2 = SubOrder.objects.get(pk=so.pk)
        assert so2.status == S.SHIPPED and so2.ship_by is None and so2.auto_receipt_at is not None
        for it in items:
            assert StockReservation.objects.filter(variant_id=it["variant_id"], status="committed").count() == 1
    assert [lv for it in items for lv in levels(it)] == [(8, 0)] * 3  # 10 on hand − 2 shipped, nothing reserved
    with in_merchant_schema(mall.acme):
        done = suborder_confirm_receipt(suborder_id=so.pk, shopper_email=order.email)
        assert done.status == S.DELIVERED and done.complete_after is not None
        later = done.complete_after + timedelta(seconds=1)
        assert svc.suborder_complete(suborder_id=so.pk, now=done.complete_after - timedelta(seconds=1)) is None
    assert _sweep("complete", later, mall.acme, so.pk) == 1
    assert _sweep("complete", later, mall.acme, so.pk) == 0
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).status == "completed"
    assert _mirror_matches(mall.acme, so.pk)


def test_refusing_one_line_refunds_it_exactly_once_and_releases_its_stock(mall):
    order, so, items = _paid_suborder(mall, qty=2, lines=2)
    with in_merchant_schema(mall.acme):
        lines = list(SubOrderLine.objects.filter(suborder_id=so.pk).order_by("pk"))
        svc.suborder_refuse_lines(suborder_id=so.pk, actor=mall.users["acme:manager"], lines=[(lines[0].pk, 1)],
                                  reason_code="out_of_stock")
        assert SubOrder.objects.get(pk=so.pk).status == S.AWAITING_ACCEPTANCE
        svc.suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        lines = list(SubOrderLine.objects.filter(suborder_id=so.pk).order_by("pk"))
        assert [(ln.accepted_qty, ln.refused_qty) for ln in lines] == [(1, 1), (2, 0)]
    assert levels(items[0]) == [(10, 1)]  # one unit released, one still reserved
    _relay()
    _relay()
    refunds = list(Refund.objects.filter(order=order))
    assert len(refunds) == 1 and refunds[0].status == "succeeded"
    assert refunds[0].amount_minor == lines[0].line_total_minor // 2
    assert ledger_check(order_ids=[order.pk]) == []


def test_refusing_everything_refuses_the_suborder_and_refunds_it_all_with_shipping(mall):
    order, so, items = _paid_suborder(mall, qty=2)
    with in_merchant_schema(mall.acme):
        svc.suborder_refuse_lines(suborder_id=so.pk, actor=mall.users["acme:owner"], reason_code="other", reason="closed for holidays")
        assert SubOrder.objects.get(pk=so.pk).status == S.REFUSED
    assert levels(items[0]) == [(10, 0)]
    _relay()
    payment = Payment.objects.get(order=order)
    assert payment.status == "refunded" and payment.refunded_minor == payment.captured_minor


@pytest.mark.parametrize("role,action", [("warehouse", "accept"), ("finance", "refuse"), ("customer_service", "ship"),
                                         ("customer_service", "refuse")])  # refusing refunds: an amount changes
def test_roles_without_the_capability_are_refused_and_nothing_changes(mall, role, action):
    _order, so, _ = _paid_suborder(mall)
    user = mall.users[f"acme:{role}"]
    with in_merchant_schema(mall.acme):
        if action == "ship":
            svc.suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        version = SubOrder.objects.get(pk=so.pk).version
        call = {"accept": lambda: svc.suborder_accept(suborder_id=so.pk, actor=user),
                "refuse": lambda: svc.suborder_refuse_lines(suborder_id=so.pk, actor=user, reason_code="out_of_stock"),
                "ship": lambda: shipment_create(suborder_id=so.pk, actor=user, lines=None, carrier="sf",
                                                tracking_number="SF1000000000009")}[action]
        with pytest.raises(PermissionDenied):
            call()
        assert SubOrder.objects.get(pk=so.pk).version == version


@pytest.mark.parametrize("case", ["over_ship", "bad_tracking", "unknown_carrier", "ship_refused", "ship_unaccepted", "no_reason"])
def test_bad_shipping_and_refusal_input_changes_nothing(mall, case):
    _order, so, _ = _paid_suborder(mall, qty=2)
    owner = mall.users["acme:owner"]
    with in_merchant_schema(mall.acme):
        line = SubOrderLine.objects.get(suborder_id=so.pk)
        if case not in ("ship_unaccepted", "no_reason"):
            if case == "ship_refused":
                svc.suborder_refuse_lines(suborder_id=so.pk, actor=owner, reason_code="out_of_stock")
            else:
                svc.suborder_accept(suborder_id=so.pk, actor=owner)
        version = SubOrder.objects.get(pk=so.pk).version
        kw = {"suborder_id": so.pk, "actor": owner, "lines": [(line.pk, 1)], "carrier": "sf", "tracking_number": "SF1000000000002"}
        expected = {"over_ship": ("lines[0].quantity", ValidationFailed), "bad_tracking": ("tracking_number", ValidationFailed),
                    "unknown_carrier": ("carrier", ValidationFailed), "ship_refused": ("status", InvalidTransition),
                    "ship_unaccepted": ("status", InvalidTransition), "no_reason": ("reason_code", ValidationFailed)}[case]
        if case == "over_ship":
            kw["lines"] = [(line.pk, 3)]
        elif case == "bad_tracking":
            kw["tracking_number"] = "12345"
        elif case == "unknown_carrier":
            kw["carrier"] = "pigeon"
        with pytest.raises(expected[1]) as err:
            if case == "no_reason":
                svc.suborder_refuse_lines(suborder_id=so.pk, actor=owner, reason_code="")
            else:
                shipment_create(**kw)
        assert err.value.field == expected[0]
        assert SubOrder.objects.get(pk=so.pk).version == version
        assert SubOrderLine.objects.get(pk=line.pk).shipped_qty == 0


def test_acceptance_deadline_refuses_and_refunds_once_or_accepts_per_policy(mall):
    order, so, _ = _paid_suborder(mall)
    with in_merchant_schema(mall.acme):
        deadline = SubOrder.objects.get(pk=so.pk).accept_by
    assert _sweep("accept", deadline - timedelta(seconds=1), mall.acme, so.pk) == 0
    assert _sweep("accept", deadline + timedelta(seconds=1), mall.acme, so.pk) == 1
    assert _sweep("accept", deadline + timedelta(seconds=2), mall.acme, so.pk) == 0
    _relay()
    _relay()
    assert Refund.objects.filter(order=order).count() == 1
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).status == "refused"
    from tenants.models import Merchant

    Merchant.objects.filter(pk=mall.globex.pk).update(auto_accept=True)
    order2, so2, _ = _paid_suborder(mall, merchant="globex")
    with in_merchant_schema(Merchant.objects.get(pk=mall.globex.pk)):
        deadline = SubOrder.objects.get(pk=so2.pk).accept_by
    assert _sweep("accept", deadline + timedelta(seconds=1), Merchant.objects.get(pk=mall.globex.pk), so2.pk) == 1
    assert SubOrderMirror.objects.get(merchant=mall.globex, suborder_id=so2.pk).status == "accepted"


def test_shipping_deadline_flags_late_once_and_auto_receipt_delivers(mall):
    order, so, _ = _paid_suborder(mall)
    with in_merchant_schema(mall.acme):
        svc.suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        ship_by = SubOrder.objects.get(pk=so.pk).ship_by
    assert _sweep("late", ship_by + timedelta(seconds=1), mall.acme, so.pk) == 1
    assert _sweep("late", ship_by + timedelta(seconds=1), mall.acme, so.pk) == 0
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).is_late is True
    with in_merchant_schema(mall.acme):
        shipment_create(suborder_id=so.pk, actor=mall.users["acme:warehouse"], lines=None, carrier="ems", tracking_number="EA123456789CN")
        receipt_at = SubOrder.objects.get(pk=so.pk).auto_receipt_at
    assert _sweep("receipt", receipt_at - timedelta(seconds=1), mall.acme, so.pk) == 0
    assert _sweep("receipt", receipt_at + timedelta(seconds=1), mall.acme, so.pk) == 1
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).status == "delivered"


def test_an_older_mirror_snapshot_never_overwrites_a_newer_one(mall):
    _order, so, _ = _paid_suborder(mall)
    mirror = SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk)
    stale = {"merchant_id": mall.acme.pk, "suborder_id": so.pk, "version": mirror.version - 1, "status": "cancelled"}
    assert mirror_apply_snapshot(stale) is False
    assert SubOrderMirror.objects.get(pk=mirror.pk).status == mirror.status == "awaiting_acceptance"


def test_two_users_accept_and_refuse_at_once_exactly_one_wins(committed):
    mall = committed
    order, _ = place_order(mall, qty=2)
    pay(order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
    outcomes = race_in_schema(mall.acme, {
        "accept": lambda: svc.suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"]),
        "refuse": lambda: svc.suborder_refuse_lines(suborder_id=so.pk, actor=mall.users["acme:manager"], reason_code="out_of_stock")})
    assert sorted(outcomes.values()) == ["ok", "refused"]
    with in_merchant_schema(mall.acme):
        final = SubOrder.objects.get(pk=so.pk)
        line = SubOrderLine.objects.get(suborder_id=so.pk)
    if outcomes["accept"] == "ok":
        assert final.status == "accepted" and (line.accepted_qty, line.refused_qty) == (2, 0)
    else:
        assert final.status == "refused" and (line.accepted_qty, line.refused_qty) == (0, 2)
    assert _mirror_matches(mall.acme, so.pk)


def test_the_same_sweep_run_twice_at_once_completes_once(committed):
    mall = committed
    order, _ = place_order(mall, qty=1)
    pay(order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
        svc.suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        shipment_create(suborder_id=so.pk, actor=mall.users["acme:warehouse"], lines=None, carrier="dhl",
                        tracking_number=f"{so.pk % 10**10:010d}")
        done = suborder_confirm_receipt(suborder_id=so.pk, shopper_email=order.email)
    later = done.complete_after + timedelta(seconds=1)
    barrier = threading.Barrier(2)

    def sweep():
        try:
            barrier.wait(timeout=10)
            suborders_sweep(kind="complete", now=later)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=so.pk).status == "completed"
        assert SubOrderEvent.objects.filter(suborder_id=so.pk, to_status="completed").count() == 1
