"""Shopper cancellations: at once before acceptance (stock released, refunded exactly once through payments'
outbox subscriber), as a request after acceptance (approve, refuse, auto-approve at the deadline), bad
input changing nothing, two deciders at once, and isolation between stores and shoppers."""
from datetime import timedelta

import pytest

from core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from core.models import OutboxEvent
from core.tenancy import in_merchant_schema
from orders.models import SubOrderMirror
from payments.models import Payment, Refund
from payments.services import ledger_check
from suborders import services as svc
from suborders.cancellations import cancellation_decide, suborder_shopper_cancel
from suborders.models import CancellationRequest, SubOrder, SubOrderLine
from tests.concurrency import race_in_schema
from tests.orders.factories import levels
from tests.payments.helpers import pay, place_order
from tests.suborders.test_lifecycle import _paid_suborder, _relay, _sweep


def _lines(so_id):
    return list(SubOrderLine.objects.filter(suborder_id=so_id).order_by("pk"))


def test_cancelling_some_units_before_acceptance_releases_stock_and_refunds_exactly_those_once(mall):
    order, so, items = _paid_suborder(mall, qty=3, lines=2, price_minor=1000)
    with in_merchant_schema(mall.acme):
        first = _lines(so.pk)[0]
        out = suborder_shopper_cancel(suborder_id=so.pk, shopper_email=order.email, actor=mall.users["shopper"],
                                      lines=[(first.pk, 2)], reason="changed my mind")
        assert out.outcome == "cancelled" and out.request_id is None
        assert [(ln.cancelled_qty, ln.accepted_qty) for ln in _lines(so.pk)] == [(2, 0), (0, 0)]
        assert SubOrder.objects.get(pk=so.pk).status == "awaiting_acceptance"
    assert levels(items[0]) == [(10, 1)] and levels(items[1]) == [(10, 3)]
    _relay()
    _relay()  # a second relay pass refunds nothing more
    refunds = list(Refund.objects.filter(order=order))
    assert [(r.amount_minor, r.status) for r in refunds] == [(2000, "succeeded")]
    assert ledger_check(order_ids=[order.pk]) == []


def test_cancelling_the_whole_suborder_before_acceptance_refunds_everything_with_shipping(mall):
    order, so, items = _paid_suborder(mall, qty=2)
    with in_merchant_schema(mall.acme):
        assert suborder_shopper_cancel(suborder_id=so.pk, shopper_email=order.email.upper()).outcome == "cancelled"
        assert SubOrder.objects.get(pk=so.pk).status == "cancelled"
    assert levels(items[0]) == [(10, 0)]
    _relay()
    payment = Payment.objects.get(order=order)
    assert payment.refunded_minor == payment.captured_minor and payment.status == "refunded"
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).status == "cancelled"


def _accepted(mall, **kw):
    order, so, items = _paid_suborder(mall, **kw)
    with in_merchant_schema(mall.acme):
        svc.suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
    return order, so, items


def test_after_acceptance_a_request_waits_and_approval_cancels_and_refunds_once(mall):
    order, so, items = _accepted(mall, qty=3, price_minor=1000)
    with in_merchant_schema(mall.acme):
        line = _lines(so.pk)[0]
        out = suborder_shopper_cancel(suborder_id=so.pk, shopper_email=order.email, actor=mall.users["shopper"],
                                      lines=[(line.pk, 1)], reason="ordered one too many")
        assert out.outcome == "requested"
        req = CancellationRequest.objects.get(pk=out.request_id)
        assert req.status == "requested" and req.lines[0]["quantity"] == 1
        assert SubOrder.objects.get(pk=so.pk).cancellation_due_at == req.decide_by
        assert _lines(so.pk)[0].cancelled_qty == 0  # nothing happens before the store decides
    mirror = SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk)
    assert mirror.cancellation_due_at == req.decide_by
    assert levels(items[0]) == [(10, 3)]
    _relay()
    assert not Refund.objects.filter(order=order).exists()
    with in_merchant_schema(mall.acme):
        cancellation_decide(request_id=req.pk, actor=mall.users["acme:customer_service"], approve=True)
        assert CancellationRequest.objects.get(pk=req.pk).status == "approved"
        assert (_lines(so.pk)[0].cancelled_qty, _lines(so.pk)[0].accepted_qty) == (1, 2)
        assert SubOrder.objects.get(pk=so.pk).cancellation_due_at is None
        with pytest.raises(InvalidTransition) as err:  # twice
            cancellation_decide(request_id=req.pk, actor=mall.users["acme:owner"], approve=True)
        assert err.value.field == "status"
    assert levels(items[0]) == [(10, 2)]
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).cancellation_due_at is None
    _relay()
    _relay()
    assert [r.amount_minor for r in Refund.objects.filter(order=order)] == [1000]
    topics = set(OutboxEvent.objects.filter(aggregate_type="cancellation_request", aggregate_id=str(req.pk))
                 .values_list("topic", flat=True))
    assert topics == {"cancellation.requested", "cancellation.approved"}


def test_a_refused_request_changes_nothing_but_its_state_and_needs_a_reason(mall):
    order, so, items = _accepted(mall, qty=2)
    with in_merchant_schema(mall.acme):
        req_id = suborder_shopper_cancel(suborder_id=so.pk, shopper_email=order.email).request_id
        with pytest.raises(ValidationFailed) as err:
            cancellation_decide(request_id=req_id, actor=mall.users["acme:manager"], approve=False, reason="  ")
        assert err.value.field == "reason"
        assert CancellationRequest.objects.get(pk=req_id).status == "requested"
        cancellation_decide(request_id=req_id, actor=mall.users["acme:manager"], approve=False, reason="already packed")
        req = CancellationRequest.objects.get(pk=req_id)
        assert (req.status, req.decision_reason, req.decided_by_id) == ("refused", "already packed", mall.users["acme:manager"].pk)
        fresh = SubOrder.objects.get(pk=so.pk)
        assert (fresh.status, fresh.cancellation_due_at) == ("accepted", None)
        assert _lines(so.pk)[0].accepted_qty == 2
    assert levels(items[0]) == [(10, 2)]
    _relay()
    assert not Refund.objects.filter(order=order).exists()


def test_an_undecided_request_is_approved_by_the_sweep_at_its_deadline_once(mall):
    order, so, items = _accepted(mall, qty=2, price_minor=1500)
    with in_merchant_schema(mall.acme):
        req_id = suborder_shopper_cancel(suborder_id=so.pk, shopper_email=order.email).request_id
        deadline = CancellationRequest.objects.get(pk=req_id).decide_by
    assert _sweep("cancellation", deadline - timedelta(seconds=1), mall.acme, so.pk) == 0
    assert _sweep("cancellation", deadline + timedelta(seconds=1), mall.acme, so.pk) == 1
    assert _sweep("cancellation", deadline + timedelta(seconds=2), mall.acme, so.pk) == 0
    with in_merchant_schema(mall.acme):
        req = CancellationRequest.objects.get(pk=req_id)
        assert (req.status, req.automatic, req.decided_by_id) == ("approved", True, None)
        assert SubOrder.objects.get(pk=so.pk).status == "cancelled"
    assert levels(items[0]) == [(10, 0)]
    _relay()
    payment = Payment.objects.get(order=order)
    assert payment.refunded_minor == payment.captured_minor


@pytest.mark.parametrize("case", ["shipped_units", "more_than_ordered", "twice", "someone_else",
                                  "unknown_line", "after_shipping"])
def test_bad_cancellations_name_the_field_and_change_nothing(mall, case):
    order, so, items = _accepted(mall, qty=2, lines=2)
    email = order.email
    with in_merchant_schema(mall.acme):
        a, b = _lines(so.pk)
        if case in ("shipped_units", "after_shipping"):
            from fulfillment.shipments import shipment_create

            ship = [(a.pk, 2)] if case == "shipped_units" else None
            shipment_create(suborder_id=so.pk, actor=mall.users["acme:warehouse"], lines=ship, carrier="sf",
                            tracking_number="SF1000000000077")
        if case == "twice":
            suborder_shopper_cancel(suborder_id=so.pk, shopper_email=email, lines=[(a.pk, 1)])
        before = (SubOrder.objects.get(pk=so.pk).version, CancellationRequest.objects.filter(suborder_id=so.pk).count())
        kw = {"suborder_id": so.pk, "shopper_email": email, "lines": [(a.pk, 1)]}
        expected = {"shipped_units": (ValidationFailed, "lines[0].quantity"), "more_than_ordered": (ValidationFailed, "lines[0].quantity"),
                    "twice": (Conflict, "suborder"), "someone_else": (NotFound, "suborder"),
                    "unknown_line": (NotFound, "lines[0].line_id"),
                    "after_shipping": (InvalidTransition, "status")}[case]
        if case == "more_than_ordered":
            kw["lines"] = [(a.pk, 3)]
        elif case == "someone_else":
            kw["shopper_email"] = "mallory@example.test"
        elif case == "unknown_line":
            kw["lines"] = [(b.pk + 1000, 1)]
        with pytest.raises(expected[0]) as err:
            suborder_shopper_cancel(**kw)
        assert err.value.field == expected[1]
        assert (SubOrder.objects.get(pk=so.pk).version, CancellationRequest.objects.filter(suborder_id=so.pk).count()) == before


def test_only_deciding_roles_of_this_store_decide(mall):
    order, so, _ = _accepted(mall)
    with in_merchant_schema(mall.acme):
        req_id = suborder_shopper_cancel(suborder_id=so.pk, shopper_email=order.email).request_id
        for user in (mall.users["acme:finance"], mall.users["acme:warehouse"], mall.users["globex:owner"], mall.users["shopper"]):
            with pytest.raises(PermissionDenied):
                cancellation_decide(request_id=req_id, actor=user, approve=True)
        assert CancellationRequest.objects.get(pk=req_id).status == "requested"
    with in_merchant_schema(mall.globex), pytest.raises(NotFound):  # acme's real id, asked in globex's schema
        cancellation_decide(request_id=req_id, actor=mall.users["globex:owner"], approve=True)


def test_approve_and_refuse_at_once_on_two_connections_exactly_one_wins(committed):
    mall = committed
    order, _ = place_order(mall, qty=2)
    pay(order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
        svc.suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        req_id = suborder_shopper_cancel(suborder_id=so.pk, shopper_email=order.email).request_id
    outcomes = race_in_schema(mall.acme, {
        "approve": lambda: cancellation_decide(request_id=req_id, actor=mall.users["acme:owner"], approve=True, reason=""),
        "refuse": lambda: cancellation_decide(request_id=req_id, actor=mall.users["acme:manager"], approve=False,
                                              reason="packed already")})
    assert sorted(outcomes.values()) == ["ok", "refused"]
    with in_merchant_schema(mall.acme):
        req = CancellationRequest.objects.get(pk=req_id)
        line = SubOrderLine.objects.get(suborder_id=so.pk)
        final = SubOrder.objects.get(pk=so.pk)
    if outcomes["approve"] == "ok":
        assert req.status == "approved" and final.status == "cancelled" and line.cancelled_qty == 2
    else:
        assert req.status == "refused" and final.status == "accepted" and line.cancelled_qty == 0


def test_the_store_is_told_of_a_request_and_the_shopper_of_a_refusal_once(mall, mailoutbox):
    from notifications.models import Message

    order, so, _ = _accepted(mall, qty=2)
    with in_merchant_schema(mall.acme):
        req_id = suborder_shopper_cancel(suborder_id=so.pk, shopper_email=order.email, reason="ordered twice").request_id
    _relay()
    _relay()
    to_store = list(Message.objects.filter(kind="merchant_cancellation_requested", recipient=mall.acme.contact_email,
                                           subject__contains=so.number))
    assert len(to_store) == 1
    mail = next(m for m in mailoutbox if m.to == [mall.acme.contact_email] and "Cancellation requested" in m.subject
                and so.number in m.subject)
    assert "ordered twice" in mail.body and "/suborders/cancellations/" in mail.body
    with in_merchant_schema(mall.acme):
        cancellation_decide(request_id=req_id, actor=mall.users["acme:owner"], approve=False, reason="handed to SF already")
    _relay()
    _relay()
    to_shopper = list(Message.objects.filter(kind="cancellation_refused", recipient=order.email))
    assert len(to_shopper) == 1 and order.number in to_shopper[0].subject
    mail = next(m for m in mailoutbox if m.to == [order.email] and "could not cancel" in m.subject)
    assert "handed to SF already" in mail.body
