"""The return state machine generated from its tables, every deadline with frozen time (the clock is
patched, then the beat sweep's path runs: the public due index → the merchant's schema), and a concurrent
approve/refuse on two real connections where exactly one wins."""
import itertools
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from core.errors import InvalidTransition
from core.tenancy import in_merchant_schema
from returns import services as svc
from returns.due_index.models import ReturnDue
from returns.models import ReturnEvent, ReturnRequest
from returns.states import TRANSITIONS, ReturnKind, ReturnStatus
from returns.sweeps import apply_due, returns_due
from tests.concurrency import race_in_schema
from tests.returns.helpers import delivered_suborder, lines_of

S = ReturnStatus


@contextmanager
def frozen(at):
    """Freeze django.utils.timezone.now (what every service reads) at `at`."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield at


def _request(so, qty=1, kind="return", reason_code="damaged"):
    return svc.return_request_create(suborder_id=so.pk, shopper_email=so.shopper_email, kind=kind,
                                     lines=[(lines_of(so)[0].pk, qty)], reason_code=reason_code)


@pytest.mark.parametrize("kind", [ReturnKind.RETURN, ReturnKind.REFUND_ONLY])
def test_state_table_every_allowed_transition_works_and_every_other_is_refused(mall, kind):
    _order, so, _ = delivered_suborder(mall, qty=1)
    table = TRANSITIONS[kind]
    with in_merchant_schema(mall.acme):
        ret = _request(so, kind=kind)
        checked = 0
        for current, target in itertools.product(S.values, S.values):
            if current == target:
                continue
            sid = transaction.savepoint()
            ReturnRequest.objects.filter(pk=ret.pk).update(status=current)
            locked = svc._lock(ret.pk)
            events, version = ReturnEvent.objects.filter(request=ret).count(), locked.version
            if target in table[current]:
                svc._transition(ret=locked, to=target, action="test")
                fresh = ReturnRequest.objects.get(pk=ret.pk)
                assert (fresh.status, fresh.version) == (target, version + 1)
                assert ReturnEvent.objects.filter(request=ret).count() == events + 1
            else:
                with pytest.raises(InvalidTransition):
                    svc._transition(ret=locked, to=target, action="test")
                fresh = ReturnRequest.objects.get(pk=ret.pk)
                assert (fresh.status, fresh.version) == (current, version)
                assert ReturnEvent.objects.filter(request=ret).count() == events
            transaction.savepoint_rollback(sid)
            checked += 1
        assert checked == len(S.values) * (len(S.values) - 1)


def test_refund_only_never_waits_for_a_parcel():
    assert S.AWAITING_RETURN_SHIPMENT not in TRANSITIONS[ReturnKind.REFUND_ONLY][S.APPROVED]
    assert TRANSITIONS[ReturnKind.REFUND_ONLY][S.APPROVED] == frozenset({S.REFUNDED})


def _sweep(merchant, ret_id, now) -> int:
    """The beat sweep's path for this return only (committed rows of other tests may be due too)."""
    if ret_id not in returns_due(now=now).get(merchant.pk, []):
        return 0
    with in_merchant_schema(merchant):
        return apply_due(return_ids=[ret_id], now=now)


def test_the_store_that_does_not_answer_in_time_has_the_request_approved(mall):
    _order, so, _ = delivered_suborder(mall, qty=1)
    t0 = timezone.now().replace(microsecond=0)
    with in_merchant_schema(mall.acme):
        with frozen(t0):
            ret = _request(so)
        days = svc.return_policy_get().answer_days
    assert ret.answer_by == t0 + timedelta(days=days)
    assert _sweep(mall.acme, ret.pk, t0 + timedelta(days=days) - timedelta(seconds=1)) == 0
    with in_merchant_schema(mall.acme):
        assert ReturnRequest.objects.get(pk=ret.pk).status == "requested"
    with frozen(t0 + timedelta(days=days, seconds=1)) as later:
        assert _sweep(mall.acme, ret.pk, later) == 1
        assert _sweep(mall.acme, ret.pk, later) == 0  # twice: acts once (the index now says "ship")
    with in_merchant_schema(mall.acme):
        ret.refresh_from_db()
        assert ret.status == "awaiting_return_shipment" and ret.answer_by is None
        assert ret.ship_by == later + timedelta(days=svc.return_policy_get().ship_days)
        assert list(ReturnEvent.objects.filter(request=ret).values_list("action", "actor")) == [
            ("requested", None), ("auto_approved", None), ("awaiting_shipment", None)]
    assert ReturnDue.objects.get(merchant_id=mall.acme.pk, return_id=ret.pk).due_at == ret.ship_by


def test_the_shopper_who_does_not_ship_in_time_has_the_return_closed_and_may_ask_again(mall):
    _order, so, _ = delivered_suborder(mall, qty=1)
    t0 = timezone.now().replace(microsecond=0)
    with in_merchant_schema(mall.acme):
        with frozen(t0):
            ret = _request(so)
            svc.return_approve(return_id=ret.pk, actor=mall.users["acme:owner"])
        ret.refresh_from_db()
    assert _sweep(mall.acme, ret.pk, ret.ship_by - timedelta(seconds=1)) == 0
    assert _sweep(mall.acme, ret.pk, ret.ship_by + timedelta(seconds=1)) == 1
    assert not ReturnDue.objects.filter(merchant_id=mall.acme.pk, return_id=ret.pk).exists()
    with in_merchant_schema(mall.acme):
        ret.refresh_from_db()
        assert ret.status == "closed" and ret.lines.get().accepted_qty == 0
        with frozen(t0 + timedelta(hours=1)):  # the unit is free again, within the window
            assert _request(so).status == "requested"


def test_a_shipped_parcel_is_not_closed_by_the_shipping_deadline(mall):
    _order, so, _ = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        ret = _request(so)
        svc.return_approve(return_id=ret.pk, actor=mall.users["acme:owner"])
        ret.refresh_from_db()
        ship_by = ret.ship_by
        svc.return_mark_shipped(return_id=ret.pk, shopper_email=so.shopper_email, carrier="SF", tracking_number="SF1")
    assert _sweep(mall.acme, ret.pk, ship_by + timedelta(days=1)) == 0
    with in_merchant_schema(mall.acme):
        assert svc.return_deadline_apply(return_id=ret.pk, now=ship_by + timedelta(days=1)) is None
        assert ReturnRequest.objects.get(pk=ret.pk).status == "in_transit"


def test_the_return_window_closes_window_days_after_delivery(mall):
    from core.errors import Conflict

    _order, so, _ = delivered_suborder(mall, qty=2)
    with in_merchant_schema(mall.acme):
        days = svc.return_policy_get().window_days
        with frozen(so.delivered_at + timedelta(days=days) - timedelta(seconds=1)):
            assert _request(so).status == "requested"
        with frozen(so.delivered_at + timedelta(days=days, seconds=1)), pytest.raises(Conflict) as err:
            _request(so)
        assert err.value.code == "return_window_closed"


def test_the_suborder_completes_at_the_next_sweep_after_its_return_ends(mall):
    from orders.services.sweeps import apply_due as lifecycle_apply

    _order, so, _ = delivered_suborder(mall, qty=1)
    later = so.complete_after + timedelta(minutes=1)
    with in_merchant_schema(mall.acme):
        ret = _request(so)
        assert lifecycle_apply(kind="complete", suborder_ids=[so.pk], now=later) == 0
        svc.return_approve(return_id=ret.pk, actor=mall.users["acme:owner"])
        svc.return_deadline_apply(return_id=ret.pk, now=later + timedelta(days=30))  # not shipped back: closed
        assert lifecycle_apply(kind="complete", suborder_ids=[so.pk], now=later) == 1
        so.refresh_from_db()
        assert so.status == "completed"


# --- concurrency -----------------------------------------------------------------------------------

def test_concurrent_approve_and_refuse_exactly_one_wins(committed):
    mall = committed
    _order, so, _ = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        ret = _request(so)
    outcomes = race_in_schema(mall.acme, {
        "approve": lambda: svc.return_approve(return_id=ret.pk, actor=mall.users["acme:owner"]),
        "refuse": lambda: svc.return_refuse(return_id=ret.pk, actor=mall.users["acme:customer_service"], reason="not eligible")})
    assert sorted(outcomes.values()) == ["ok", "refused"]
    with in_merchant_schema(mall.acme):
        final = ReturnRequest.objects.get(pk=ret.pk)
        decisions = list(ReturnEvent.objects.filter(request=ret, action__in=("approved", "refused")).values_list("action", flat=True))
    assert decisions == (["approved"] if outcomes["approve"] == "ok" else ["refused"])
    assert final.status == ("awaiting_return_shipment" if outcomes["approve"] == "ok" else "refused")
