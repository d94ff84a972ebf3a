"""Paying with the sandbox gateway: intent once, signed webhooks, suborders move on, ledger written."""
import pytest

from core.models import OutboxEvent
from core.tenancy import in_merchant_schema
from orders.models import Order, SubOrderMirror
from orders.services.expiry import order_expire_now
from payments.gateways.base import NotificationRejected
from payments.models import GatewayEvent, LedgerEntry, PaymentEvent
from payments.services import ledger_check
from suborders.models import SubOrder
from tests.payments.helpers import deliver, pay, place_order, post_webhook, sandbox_event, start_sandbox


def _suborder_statuses(order, *merchants):
    out = []
    for m in merchants:
        with in_merchant_schema(m):
            out += list(SubOrder.objects.filter(order_id=order.pk).values_list("status", flat=True))
    return out


def test_paying_moves_every_suborder_to_awaiting_acceptance_and_writes_the_ledger(mall):
    order, _ = place_order(mall, stores=("acme", "globex", "initech"))
    payment = start_sandbox(order)
    assert payment.gateway == "sandbox" and payment.gateway_reference.startswith("sbx_")
    assert payment.action_url.startswith("/pay/sandbox/?")
    again = start_sandbox(order)
    assert again.gateway_reference == payment.gateway_reference  # one intent
    event = deliver(payment, "payment.succeeded")
    assert event.result == GatewayEvent.Result.APPLIED
    payment.refresh_from_db()
    assert payment.status == "captured" and payment.captured_minor == order.total_minor
    assert _suborder_statuses(order, mall.acme, mall.globex, mall.initech) == ["awaiting_acceptance"] * 3
    assert set(SubOrderMirror.objects.filter(order=order).values_list("status", flat=True)) == {"awaiting_acceptance"}
    assert sum(LedgerEntry.objects.filter(order=order).values_list("amount_minor", flat=True)) == order.total_minor
    assert ledger_check(order_ids=[order.pk]) == []
    assert list(PaymentEvent.objects.filter(payment=payment).values_list("to_status", flat=True)) == ["pending", "captured"]
    assert OutboxEvent.objects.filter(topic="suborder.awaiting_acceptance", payload__order_id=order.pk).count() == 3
    assert OutboxEvent.objects.filter(topic="payment.captured", aggregate_id=str(payment.pk)).count() == 1


def test_a_repeated_notification_is_stored_once_and_applied_once(mall):
    order, _ = place_order(mall)
    payment = start_sandbox(order)
    body, headers = sandbox_event(payment, "payment.succeeded", event_id="evt_dup_1")
    r1 = post_webhook(body, headers)
    r2 = post_webhook(body, headers)
    assert (r1.status_code, r2.status_code) == (200, 200)
    assert GatewayEvent.objects.filter(gateway="sandbox", event_id="evt_dup_1").count() == 1
    assert LedgerEntry.objects.filter(order=order, kind="captured").count() == 1
    assert PaymentEvent.objects.filter(payment=payment, to_status="captured").count() == 1


@pytest.mark.parametrize("tamper", ["body", "signature", "stale"])
def test_a_bad_or_stale_signature_is_refused_and_changes_nothing(mall, tamper):
    import time

    from payments.gateways import sandbox as sbx

    order, _ = place_order(mall)
    payment = start_sandbox(order)
    created = int(time.time()) - 3600 if tamper == "stale" else None
    body, headers = sandbox_event(payment, "payment.succeeded", created=created)
    if tamper == "body":
        body = body.replace(b'"payment.succeeded"', b'"payment.succeeded" ')
    elif tamper == "signature":
        headers = {sbx.SIGNATURE_HEADER: headers[sbx.SIGNATURE_HEADER][:-4] + "0000"}
    else:
        headers = {sbx.SIGNATURE_HEADER: sbx.sign(body, timestamp=created)}
    before = GatewayEvent.objects.count()
    response = post_webhook(body, headers)
    assert response.status_code == 400
    assert GatewayEvent.objects.count() == before
    payment.refresh_from_db()
    assert payment.status == "pending" and not LedgerEntry.objects.filter(order=order).exists()


def test_amount_or_currency_mismatch_is_recorded_and_changes_nothing(mall):
    order, _ = place_order(mall)
    payment = start_sandbox(order)
    e1 = deliver(payment, "payment.succeeded", amount_minor=payment.amount_minor - 1)
    e2 = deliver(payment, "payment.succeeded", currency="USD")
    assert (e1.result, e2.result) == ("mismatch", "mismatch")
    payment.refresh_from_db()
    assert payment.status == "pending" and not LedgerEntry.objects.filter(order=order).exists()


def test_a_notification_for_an_unknown_order_is_kept_as_unknown(mall):
    order, _ = place_order(mall)
    payment = start_sandbox(order)
    payment.gateway_reference = "sbx_nobody"
    payment.order = Order(number="NO-SUCH-ORDER")
    event = deliver(payment, "payment.succeeded")
    assert event.result == "unknown_order" and event.payment_id is None


def test_a_payment_after_expiry_is_refunded_at_the_gateway_and_the_order_stays_cancelled(mall):
    order, items = place_order(mall)
    payment = start_sandbox(order)
    assert order_expire_now(number=order.number)
    event = deliver(payment, "payment.succeeded")
    assert event.result == "late_refunded"
    payment.refresh_from_db()
    assert payment.status == "expired" and payment.captured_minor == 0
    assert _suborder_statuses(order, mall.acme) == ["cancelled"]
    assert not LedgerEntry.objects.filter(order=order).exists()
    assert PaymentEvent.objects.filter(payment=payment, reason__contains="returned at the gateway").count() == 1


def test_decline_then_retry_succeeds(mall):
    order, _ = place_order(mall)
    payment = start_sandbox(order)
    deliver(payment, "payment.failed")
    payment.refresh_from_db()
    assert payment.status == "failed"
    deliver(payment, "payment.succeeded")
    payment.refresh_from_db()
    assert payment.status == "captured"


def test_ledger_refuses_update_and_delete(mall):
    from django.db import DatabaseError, transaction

    order, _ = place_order(mall)
    pay(order)
    entry = LedgerEntry.objects.filter(order=order).first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount_minor=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount_minor == entry.amount_minor


def test_unknown_gateway_webhook_is_404(mall):
    assert post_webhook(b"{}", {}, gateway="paypal").status_code == 404


def test_parse_rejects_missing_header(mall):
    from payments.gateways.sandbox import SandboxGateway

    with pytest.raises(NotificationRejected):
        SandboxGateway().parse_notification(body=b"{}", headers={})


def test_a_failed_late_refund_is_kept_as_failed_and_reprocessing_retries_it(mall, monkeypatch):
    from payments.gateways.base import GatewayError
    from payments.gateways.sandbox import SandboxGateway
    from payments.services import gateway_event_process

    order, _ = place_order(mall)
    payment = start_sandbox(order)
    assert order_expire_now(number=order.number)
    calls = []

    def flaky_refund(self, **kw):
        calls.append(kw["idempotency_key"])
        if len(calls) == 1:
            raise GatewayError("gateway unreachable")
        return original(self, **kw)

    original = SandboxGateway.refund
    monkeypatch.setattr(SandboxGateway, "refund", flaky_refund)
    event = deliver(payment, "payment.succeeded")
    assert event.result == "failed" and "returning the money failed" in event.error
    again = gateway_event_process(event_id=event.pk)
    assert again.result == "late_refunded"
    assert len(calls) == 2 and calls[0] == calls[1]  # the same idempotency key: never two refunds


def test_after_a_decline_paying_again_creates_a_new_intent(mall):
    order, _ = place_order(mall)
    first = start_sandbox(order)
    deliver(first, "payment.failed")
    second = start_sandbox(order)
    assert second.gateway_reference and second.gateway_reference != first.gateway_reference
    deliver(second, "payment.succeeded")
    second.refresh_from_db()
    assert second.status == "captured"


def test_a_notification_writes_its_outbox_events_in_one_statement_in_emit_order(mall):
    """payment.captured and each suborder's two events go out in one INSERT (gateway_event_process
    batches them); a notification that fails to apply writes none."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    order, _ = place_order(mall, stores=("acme", "globex"))
    payment = start_sandbox(order)
    before = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with CaptureQueriesContext(connection) as ctx:
        event = deliver(payment, "payment.succeeded")
    assert event.result == GatewayEvent.Result.APPLIED
    assert len([q for q in ctx.captured_queries if "INSERT INTO core_outboxevent" in q["sql"]]) == 1
    topics = list(OutboxEvent.objects.filter(pk__gt=before, aggregate_type__in=("payment", "suborder"))
                  .filter(payload__order_id=order.pk).order_by("pk").values_list("topic", flat=True))
    assert topics == ["payment.captured"] + ["suborder.awaiting_acceptance", "suborder.changed"] * 2
