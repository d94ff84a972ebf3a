"""Tickets: who may read and write them (shopper, store, operator), internal notes never reaching the shopper
(pages, API, emails), bad input refused with the field named and nothing changed, roles without the capability
refused, assignment."""
import base64

import pytest
from django.core import mail
from django.db import connection

from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import OutboxEvent
from core.outbox import subscribers_for
from permissions.services import user_create
from support.attachments import MAX_BYTES, attachment_check
from support.models import Ticket, TicketAttachment, TicketMessage
from support.services import (
    as_merchant,
    as_operator,
    as_shopper,
    ticket_assign,
    ticket_message_post,
    ticket_open,
    ticket_status_set,
)
from tests.conftest import PASSWORD
from tests.support.helpers import PDF_BYTES, local, open_ticket, paid_order, png_bytes

SECRET_NOTE = "INTERNAL: this shopper asked for refunds three times before"


@pytest.fixture
def other_shopper(mall):
    return user_create(email="other-shopper@example.test", password=PASSWORD)


def _deliver_emails(ticket):
    """Run support's email subscribers on the ticket's outbox events, as the relay would."""
    for event in OutboxEvent.objects.filter(aggregate_type="ticket", aggregate_id=str(ticket.pk)).order_by("pk"):
        for sub in subscribers_for(event.topic):
            if sub.name.startswith("support."):
                sub.func(event)


def _thread_with_note(mall):
    order = paid_order(mall)
    ticket = open_ticket(mall, order, files=[attachment_check(filename="torn.png", data=png_bytes(), field="f")])
    staff = as_merchant(mall.users["acme:customer_service"], mall.acme)
    ticket_message_post(acting=staff, ticket_id=ticket.pk, body=SECRET_NOTE, internal=True,
                        files=[attachment_check(filename="history.pdf", data=PDF_BYTES, field="f")])
    ticket_message_post(acting=staff, ticket_id=ticket.pk, body="We are sending a new flysheet today.")
    return order, ticket


# --- isolation -------------------------------------------------------------------------------------------

def test_a_shopper_never_reads_or_writes_another_shoppers_ticket(mall, client_at, api_at, other_shopper):
    _order, ticket = _thread_with_note(mall)
    before = TicketMessage.objects.filter(ticket=ticket).count()
    with pytest.raises(NotFound) as err:
        ticket_message_post(acting=as_shopper(other_shopper), ticket_id=ticket.pk, body="hello")
    assert err.value.code == "ticket_not_party" and err.value.field == "ticket"
    page = client_at(None, other_shopper)
    assert page.get(f"/support/tickets/{ticket.pk}/").status_code == 404
    assert page.post(f"/support/tickets/{ticket.pk}/", {"body": "hi"}).status_code == 404
    att = TicketAttachment.objects.filter(message__ticket=ticket, message__internal=False).first()
    assert page.get(f"/support/tickets/{ticket.pk}/files/{att.pk}/").status_code == 404
    assert "Torn flysheet" not in page.get("/support/tickets/").content.decode()
    api = api_at(None, other_shopper)
    assert api.get(f"/api/v1/tickets/{ticket.pk}/").status_code == 404
    resp = api.post(f"/api/v1/tickets/{ticket.pk}/messages/", {"body": "hi"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert resp.status_code == 404 and resp.json()["code"] == "ticket_not_party" and resp.json()["field"] == "ticket"
    assert [t["id"] for t in api.get("/api/v1/tickets/").json()] == []
    assert TicketMessage.objects.filter(ticket=ticket).count() == before  # nothing changed


def test_a_merchant_never_sees_another_merchants_tickets_real_ids_are_404(mall, client_at, api_at):
    order = paid_order(mall, stores=("acme", "globex"))
    acme_ticket = open_ticket(mall, order, merchant=mall.acme, subject="Acme only problem")
    globex_ticket = open_ticket(mall, order, merchant=mall.globex, subject="Globex only problem")
    page = client_at(mall.globex, mall.users["globex:owner"])
    assert page.get(f"/tickets/{acme_ticket.pk}/").status_code == 404
    assert page.post(f"/tickets/{acme_ticket.pk}/reply/", {"body": "x"}).status_code == 404
    assert page.post(f"/tickets/{acme_ticket.pk}/status/", {"status": "resolved"}).status_code == 404
    body = page.get("/tickets/?status=active").content.decode()
    assert "Globex only problem" in body and "Acme only problem" not in body
    api = api_at(mall.globex, mall.users["globex:owner"])
    assert api.get(f"/api/v1/tickets/{acme_ticket.pk}/").status_code == 404
    resp = api.post(f"/api/v1/tickets/{acme_ticket.pk}/messages/", {"body": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="g1")
    assert resp.status_code == 404
    resp = api.post(f"/api/v1/tickets/{acme_ticket.pk}/assign/", {"assigned_to": None}, format="json",
                    HTTP_IDEMPOTENCY_KEY="g2")
    assert resp.status_code == 404
    assert [t["id"] for t in api.get("/api/v1/tickets/").json()] == [globex_ticket.pk]
    # acme's own people see acme's, on acme's host; a globex user on acme's host is refused outright
    assert client_at(mall.acme, mall.users["acme:owner"]).get(f"/tickets/{acme_ticket.pk}/").status_code == 200
    assert client_at(mall.acme, mall.users["globex:owner"]).get(f"/tickets/{acme_ticket.pk}/").status_code == 403
    assert TicketMessage.objects.filter(ticket=acme_ticket).count() == 1


def test_roles_without_the_capability_are_refused(mall, client_at, api_at):
    order = paid_order(mall)
    ticket = open_ticket(mall, order)
    warehouse = mall.users["acme:warehouse"]
    assert client_at(mall.acme, warehouse).get("/tickets/").status_code == 403
    assert client_at(mall.acme, warehouse).get(f"/tickets/{ticket.pk}/").status_code == 403
    assert api_at(mall.acme, warehouse).get("/api/v1/tickets/").status_code == 403
    finance = mall.users["acme:finance"]  # reads, never answers
    assert client_at(mall.acme, finance).get(f"/tickets/{ticket.pk}/").status_code == 200
    assert client_at(mall.acme, finance).post(f"/tickets/{ticket.pk}/reply/", {"body": "x"}).status_code == 403
    connection.set_schema_to_public()  # the test client left the connection on acme's host
    with pytest.raises(PermissionDenied):
        ticket_message_post(acting=as_merchant(finance, mall.acme), ticket_id=ticket.pk, body="x")
    cs = mall.users["acme:customer_service"]  # answers, never assigns
    with pytest.raises(PermissionDenied):
        ticket_assign(actor=cs, merchant=mall.acme, ticket_id=ticket.pk, assignee_id=cs.pk)
    assert client_at(mall.acme, cs).post(f"/tickets/{ticket.pk}/assign/", {"assigned_to": cs.pk}).status_code == 403
    assert client_at(mall.acme, cs).get("/tickets/canned/").status_code == 403
    connection.set_schema_to_public()
    with pytest.raises(PermissionDenied):  # an operator without tickets.operate? every operator role has it; a shopper is none
        ticket_message_post(acting=as_operator(mall.users["shopper"]), ticket_id=ticket.pk, body="x")
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1 and Ticket.objects.get(pk=ticket.pk).assigned_to is None


def test_assignment_to_an_agent_who_answers_and_an_agent_limited_to_theirs(mall, client_at):
    from permissions.models import Membership

    order = paid_order(mall)
    t1, t2 = open_ticket(mall, order, subject="First one"), open_ticket(mall, order, subject="Second one")
    cs, owner = mall.users["acme:customer_service"], mall.users["acme:owner"]
    with pytest.raises(ValidationFailed) as err:
        ticket_assign(actor=owner, merchant=mall.acme, ticket_id=t1.pk, assignee_id=mall.users["acme:warehouse"].pk)
    assert err.value.field == "assigned_to"
    ticket_assign(actor=owner, merchant=mall.acme, ticket_id=t1.pk, assignee_id=cs.pk)
    Membership.objects.filter(user=cs, merchant=mall.acme).update(assigned_only=True)
    page = client_at(mall.acme, cs)
    assert page.get(f"/tickets/{t1.pk}/").status_code == 200
    assert page.get(f"/tickets/{t2.pk}/").status_code == 404
    body = page.get("/tickets/?status=active").content.decode()
    assert "First one" in body and "Second one" not in body


# --- internal notes -------------------------------------------------------------------------------------------

def test_internal_notes_never_reach_the_shopper_pages_api_or_email(mall, client_at, api_at):
    order, ticket = _thread_with_note(mall)
    note = TicketMessage.objects.get(ticket=ticket, internal=True)
    page = client_at(None, mall.users["shopper"]).get(f"/support/tickets/{ticket.pk}/").content.decode()
    assert "We are sending a new flysheet today." in page and SECRET_NOTE not in page and "history.pdf" not in page
    note_file = note.attachments.get()
    assert client_at(None, mall.users["shopper"]).get(f"/support/tickets/{ticket.pk}/files/{note_file.pk}/").status_code == 404
    data = api_at(None, mall.users["shopper"]).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert [m["internal"] for m in data["messages"]] == [False, False]
    assert SECRET_NOTE not in str(data) and "history.pdf" not in str(data)
    # staff see it, on the page and in the API
    assert SECRET_NOTE in client_at(mall.acme, mall.users["acme:owner"]).get(f"/tickets/{ticket.pk}/").content.decode()
    staff_api = api_at(mall.acme, mall.users["acme:owner"]).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert [m["internal"] for m in staff_api["messages"]] == [False, True, False]
    # emails: the store's answer reaches the shopper; the note is in no email at all
    connection.set_schema_to_public()
    mail.outbox.clear()
    _deliver_emails(ticket)
    assert OutboxEvent.objects.filter(aggregate_type="ticket", aggregate_id=str(ticket.pk), topic="ticket.replied").count() == 1
    to_shopper = [m for m in mail.outbox if "shopper@example.test" in m.to]
    assert len(to_shopper) == 1 and "We are sending a new flysheet today." in to_shopper[0].body
    for m in mail.outbox:
        bodies = [m.body] + [alt[0] for alt in getattr(m, "alternatives", [])]
        assert all(SECRET_NOTE not in b for b in bodies) and SECRET_NOTE not in m.subject
    assert [m.to for m in mail.outbox if m not in to_shopper] == [["owner@acme.test"]]  # the store's new-ticket email


def test_a_shopper_cannot_write_an_internal_note(mall, api_at):
    order = paid_order(mall)
    ticket = open_ticket(mall, order)
    with pytest.raises(ValidationFailed) as err:
        ticket_message_post(acting=as_shopper(mall.users["shopper"]), ticket_id=ticket.pk, body="x", internal=True)
    assert err.value.field == "internal"


# --- bad input ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,data,field", [
    ("evil.png", b"MZ\x90\x00 this is an exe", "files[0]"),
    ("fake.png", b"\x89PNG\r\n\x1a\n" + b"not really a png", "files[0]"),
    ("cut.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n", "files[0]"),
    ("big.pdf", b"%PDF-1.4\n" + b"0" * MAX_BYTES + b"\n%%EOF\n", "files[0]"),
])
def test_a_bad_attachment_is_refused_naming_the_field_and_nothing_changes(mall, client_at, name, data, field):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = paid_order(mall)
    ticket = open_ticket(mall, order)
    resp = client_at(None, mall.users["shopper"]).post(f"/support/tickets/{ticket.pk}/", {
        "body": "see attached", "files": [SimpleUploadedFile(name, data, content_type="image/png")]})
    assert resp.status_code == 400
    body = resp.content.decode()
    assert f'data-field="{field}"' in body
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1 and not TicketAttachment.objects.filter(message__ticket=ticket).exists()


def test_a_good_image_and_pdf_are_kept_in_the_database_and_served_to_the_parties(mall, client_at):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = paid_order(mall)
    ticket = open_ticket(mall, order)
    resp = client_at(None, mall.users["shopper"]).post(f"/support/tickets/{ticket.pk}/", {
        "body": "photos", "files": [SimpleUploadedFile("a.png", png_bytes(), content_type="application/octet-stream"),
                                    SimpleUploadedFile("b.pdf", PDF_BYTES, content_type="text/plain")]})
    assert resp.status_code == 302
    files = list(TicketAttachment.objects.filter(message__ticket=ticket).order_by("pk"))
    assert [(f.filename, f.content_type, f.size) for f in files] == [("a.png", "image/png", len(png_bytes())),
                                                                     ("b.pdf", "application/pdf", len(PDF_BYTES))]
    got = client_at(mall.acme, mall.users["acme:customer_service"]).get(f"/tickets/{ticket.pk}/files/{files[1].pk}/")
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf" and got.content == PDF_BYTES


def test_api_attachment_not_base64_or_not_an_image_is_refused(mall, api_at):
    order = paid_order(mall)
    ticket = open_ticket(mall, order)
    api = api_at(None, mall.users["shopper"])
    resp = api.post(f"/api/v1/tickets/{ticket.pk}/messages/", {"body": "x", "attachments": [
        {"filename": "a.png", "content_base64": "@@@"}]}, format="json", HTTP_IDEMPOTENCY_KEY="b1")
    assert resp.status_code == 400 and resp.json()["field"] == "attachments[0].content_base64"
    resp = api.post(f"/api/v1/tickets/{ticket.pk}/messages/", {"body": "x", "attachments": [
        {"filename": "a.png", "content_base64": base64.b64encode(b"<svg onload=alert(1)>").decode()}]}, format="json",
        HTTP_IDEMPOTENCY_KEY="b2")
    assert resp.status_code == 400 and resp.json()["field"] == "attachments[0]" and resp.json()["code"] == "bad_attachment"
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1


def test_a_reply_to_a_closed_ticket_past_the_reopen_window_is_refused_within_it_reopens(mall, api_at):
    order = paid_order(mall)
    ticket = open_ticket(mall, order, now=local(2026, 12, 1, 10))
    ticket_status_set(acting=as_merchant(mall.users["acme:owner"], mall.acme), ticket_id=ticket.pk, to="closed",
                      now=local(2026, 12, 1, 11))
    shopper = as_shopper(mall.users["shopper"])
    with pytest.raises(Conflict) as err:
        ticket_message_post(acting=shopper, ticket_id=ticket.pk, body="still broken", now=local(2026, 12, 8, 11, 1))
    assert (err.value.code, err.value.field) == ("ticket_closed", "ticket")
    ticket.refresh_from_db()
    assert ticket.status == "closed" and TicketMessage.objects.filter(ticket=ticket).count() == 1
    ticket_message_post(acting=shopper, ticket_id=ticket.pk, body="still broken", now=local(2026, 12, 8, 10, 59))
    ticket.refresh_from_db()
    assert ticket.status == "waiting_on_merchant" and ticket.closed_at is None and ticket.clock_started_at is not None


def test_the_api_refuses_a_closed_ticket_past_the_window_with_the_field(mall, api_at):
    import datetime as dt

    order = paid_order(mall)
    ticket = open_ticket(mall, order)
    Ticket.objects.filter(pk=ticket.pk).update(status="closed", resolved_at=ticket.created_at - dt.timedelta(days=30),
                                               closed_at=ticket.created_at - dt.timedelta(days=30),
                                               clock_started_at=None, sla_next_check_at=None)
    resp = api_at(None, mall.users["shopper"]).post(f"/api/v1/tickets/{ticket.pk}/messages/", {"body": "again"},
                                                    format="json", HTTP_IDEMPOTENCY_KEY="c1")
    assert resp.status_code == 409 and resp.json()["code"] == "ticket_closed" and resp.json()["field"] == "ticket"


def test_opening_a_ticket_on_someone_elses_order_or_a_store_not_in_it_is_refused(mall, api_at, other_shopper):
    order = paid_order(mall)
    with pytest.raises(NotFound) as err:
        ticket_open(shopper=other_shopper, order_number=order.number, merchant_id=mall.acme.pk, subject="s", body="b")
    assert err.value.field == "order"
    with pytest.raises(ValidationFailed) as err:
        ticket_open(shopper=mall.users["shopper"], order_number=order.number, merchant_id=mall.globex.pk, subject="s", body="b")
    assert err.value.field == "merchant_id"
    resp = api_at(None, mall.users["shopper"]).post("/api/v1/tickets/", {
        "order_number": order.number, "merchant_id": mall.acme.pk, "subject": "", "body": "b"}, format="json",
        HTTP_IDEMPOTENCY_KEY="o1")
    assert resp.status_code == 400 and resp.json()["field"] == "subject"
    assert not Ticket.objects.filter(order=order).exists()


def test_the_api_opens_a_ticket_once_per_idempotency_key(mall, api_at):
    order = paid_order(mall)
    api = api_at(None, mall.users["shopper"])
    body = {"order_number": order.number, "merchant_id": mall.acme.pk, "subject": "Wrong colour", "body": "It is blue.",
            "attachments": [{"filename": "p.png", "content_base64": base64.b64encode(png_bytes()).decode()}]}
    first = api.post("/api/v1/tickets/", body, format="json", HTTP_IDEMPOTENCY_KEY="open-1")
    again = api.post("/api/v1/tickets/", body, format="json", HTTP_IDEMPOTENCY_KEY="open-1")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert Ticket.objects.filter(order=order).count() == 1
    data = first.json()
    assert data["status"] == "open" and data["messages"][0]["attachments"][0]["content_type"] == "image/png"
    assert {c["clock"]: c["state"] for c in data["sla"]} == {"first_response": "running", "resolution": "running"}
