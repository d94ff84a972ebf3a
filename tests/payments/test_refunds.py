"""Refunds: per line, shipping, custom; limits per order, suborder and line; concurrency; roles."""
import threading

import pytest
from django.db import connection

from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.tenancy import in_merchant_schema
from orders.models import OrderLine, SubOrderMirror
from payments.models import LedgerEntry, Refund
from payments.services import RefundLineRequest, ledger_check, refund_create, refund_retry
from tests.payments.helpers import pay, place_order, run_commit_hooks


def _create(**kw):
    return run_commit_hooks(refund_create, **kw)


def _paid(mall, **kw):
    order, items = place_order(mall, **kw)
    payment = pay(order)
    return order, payment, items


def _line(order, merchant):
    return OrderLine.objects.get(order=order, merchant=merchant)


def _mirror(order, merchant):
    return SubOrderMirror.objects.get(order=order, merchant=merchant)


def test_one_unit_of_a_line_is_refunded_exactly_and_the_ledger_balances(mall):
    order, payment, _ = _paid(mall, stores=("acme", "globex"), qty=3, price_minor=1001)
    line, mirror = _line(order, mall.acme), _mirror(order, mall.acme)
    refund, created = _create(actor=mall.users["acme:finance"], merchant_id=mall.acme.pk, suborder_id=mirror.suborder_id,
                                    lines=[RefundLineRequest(order_line_id=line.pk, quantity=1)], reason="damaged")
    assert created
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.amount_minor == line.line_total_minor * 1 // 3
    payment.refresh_from_db()
    assert payment.status == "partially_refunded" and payment.refunded_minor == refund.amount_minor
    assert ledger_check(order_ids=[order.pk]) == []
    entries = list(LedgerEntry.objects.filter(refund=refund).values_list("merchant_id", "suborder_id", "order_line_id", "amount_minor"))
    assert entries == [(mall.acme.pk, mirror.suborder_id, line.pk, -refund.amount_minor)]
    from permissions.models import AuditEntry

    [audit] = AuditEntry.objects.filter(entity="refund", entity_id=str(refund.pk))
    assert (audit.schema_name, audit.action, audit.role, audit.actor) == (mall.acme.schema_name, "request", "finance",
                                                                          mall.users["acme:finance"])
    assert audit.after["amount_minor"] == refund.amount_minor and audit.after["lines"] == [[line.sku, 1]]


def test_the_last_units_of_a_line_take_the_rest_so_parts_sum_to_the_line(mall):
    order, payment, _ = _paid(mall, qty=3, price_minor=1001)
    line, mirror = _line(order, mall.acme), _mirror(order, mall.acme)
    amounts = []
    for _ in range(3):
        r, _c = _create(actor=mall.users["acme:finance"], merchant_id=mall.acme.pk, suborder_id=mirror.suborder_id,
                              lines=[RefundLineRequest(order_line_id=line.pk, quantity=1)], reason="one by one")
        amounts.append(r.amount_minor)
    assert sum(amounts) == line.line_total_minor
    with pytest.raises(Conflict) as err:
        _create(actor=mall.users["acme:finance"], merchant_id=mall.acme.pk, suborder_id=mirror.suborder_id,
                lines=[RefundLineRequest(order_line_id=line.pk, quantity=1)], reason="one more")
    assert err.value.field == "lines[0].quantity"


def test_whole_suborder_with_shipping_refunds_it_fully(mall):
    order, payment, _ = _paid(mall, qty=2)
    line, mirror = _line(order, mall.acme), _mirror(order, mall.acme)
    r, _ = _create(actor=mall.users["acme:owner"], merchant_id=mall.acme.pk, suborder_id=mirror.suborder_id,
                         lines=[RefundLineRequest(order_line_id=line.pk, quantity=2)], shipping_minor=mirror.shipping_minor,
                         reason="out of stock after all", restock=True)
    payment.refresh_from_db()
    assert r.amount_minor == mirror.total_minor
    assert payment.status == "refunded" and payment.refunded_minor == payment.captured_minor
    assert sum(LedgerEntry.objects.filter(order=order).values_list("amount_minor", flat=True)) == 0
    from catalog.models import StockReservation
    from suborders.models import SubOrderLine

    with in_merchant_schema(mall.acme):
        owners = [ln.reservation_owner for ln in SubOrderLine.objects.filter(suborder_id=mirror.suborder_id)]
        # a refund alone does not cancel units still to ship (the merchant cancels or refuses them, which
        # releases the stock and refunds through the outbox): their reservation stays
        assert owners and set(StockReservation.objects.filter(owner__in=owners).values_list("status", flat=True)) == {"active"}


@pytest.mark.parametrize("case", ["over_custom", "other_merchant_line", "unpaid", "no_reason", "nothing", "zero_qty"])
def test_bad_refunds_are_refused_with_the_field_and_change_nothing(mall, case):
    order, payment, _ = _paid(mall, stores=("acme", "globex"))
    line, mirror = _line(order, mall.acme), _mirror(order, mall.acme)
    kw = {"actor": mall.users["acme:finance"], "merchant_id": mall.acme.pk, "suborder_id": mirror.suborder_id,
          "lines": [RefundLineRequest(order_line_id=line.pk, quantity=1)], "reason": "why"}
    expected = {"over_custom": (Conflict, "amount"), "other_merchant_line": (NotFound, "lines[0].order_line_id"),
                "unpaid": (Conflict, "order"), "no_reason": (ValidationFailed, "reason"), "nothing": (ValidationFailed, "lines"),
                "zero_qty": (ValidationFailed, "lines[0].quantity")}[case]
    if case == "over_custom":
        kw["lines"], kw["custom_minor"] = [], mirror.total_minor + 1
    elif case == "other_merchant_line":
        kw["lines"] = [RefundLineRequest(order_line_id=_line(order, mall.globex).pk, quantity=1)]
    elif case == "unpaid":
        order2, _ = place_order(mall)
        kw["suborder_id"] = _mirror(order2, mall.acme).suborder_id
        kw["lines"] = [RefundLineRequest(order_line_id=_line(order2, mall.acme).pk, quantity=1)]
    elif case == "no_reason":
        kw["reason"] = "  "
    elif case == "nothing":
        kw["lines"] = []
    elif case == "zero_qty":
        kw["lines"] = [RefundLineRequest(order_line_id=line.pk, quantity=0)]
    before = (Refund.objects.count(), LedgerEntry.objects.count())
    with pytest.raises(expected[0]) as err:
        refund_create(**kw)
    assert err.value.field == expected[1]
    assert (Refund.objects.count(), LedgerEntry.objects.count()) == before
    payment.refresh_from_db()
    assert payment.refunded_minor == 0


@pytest.mark.parametrize("role", ["warehouse", "customer_service"])
def test_roles_without_refunds_create_and_other_merchants_are_refused(mall, role):
    order, payment, _ = _paid(mall)
    line, mirror = _line(order, mall.acme), _mirror(order, mall.acme)
    for actor, merchant in ((mall.users[f"acme:{role}"], mall.acme), (mall.users["globex:finance"], mall.acme)):
        with pytest.raises(PermissionDenied):
            refund_create(actor=actor, merchant_id=merchant.pk, suborder_id=mirror.suborder_id,
                          lines=[RefundLineRequest(order_line_id=line.pk, quantity=1)], reason="x")
    # globex's finance asking on its own store for acme's suborder id finds nothing
    with pytest.raises(NotFound):
        refund_create(actor=mall.users["globex:finance"], merchant_id=mall.globex.pk, suborder_id=mirror.suborder_id,
                      lines=[RefundLineRequest(order_line_id=line.pk, quantity=1)], reason="x")
    assert not Refund.objects.filter(order=order).exists()


def test_operator_may_refund_any_merchant(mall):
    order, payment, _ = _paid(mall)
    mirror = _mirror(order, mall.acme)
    r, _ = _create(actor=mall.users["operator"], merchant_id=mall.acme.pk, suborder_id=mirror.suborder_id,
                         custom_minor=100, reason="goodwill")
    r.refresh_from_db()
    assert (r.status, r.amount_minor, r.requested_by_id) == ("succeeded", 100, mall.users["operator"].pk)


def test_a_failed_refund_gives_its_amount_back_and_can_be_retried(mall):
    order, payment, _ = _paid(mall)
    mirror = _mirror(order, mall.acme)
    r, _ = _create(actor=mall.users["acme:finance"], merchant_id=mall.acme.pk, suborder_id=mirror.suborder_id,
                         custom_minor=mirror.total_minor, reason="[decline] test")
    r.refresh_from_db()
    assert r.status == "failed" and r.failure
    payment.refresh_from_db()
    assert payment.refunded_minor == 0 and not LedgerEntry.objects.filter(refund=r).exists()
    Refund.objects.filter(pk=r.pk).update(reason="retry now")
    run_commit_hooks(refund_retry, refund_id=r.pk, actor=mall.users["acme:finance"])
    r.refresh_from_db()
    assert r.status == "succeeded" and r.attempts == 1
    payment.refresh_from_db()
    assert payment.refunded_minor == mirror.total_minor
    assert ledger_check(order_ids=[order.pk]) == []


def test_same_idempotency_key_returns_the_first_refund(mall):
    order, payment, _ = _paid(mall)
    mirror = _mirror(order, mall.acme)
    kw = dict(actor=mall.users["acme:finance"], merchant_id=mall.acme.pk, suborder_id=mirror.suborder_id, custom_minor=50,
              reason="dup", idempotency_key="refund-key-1")
    r1, c1 = _create(**kw)
    r2, c2 = _create(**kw)
    assert (c1, c2) == (True, False) and r1.pk == r2.pk
    assert Refund.objects.filter(order=order).count() == 1


def test_two_concurrent_refunds_over_the_captured_amount_exactly_one_succeeds(committed, unique):
    """Two finance users refund at the same instant; together they exceed what was captured."""
    from tests.payments.helpers import pay, place_order

    order, _ = place_order(committed, stores=("acme",), qty=1, price_minor=5000)
    payment = pay(order)
    mirror = _mirror(order, committed.acme)
    each = payment.captured_minor * 2 // 3  # two of these exceed the total
    barrier = threading.Barrier(2)
    results, errors = [], []

    def go(user):
        try:
            barrier.wait(timeout=10)
            r, _ = refund_create(actor=user, merchant_id=committed.acme.pk, suborder_id=mirror.suborder_id,
                                 custom_minor=each, reason="concurrent")
            results.append(r.pk)
        except Conflict as exc:
            errors.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(committed.users[u],)) for u in ("acme:finance", "acme:owner")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 1 and errors == ["over_refund"]
    payment.refresh_from_db()
    assert payment.refunded_minor == each and payment.status == "partially_refunded"
    assert ledger_check(order_ids=[order.pk]) == []
