"""The demo's support desk: tickets in several states at acme, one breached and escalated, one dispute decided
with a refund at the mall's cost; running the seeder again adds nothing."""
from permissions.roles import Role
from permissions.services import membership_grant, user_create
from support.demo import seed_support
from support.models import CannedReply, DisputeDecision, Ticket, TicketMessage
from tests.conftest import PASSWORD
from tests.payments.helpers import run_commit_hooks
from tests.support.helpers import paid_order


def test_the_demo_seeds_tickets_in_several_states_once(mall):
    owner = user_create(email="owner@acme.localhost", password=PASSWORD)
    membership_grant(user=owner, merchant=mall.acme, roles=[Role.OWNER])
    user_create(email="operator@mallard.localhost", password=PASSWORD, is_staff=True)
    shopper = user_create(email="shopper1@example.com", password=PASSWORD)
    paid_order(mall, shopper=shopper, qty=2, price_minor=4999)
    run_commit_hooks(seed_support, merchants=[mall.acme, mall.globex])
    run_commit_hooks(seed_support, merchants=[mall.acme, mall.globex])
    tickets = {t.subject: t for t in Ticket.objects.filter(merchant=mall.acme, idempotency_key__startswith="demo-ticket-")}
    assert len(tickets) == 5
    assert sorted(t.status for t in tickets.values()) == ["open", "open", "resolved", "resolved",
                                                          "waiting_on_shopper"]
    late = tickets["Parcel says delivered but nothing arrived"]
    assert late.first_response_breached_at is not None and late.escalation_reason == "sla_first_response"
    decision = DisputeDecision.objects.get(dispute__ticket=tickets["Tent pole snapped on first use"])
    assert (decision.outcome, decision.amount_minor, decision.bearer, decision.refund.status) == (
        "platform_refund", 3000, "platform", "succeeded")
    assert TicketMessage.objects.filter(ticket=tickets["Lamp does not charge"], internal=True).count() == 1
    assert CannedReply.objects.filter(merchant=mall.acme).count() == 2
