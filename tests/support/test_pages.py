"""The store's support pages: reply and internal note, status, assignment, canned replies, support hours (bad input
named, nothing changed); the shopper's new-ticket page and the console's queue and SLA records."""
import datetime as dt

from django.db import connection

from support.models import CannedReply, SupportPolicy, Ticket, TicketMessage
from support.services import policy_for_merchant
from tests.support.helpers import open_ticket, paid_order


def test_the_store_answers_notes_sets_status_and_assigns_from_the_thread(mall, client_at):
    order = paid_order(mall)
    ticket = open_ticket(mall, order)
    cs, owner = mall.users["acme:customer_service"], mall.users["acme:owner"]
    page = client_at(mall.acme, cs)
    assert page.post(f"/tickets/{ticket.pk}/reply/", {"body": "Checking with the warehouse", "internal": "on"}).status_code == 302
    assert page.post(f"/tickets/{ticket.pk}/reply/", {"body": "A new one ships today."}).status_code == 302
    connection.set_schema_to_public()
    ticket.refresh_from_db()
    assert ticket.status == "waiting_on_shopper" and ticket.first_response_at is not None
    assert list(TicketMessage.objects.filter(ticket=ticket).values_list("party", "internal")) == [
        ("shopper", False), ("merchant", True), ("merchant", False)]
    resp = page.post(f"/tickets/{ticket.pk}/status/", {"status": "open"})
    assert resp.status_code == 400 and 'data-field="status"' in resp.content.decode()
    assert page.post(f"/tickets/{ticket.pk}/status/", {"status": "resolved"}).status_code == 302
    assert client_at(mall.acme, owner).post(f"/tickets/{ticket.pk}/assign/", {"assigned_to": cs.pk}).status_code == 302
    connection.set_schema_to_public()
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.assigned_to == cs
    from permissions.models import AuditEntry

    entry = AuditEntry.objects.get(entity="ticket", entity_id=str(ticket.pk), action="assign")
    assert (entry.after, entry.schema_name) == ({"assigned_to": cs.email}, mall.acme.schema_name)
    inbox = client_at(mall.acme, cs).get("/tickets/?status=mine").content.decode()
    assert f'data-ticket="{ticket.pk}"' in inbox


def test_canned_replies_are_the_stores_own(mall, client_at):
    page = client_at(mall.acme, mall.users["acme:manager"])
    assert page.post("/tickets/canned/", {"action": "save", "title": "Thanks", "body": "Thank you!"}).status_code == 302
    resp = page.post("/tickets/canned/", {"action": "save", "title": "Thanks", "body": "Again"})
    assert resp.status_code == 400 and 'data-field="title"' in resp.content.decode()
    connection.set_schema_to_public()
    reply = CannedReply.objects.get(merchant=mall.acme, title="Thanks")
    globex = client_at(mall.globex, mall.users["globex:owner"])
    assert globex.post("/tickets/canned/", {"action": "delete", "reply_id": reply.pk}).status_code == 404
    connection.set_schema_to_public()
    assert CannedReply.objects.filter(pk=reply.pk).exists()
    order = paid_order(mall)
    ticket = open_ticket(mall, order)
    assert "Thank you!" in client_at(mall.acme, mall.users["acme:customer_service"]).get(f"/tickets/{ticket.pk}/").content.decode()


def test_support_hours_are_saved_and_a_bad_date_is_named(mall, client_at):
    page = client_at(mall.acme, mall.users["acme:owner"])
    form = {"time_zone": "Asia/Shanghai", "opens": "08:30", "closes": "17:30", "weekdays": ["0", "1", "2", "3", "4", "5"],
            "holidays": "2027-01-01\n2027-02-17", "reopen_days": "10"}
    for p in ("low", "normal", "high", "urgent"):
        form[f"first_{p}"], form[f"resolution_{p}"] = "60", "600"
    resp = page.post("/tickets/settings/", {**form, "holidays": "2027-13-45"})
    assert resp.status_code == 400 and 'data-field="holidays[0]"' in resp.content.decode()
    connection.set_schema_to_public()
    assert not SupportPolicy.objects.filter(merchant=mall.acme).exists()
    assert page.post("/tickets/settings/", form).status_code == 302
    connection.set_schema_to_public()
    policy = policy_for_merchant(mall.acme.pk)
    assert (policy.calendar.opens, policy.calendar.weekdays, policy.reopen_days) == (dt.time(8, 30), frozenset(range(6)), 10)
    assert policy.calendar.holidays == {dt.date(2027, 1, 1), dt.date(2027, 2, 17)} and policy.targets["urgent"] == (3600, 36000)
    from permissions.models import AuditEntry

    entry = AuditEntry.objects.get(entity="support_policy", entity_id=str(mall.acme.pk), schema_name=mall.acme.schema_name)
    assert entry.after["reopen_days"] == 10 and entry.actor == mall.users["acme:owner"]


def test_the_shopper_opens_a_ticket_from_the_order_page(mall, client_at):
    order = paid_order(mall)
    page = client_at(None, mall.users["shopper"])
    detail = page.get(f"/orders/{order.number}/").content.decode()
    assert f"/support/tickets/new/?order={order.number}&amp;merchant={mall.acme.pk}" in detail
    assert page.get(f"/support/tickets/new/?order={order.number}&merchant={mall.acme.pk}").status_code == 200
    resp = page.post("/support/tickets/new/", {"order": order.number, "merchant": mall.acme.pk, "subject": "", "body": "x"})
    assert resp.status_code == 400 and 'data-field="subject"' in resp.content.decode()
    assert not Ticket.objects.filter(order=order).exists()
    resp = page.post("/support/tickets/new/", {"order": order.number, "merchant": mall.acme.pk, "subject": "Colour",
                                               "body": "Is it navy?", "priority": "low"})
    ticket = Ticket.objects.get(order=order)
    assert resp.status_code == 302 and resp["Location"] == f"/support/tickets/{ticket.pk}/"
    assert "Colour" in page.get("/support/tickets/").content.decode()


def test_the_console_lists_escalations_and_sla_records(mall, client_at):
    from support.services import as_shopper, dispute_open

    order = paid_order(mall)
    ticket = open_ticket(mall, order, subject="Escalate me")
    dispute_open(acting=as_shopper(mall.users["shopper"]), ticket_id=ticket.pk, reason="no answer")
    console = client_at(None, mall.users["operator"])
    queue = console.get("/console/support/").content.decode()
    assert f'data-ticket="{ticket.pk}"' in queue and "Escalate me" in queue
    assert 'data-testid="decide-form"' in console.get(f"/console/support/tickets/{ticket.pk}/").content.decode()
    assert console.get("/console/support/sla/").status_code == 200
