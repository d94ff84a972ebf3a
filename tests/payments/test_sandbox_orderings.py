"""Sandbox notifications delivered 3× in any order end where delivering them once, in order, ends."""
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.models import LedgerEntry, Payment
from payments.services import RefundLineRequest, ledger_check, notification_receive, refund_create
from tests.payments.helpers import deliver, place_order, run_commit_hooks, sandbox_event, start_sandbox

# Each scenario: the events the gateway sends for one payment, in the order they happened.
SCENARIOS = {
    "succeed": ["payment.succeeded"],
    "action_then_succeed": ["payment.requires_action", "payment.succeeded"],
    "decline_then_succeed": ["payment.failed", "payment.succeeded"],
    "action_then_decline": ["payment.requires_action", "payment.failed"],
    "decline": ["payment.failed"],
}


def _final(payment_id):
    p = Payment.objects.get(pk=payment_id)
    return p.status, p.captured_minor, sum(LedgerEntry.objects.filter(payment=p).values_list("amount_minor", flat=True))


def _events(payment, kinds):
    t0 = int(time.time())
    return [sandbox_event(payment, kind, event_id=f"evt_{payment.pk}_{i}", created=t0 + i) for i, kind in enumerate(kinds)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=st.sampled_from(sorted(SCENARIOS)), order_seed=st.randoms(use_true_random=False))
def test_shuffled_triplicate_delivery_converges(mall, scenario, order_seed):
    kinds = SCENARIOS[scenario]
    # once, in order
    order_a, _ = place_order(mall, qty=1)
    pa = start_sandbox(order_a)
    for body, headers in _events(pa, kinds):
        notification_receive(gateway_code="sandbox", body=body, headers=headers)
    # three times each, shuffled
    order_b, _ = place_order(mall, qty=1)
    pb = start_sandbox(order_b)
    deliveries = _events(pb, kinds) * 3
    order_seed.shuffle(deliveries)
    for body, headers in deliveries:
        notification_receive(gateway_code="sandbox", body=body, headers=headers)
    assert _final(pa.pk) == _final(pb.pk)
    assert ledger_check(order_ids=[order_a.pk, order_b.pk]) == []


def test_refund_then_late_duplicate_capture_changes_nothing(mall):
    order, _ = place_order(mall, qty=2)
    payment = start_sandbox(order)
    body, headers = sandbox_event(payment, "payment.succeeded", event_id=f"evt_dup_{payment.pk}")
    notification_receive(gateway_code="sandbox", body=body, headers=headers)
    from orders.models import OrderLine, SubOrderMirror

    mirror = SubOrderMirror.objects.get(order=order)
    line = OrderLine.objects.get(order=order)
    run_commit_hooks(refund_create, actor=mall.users["acme:finance"], merchant_id=mall.acme.pk, suborder_id=mirror.suborder_id,
                     lines=[RefundLineRequest(order_line_id=line.pk, quantity=1)], reason="one")
    before = _final(payment.pk)
    notification_receive(gateway_code="sandbox", body=body, headers=headers)  # the same event again
    deliver(payment, "payment.succeeded")  # a new event id for the same capture
    deliver(payment, "payment.failed")
    assert _final(payment.pk) == before and before[0] == "partially_refunded"
