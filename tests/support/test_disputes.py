"""Disputes: the shopper (or the store) asks the mall; the operator decides a refund from the store's share, a
refund at the mall's cost, or no refund, with exact amounts, recorded for settlements, audited, once."""
import pytest
from django.core import mail

from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import OutboxEvent
from orders.models import SubOrderMirror
from payments.models import LedgerEntry, Payment, Refund
from permissions.models import AuditEntry
from permissions.services import user_create
from support.models import Dispute, DisputeDecision, Ticket
from support.services import as_merchant, as_shopper, dispute_decide, dispute_open
from tests.conftest import PASSWORD
from tests.payments.helpers import run_commit_hooks
from tests.support.helpers import open_ticket, paid_order
from tests.support.test_tickets import _deliver_emails


@pytest.fixture
def disputed(mall):
    order = paid_order(mall, stores=("acme", "globex"), qty=2, price_minor=1999)
    ticket = open_ticket(mall, order, subject="Broken stove")
    dispute = dispute_open(acting=as_shopper(mall.users["shopper"]), ticket_id=ticket.pk, reason="The store does not answer",
                           requested_minor=1500)
    mirror = SubOrderMirror.objects.get(order=order, merchant=mall.acme)
    return {"order": order, "ticket": ticket, "dispute": dispute, "mirror": mirror}


def _decide(**kw):
    return run_commit_hooks(dispute_decide, **kw)


def test_opening_a_dispute_escalates_the_ticket_once(mall, disputed):
    ticket = Ticket.objects.get(pk=disputed["ticket"].pk)
    assert ticket.escalated_at is not None and ticket.escalation_reason == "dispute"
    with pytest.raises(Conflict) as err:
        dispute_open(acting=as_merchant(mall.users["acme:owner"], mall.acme), ticket_id=ticket.pk, reason="again")
    assert err.value.code == "dispute_exists"
    assert OutboxEvent.objects.filter(aggregate_type="ticket", aggregate_id=str(ticket.pk), topic="ticket.escalated").count() == 1


@pytest.mark.parametrize("outcome,bearer", [("platform_refund", "platform"), ("merchant_refund", "merchant")])
def test_a_refund_decision_refunds_the_exact_amount_and_records_who_bears_it(mall, disputed, outcome, bearer):
    operator = mall.users["operator"]
    mail.outbox.clear()
    decision = _decide(actor=operator, dispute_id=disputed["dispute"].pk, outcome=outcome, amount_minor=1500,
                       reason="Photos show the damage")
    assert (decision.outcome, decision.bearer, decision.amount_minor, decision.currency) == (outcome, bearer, 1500, "CNY")
    assert decision.suborder_id == disputed["mirror"].suborder_id and decision.decided_by == operator
    refund = Refund.objects.get(pk=decision.refund_id)
    assert (refund.status, refund.amount_minor, refund.custom_minor, refund.merchant_id, refund.suborder_id) == (
        "succeeded", 1500, 1500, mall.acme.pk, disputed["mirror"].suborder_id)
    assert Payment.objects.get(order=disputed["order"]).refunded_minor == 1500
    entries = LedgerEntry.objects.filter(refund=refund)
    assert [(e.merchant_id, e.component, e.amount_minor) for e in entries] == [(mall.acme.pk, "custom", -1500)]
    event = OutboxEvent.objects.get(topic="dispute.decided", aggregate_id=str(disputed["ticket"].pk))
    assert {k: event.payload[k] for k in ("outcome", "bearer", "amount_minor", "currency", "refund_id", "decided_by")} == {
        "outcome": outcome, "bearer": bearer, "amount_minor": 1500, "currency": "CNY", "refund_id": refund.pk,
        "decided_by": operator.pk}
    audit = AuditEntry.objects.get(entity="dispute", entity_id=str(disputed["dispute"].pk), action="decide")
    assert audit.schema_name == mall.acme.schema_name and audit.after["bearer"] == bearer
    ticket = Ticket.objects.get(pk=disputed["ticket"].pk)
    assert ticket.status == "resolved" and Dispute.objects.get(pk=disputed["dispute"].pk).status == "decided"
    _deliver_emails(ticket)
    to_shopper = [m for m in mail.outbox if m.to == ["shopper@example.test"]]
    assert len(to_shopper) == 1 and "CNY 15.00" in to_shopper[0].body and "Photos show the damage" in to_shopper[0].body


def test_refusing_refunds_nothing(mall, disputed):
    decision = _decide(actor=mall.users["operator"], dispute_id=disputed["dispute"].pk, outcome="refused",
                       amount_minor=999, reason="Damage happened after delivery")
    assert (decision.bearer, decision.amount_minor, decision.refund_id) == ("none", 0, None)
    assert not Refund.objects.filter(order=disputed["order"]).exists()
    assert Payment.objects.get(order=disputed["order"]).refunded_minor == 0
    assert OutboxEvent.objects.get(topic="dispute.decided", aggregate_id=str(disputed["ticket"].pk)).payload["bearer"] == "none"


def test_more_than_the_suborder_can_refund_is_refused_naming_the_amount_and_nothing_changes(mall, disputed):
    total = disputed["mirror"].total_minor
    with pytest.raises(Conflict) as err:
        _decide(actor=mall.users["operator"], dispute_id=disputed["dispute"].pk, outcome="platform_refund",
                amount_minor=total + 1, reason="everything")
    assert err.value.field == "amount"
    assert not Refund.objects.filter(order=disputed["order"]).exists()
    assert not DisputeDecision.objects.filter(dispute=disputed["dispute"]).exists()
    assert Dispute.objects.get(pk=disputed["dispute"].pk).status == "open"
    decision = _decide(actor=mall.users["operator"], dispute_id=disputed["dispute"].pk, outcome="merchant_refund",
                       amount_minor=total, reason="everything of this store")
    assert Refund.objects.get(pk=decision.refund_id).amount_minor == total


def test_a_dispute_is_decided_once_and_a_refund_needs_an_amount(mall, disputed):
    with pytest.raises(ValidationFailed) as err:
        _decide(actor=mall.users["operator"], dispute_id=disputed["dispute"].pk, outcome="platform_refund",
                amount_minor=0, reason="x")
    assert err.value.field == "amount"
    with pytest.raises(ValidationFailed) as err:
        _decide(actor=mall.users["operator"], dispute_id=disputed["dispute"].pk, outcome="refused", amount_minor=0, reason="")
    assert err.value.field == "reason"
    _decide(actor=mall.users["operator"], dispute_id=disputed["dispute"].pk, outcome="refused", amount_minor=0, reason="no")
    with pytest.raises(Conflict) as err:
        _decide(actor=mall.users["operator"], dispute_id=disputed["dispute"].pk, outcome="platform_refund",
                amount_minor=100, reason="changed my mind")
    assert err.value.code == "dispute_decided" and not Refund.objects.filter(order=disputed["order"]).exists()


def test_only_money_operators_decide(mall, disputed, client_at):
    support = user_create(email="sup-dispute@mallard.test", password=PASSWORD, platform_roles=["support"])
    finance = user_create(email="fin-dispute@mallard.test", password=PASSWORD, platform_roles=["finance"])
    for actor in (support, mall.users["acme:owner"], mall.users["shopper"]):
        with pytest.raises(PermissionDenied):
            _decide(actor=actor, dispute_id=disputed["dispute"].pk, outcome="refused", amount_minor=0, reason="no")
    url = f"/console/support/disputes/{disputed['dispute'].pk}/decide/"
    resp = client_at(None, support).post(url, {"outcome": "refused", "reason": "no"})
    assert resp.status_code == 403 and not DisputeDecision.objects.filter(dispute=disputed["dispute"]).exists()
    # the support operator sees the queue and the thread, without the decide form
    page = client_at(None, support).get(f"/console/support/tickets/{disputed['ticket'].pk}/").content.decode()
    assert "Broken stove" in page and 'data-testid="decide-form"' not in page
    resp = client_at(None, finance).post(url, {"outcome": "platform_refund", "amount": "12.34", "reason": "goodwill"})
    assert resp.status_code == 302
    decision = DisputeDecision.objects.get(dispute=disputed["dispute"])
    assert (decision.amount_minor, decision.bearer, decision.decided_by) == (1234, "platform", finance)


def test_the_console_refuses_a_bad_amount_naming_the_field(mall, disputed, client_at):
    url = f"/console/support/disputes/{disputed['dispute'].pk}/decide/"
    resp = client_at(None, mall.users["operator"]).post(url, {"outcome": "merchant_refund", "amount": "1e999", "reason": "x"})
    assert resp.status_code == 400 and 'data-field="amount"' in resp.content.decode()
    assert not DisputeDecision.objects.filter(dispute=disputed["dispute"]).exists()
