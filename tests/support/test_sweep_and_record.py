"""The SLA sweep under concurrency (two sweeps on real connections escalate once), the store's SLA emails, and a
store's SLA record (breach rate, median first response) as the operator console shows it."""
import datetime as dt
import threading

from django.core import mail
from django.db import close_old_connections, connection

from core.models import OutboxEvent
from support.models import Ticket
from support.selectors import sla_records
from support.services import as_merchant, sla_sweep, ticket_message_post
from tests.support.helpers import local, open_ticket, paid_order
from tests.support.test_tickets import _deliver_emails


def test_two_sweeps_at_once_breach_and_escalate_a_ticket_once(committed, unique):
    mall = committed
    order = paid_order(mall)
    ticket = open_ticket(mall, order, subject=unique("Concurrent sweep "))
    Ticket.objects.filter(pk=ticket.pk).update(clock_elapsed_s=ticket.first_response_target_s + 1,
                                               first_response_warned_at=ticket.created_at,
                                               sla_next_check_at=ticket.created_at)
    barrier = threading.Barrier(2)
    errors = []

    def sweep():
        try:
            connection.set_schema_to_public()
            barrier.wait(timeout=10)
            sla_sweep()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    topics = list(OutboxEvent.objects.filter(aggregate_type="ticket", aggregate_id=str(ticket.pk),
                                             topic__in=("ticket.sla_breached", "ticket.escalated")).values_list("topic", flat=True))
    assert sorted(topics) == ["ticket.escalated", "ticket.sla_breached"]
    assert Ticket.objects.get(pk=ticket.pk).escalation_reason == "sla_first_response"


def test_the_store_is_warned_then_told_of_the_breach_by_email(mall):
    order = paid_order(mall)
    ticket = open_ticket(mall, order, now=local(2030, 3, 4, 10), subject="Zipper stuck")  # a Monday; 4 h target
    sla_sweep(now=local(2030, 3, 4, 13, 20))
    sla_sweep(now=local(2030, 3, 4, 14, 1))
    mail.outbox.clear()
    _deliver_emails(ticket)
    to_store = [m for m in mail.outbox if m.to == ["owner@acme.test"]]
    subjects = sorted(m.subject for m in to_store)
    assert subjects == ["Due soon: first response for ticket " + ticket.number,
                        "Missed: first response for ticket " + ticket.number,
                        "New ticket " + ticket.number + ": Zipper stuck"]
    missed = next(m for m in to_store if m.subject.startswith("Missed"))
    assert "escalated to the mall's operator" in missed.body and f"/tickets/{ticket.pk}/" in missed.body


def test_the_sla_record_counts_breaches_and_the_median_first_response_in_business_time(mall):
    order = paid_order(mall, stores=("globex",))
    staff = as_merchant(mall.users["globex:owner"], mall.globex)
    opened = local(2030, 3, 4, 9)  # Monday 09:00 Shanghai
    answers = [dt.timedelta(minutes=30), dt.timedelta(hours=2), None]  # the third is never answered
    tickets = []
    for i, after in enumerate(answers):
        t = open_ticket(mall, order, merchant=mall.globex, subject=f"Q{i}", now=opened)
        if after is not None:
            ticket_message_post(acting=staff, ticket_id=t.pk, body="answer", now=opened + after)
        tickets.append(t)
    sla_sweep(now=local(2030, 3, 4, 18))  # the unanswered one misses its 4 h first response
    [record] = sla_records(days=7, now=local(2030, 3, 5, 9), merchant_id=mall.globex.pk)
    assert (record.tickets, record.breached, record.breach_rate) == (3, 1, 33.3)
    assert record.median_first_response_s == (30 * 60 + 2 * 3600) // 2 and record.median_first_response_text == "1h 15m"
    assert record.escalated == 1 and record.disputes == 0
