"""SLA clocks in business hours (Asia/Shanghai by default), across a weekend and a holiday list, paused while
waiting on the shopper; the sweep warns, breaches and escalates once, however often it runs."""
import datetime as dt

import pytest

from core.models import OutboxEvent
from support.models import SupportPolicy, Ticket, TicketEvent
from support.services import as_merchant, as_shopper, sla_sweep, ticket_message_post, ticket_status_set
from support.sla import BusinessCalendar, business_add, business_seconds_between
from tests.support.helpers import SH, local, open_ticket, paid_order

# 2026-12-04 is a Friday; Monday 2026-12-07 is on the holiday list below.
HOLIDAY = dt.date(2026, 12, 7)
CAL = BusinessCalendar(holidays=frozenset({HOLIDAY}))


def test_business_seconds_skip_the_weekend_the_holiday_and_the_night():
    assert business_seconds_between(local(2026, 12, 4, 17), local(2026, 12, 8, 10), CAL) == 2 * 3600
    assert business_seconds_between(local(2026, 12, 4, 17), local(2026, 12, 8, 10), BusinessCalendar()) == 11 * 3600
    assert business_seconds_between(local(2026, 12, 5, 10), local(2026, 12, 6, 23), CAL) == 0  # Saturday, Sunday
    assert business_seconds_between(local(2026, 12, 8, 20), local(2026, 12, 9, 8), CAL) == 0  # the night
    assert business_seconds_between(local(2026, 12, 8, 12), local(2026, 12, 8, 11), CAL) == 0


def test_business_add_lands_after_the_weekend_and_the_holiday():
    assert business_add(local(2026, 12, 4, 17), 4 * 3600, CAL) == local(2026, 12, 8, 12)
    assert business_add(local(2026, 12, 4, 17), 4 * 3600, BusinessCalendar()) == local(2026, 12, 7, 12)
    assert business_add(local(2026, 12, 5, 3), 0, CAL) == local(2026, 12, 8, 9)  # a weekend start waits for opening
    new_york = BusinessCalendar(time_zone="America/New_York")
    start = dt.datetime(2026, 12, 4, 17, tzinfo=dt.UTC)  # 12:00 in New York
    assert business_add(start, 7 * 3600, new_york) == dt.datetime(2026, 12, 7, 15, tzinfo=dt.UTC)  # Mon 10:00 there


def _topics(ticket, topic):
    return OutboxEvent.objects.filter(aggregate_type="ticket", aggregate_id=str(ticket.pk), topic=topic).count()


@pytest.fixture
def holiday_policy(mall):
    return SupportPolicy.objects.create(merchant=mall.acme, holidays=[HOLIDAY])


def test_first_response_clock_counts_business_hours_pauses_for_the_shopper_then_breaches_and_escalates_once(
        mall, holiday_policy):
    order = paid_order(mall)
    ticket = open_ticket(mall, order, now=local(2026, 12, 4, 17))  # normal: 4 h first response, 27 h resolution
    assert ticket.first_response_target_s == 4 * 3600 and ticket.status == "open"
    assert ticket.first_response_due_at == local(2026, 12, 8, 12)  # 1 h Friday, then Tuesday 9-12
    assert ticket.sla_next_check_at == local(2026, 12, 8, 11, 12)  # the 80 % warning
    assert sla_sweep(now=local(2026, 12, 8, 11, 0)) == 0

    assert sla_sweep(now=local(2026, 12, 8, 11, 15)) == 1
    ticket.refresh_from_db()
    assert ticket.first_response_warned_at == local(2026, 12, 8, 11, 15) and ticket.first_response_breached_at is None
    assert sla_sweep(now=local(2026, 12, 8, 11, 15)) == 0  # run twice: nothing more
    assert _topics(ticket, "ticket.sla_warning") == 1

    # the store asks the shopper for photos without answering yet: the clock pauses at 3.5 h
    ticket_status_set(acting=as_merchant(mall.users["acme:customer_service"], mall.acme), ticket_id=ticket.pk,
                      to="waiting_on_shopper", now=local(2026, 12, 8, 11, 30))
    ticket.refresh_from_db()
    assert (ticket.clock_elapsed_s, ticket.clock_started_at, ticket.sla_next_check_at) == (3.5 * 3600, None, None)
    assert sla_sweep(now=local(2026, 12, 10, 12)) == 0  # days pass while paused: nothing due

    # the shopper answers on Thursday 15:00: the clock runs again with 30 min left
    ticket_message_post(acting=as_shopper(mall.users["shopper"]), ticket_id=ticket.pk, body="Photos attached.",
                        now=local(2026, 12, 10, 15))
    ticket.refresh_from_db()
    assert ticket.status == "waiting_on_merchant" and ticket.first_response_due_at == local(2026, 12, 10, 15, 30)
    assert sla_sweep(now=local(2026, 12, 10, 15, 29)) == 0

    assert sla_sweep(now=local(2026, 12, 10, 15, 31)) == 1
    ticket.refresh_from_db()
    assert ticket.first_response_breached_at == local(2026, 12, 10, 15, 31)
    assert ticket.escalated_at == local(2026, 12, 10, 15, 31) and ticket.escalation_reason == "sla_first_response"
    assert sla_sweep(now=local(2026, 12, 10, 15, 31)) == 0
    assert sla_sweep(now=local(2026, 12, 10, 15, 40)) == 0  # the next mark is the resolution warning, later
    assert (_topics(ticket, "ticket.sla_breached"), _topics(ticket, "ticket.escalated")) == (1, 1)
    assert list(TicketEvent.objects.filter(ticket=ticket, action__in=("sla_warning", "sla_breached", "escalated"))
                .values_list("action", "reason")) == [("sla_warning", "first_response"), ("sla_breached", "first_response"),
                                                      ("escalated", "sla_first_response")]


def test_an_answer_in_time_meets_the_first_response_and_the_resolution_clock_runs_on(mall, holiday_policy):
    order = paid_order(mall)
    ticket = open_ticket(mall, order, now=local(2026, 12, 4, 17), priority="high")  # 2 h / 9 h
    ticket_message_post(acting=as_merchant(mall.users["acme:customer_service"], mall.acme), ticket_id=ticket.pk,
                        body="Sending a new one.", now=local(2026, 12, 8, 9, 45))
    ticket.refresh_from_db()
    assert ticket.first_response_s == 3600 + 45 * 60 and ticket.first_response_due_at is None
    assert ticket.status == "waiting_on_shopper" and ticket.clock_started_at is None  # paused on the shopper
    ticket_message_post(acting=as_shopper(mall.users["shopper"]), ticket_id=ticket.pk, body="Thanks, when?",
                        now=local(2026, 12, 9, 9))
    ticket.refresh_from_db()
    # 1 h 45 used; 7 h 15 left from Wednesday 09:00 → 16:15
    assert ticket.resolution_due_at == local(2026, 12, 9, 16, 15)
    assert sla_sweep(now=local(2026, 12, 9, 17)) == 1
    ticket.refresh_from_db()
    assert ticket.first_response_breached_at is None and ticket.resolution_breached_at == local(2026, 12, 9, 17)
    assert ticket.escalation_reason == "sla_resolution"


def test_a_resolved_ticket_stops_its_clocks(mall):
    order = paid_order(mall)
    ticket = open_ticket(mall, order, now=local(2026, 12, 4, 10))
    ticket_status_set(acting=as_merchant(mall.users["acme:owner"], mall.acme), ticket_id=ticket.pk, to="resolved",
                      now=local(2026, 12, 4, 11))
    ticket.refresh_from_db()
    assert (ticket.sla_next_check_at, ticket.resolution_due_at, ticket.clock_elapsed_s) == (None, None, 3600)
    assert sla_sweep(now=local(2027, 1, 4, 11)) == 0
    assert Ticket.objects.get(pk=ticket.pk).escalated_at is None


def test_zone_default_is_shanghai():
    assert BusinessCalendar().zone == SH
