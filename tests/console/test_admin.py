"""The operator's super-admin and console: only operators get in; outbox dead letters; merchants from the admin."""
import pytest
from django.db import connection
from django.urls import Resolver404, resolve

from core.events import topic as declare
from core.models import OutboxDelivery, OutboxEvent
from core.outbox import outbox_emit
from core.tenancy import in_merchant_schema
from tenants.models import Domain, Merchant


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cur.fetchone() is not None


for _name in ("test.console.dead", "test.console.alive", "test.console.done"):
    declare(_name, app="tests", fires="console tests", payload={})


def _delivery(topic: str, agg: str, subscriber: str, schema_merchant=None, **fields) -> OutboxDelivery:
    if schema_merchant is not None:
        with in_merchant_schema(schema_merchant):
            event = outbox_emit(topic=topic, aggregate_type="test", aggregate_id=agg)
    else:
        event = outbox_emit(topic=topic, aggregate_type="test", aggregate_id=agg)
    OutboxEvent.objects.filter(pk=event.pk).update(status="routed")
    return OutboxDelivery.objects.create(event=event, subscriber=subscriber, schema_name=event.schema_name,
                                         aggregate_type="test", aggregate_id=agg, **fields)


def _dead_event(topic="test.console.dead", schema_merchant=None, agg="1") -> OutboxDelivery:
    """A dead letter: one subscriber's delivery of an event that spent its attempts."""
    return _delivery(topic, agg, "tests.console.dead_subscriber", schema_merchant, status="dead", attempts=8,
                     last_error="RuntimeError: smtp down")


# --- who may enter --------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["acme:owner", "shopper", "nobody", None])
def test_only_operators_reach_the_super_admin(mall, client_at, who):
    user = mall.users[who] if who else None
    for path in ("/admin/", "/admin/core/outboxevent/", "/admin/core/outboxdelivery/", "/admin/tenants/merchant/add/", "/console/"):
        resp = client_at(None, user).get(path)
        assert resp.status_code == 302, path
        assert resp["Location"].startswith("/admin/login/"), path


def test_operator_reaches_the_super_admin(mall, client_at):
    client = client_at(None, mall.users["operator"])
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/core/outboxevent/").status_code == 200
    assert client.get("/admin/core/outboxdelivery/").status_code == 200
    assert client.get("/console/").status_code == 200


def test_admin_does_not_exist_on_merchant_hosts(mall, client_at):
    with pytest.raises(Resolver404):
        resolve("/admin/", urlconf="config.urls_tenant")
    with pytest.raises(Resolver404):
        resolve("/console/", urlconf="config.urls_tenant")
    # A member of acme asking acme's host for the admin finds nothing there.
    resp = client_at(mall.acme, mall.users["acme:owner"]).get("/admin/")
    assert resp.status_code == 404
    resp = client_at(mall.acme, mall.users["acme:owner"]).get("/admin/login/")
    assert resp.status_code == 404
    # An operator is not a member of acme: refused before any URL is looked at.
    resp = client_at(mall.acme, mall.users["operator"]).get("/admin/")
    assert resp.status_code == 403


# --- outbox in the admin ----------------------------------------------------------------------

def _result_rows(client, query: str) -> str:
    """The change list's result table only (the filter sidebar lists every topic)."""
    import re

    body = client.get(f"/admin/core/outboxdelivery/?{query}").content.decode()
    m = re.search(r'<table id="result_list">(.*?)</table>', body, re.S)
    return m.group(1) if m else ""


def test_dead_letters_are_visible_and_filterable(mall, client_at):
    dead = _dead_event(agg="dead-1")
    alive = _delivery("test.console.alive", "alive-1", "tests.console.live_subscriber")
    client = client_at(None, mall.users["operator"])
    rows = _result_rows(client, "status__exact=dead")
    assert "test.console.dead" in rows and "RuntimeError: smtp down" in rows
    assert "test.console.alive" not in rows
    rows = _result_rows(client, "subscriber=tests.console.live_subscriber")
    assert "test.console.alive" in rows and "test.console.dead" not in rows
    rows = _result_rows(client, "schema_name=public&status__exact=pending")
    assert f"/{alive.pk}/change/" in rows and f"/{dead.pk}/change/" not in rows
    assert client.get(f"/admin/core/outboxdelivery/{dead.pk}/change/").status_code == 200
    assert client.get(f"/admin/core/outboxevent/{dead.event_id}/change/").status_code == 200  # with its deliveries


def test_requeue_action_gives_dead_letters_another_round(mall, client_at):
    dead = _dead_event(agg="dead-2")
    delivered = _delivery("test.console.done", "done-1", "tests.console.live_subscriber", status="delivered", attempts=1)
    resp = client_at(None, mall.users["operator"]).post(
        "/admin/core/outboxdelivery/",
        {"action": "requeue", "_selected_action": [dead.pk, delivered.pk]},
        follow=True,
    )
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "Requeued 1 dead letter." in body
    assert "1 selected delivery was not a dead letter" in body
    dead.refresh_from_db()
    delivered.refresh_from_db()
    assert (dead.status, dead.attempts) == ("pending", 0)
    assert (delivered.status, delivered.attempts) == ("delivered", 1)


def test_outbox_admin_is_read_only(mall, client_at):
    delivery = _dead_event(agg="ro-1")
    event = delivery.event
    client = client_at(None, mall.users["operator"])
    assert client.get("/admin/core/outboxevent/add/").status_code == 403
    assert client.get("/admin/core/outboxdelivery/add/").status_code == 403
    client.post(f"/admin/core/outboxevent/{event.pk}/change/", {"status": "pending"})
    client.post(f"/admin/core/outboxdelivery/{delivery.pk}/change/", {"status": "delivered"})
    assert client.post(f"/admin/core/outboxevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/core/outboxdelivery/{delivery.pk}/delete/", {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    delivery.refresh_from_db()
    assert (event.status, delivery.status) == ("routed", "dead")


# --- merchants from the admin -----------------------------------------------------------------

def _add_form(**overrides):
    data = {"name": "Umbrella Supplies", "slug": "umbrella", "contact_email": "ceo@umbrella.test",
            "default_currency": "CNY", "commission_bp": "800", "status": "active", "suspended_reason": ""}
    data.update(overrides)
    return data


def test_operator_creates_a_merchant_from_the_admin(mall, client_at):
    client = client_at(None, mall.users["operator"])
    assert client.get("/admin/tenants/merchant/add/").status_code == 200
    resp = client.post("/admin/tenants/merchant/add/", _add_form())
    assert resp.status_code == 302, resp.content.decode()[:2000]
    merchant = Merchant.objects.get(slug="umbrella")
    assert (merchant.name, merchant.schema_name, merchant.commission_bp) == ("Umbrella Supplies", "m_umbrella", 800)
    assert _schema_exists("m_umbrella")
    assert Domain.objects.get(tenant=merchant).domain == "umbrella.localhost"
    assert OutboxEvent.objects.filter(topic="merchant.created", aggregate_id=str(merchant.pk)).count() == 1
    # The new host answers right away (with the login page: nobody is a member yet).
    assert client_at(merchant).get("/").status_code == 302


@pytest.mark.parametrize("slug", ["admin", "Bad Slug", "acme", "ab"])
def test_admin_rejects_bad_slugs_as_form_errors(mall, client_at, slug):
    before = Merchant.objects.count()
    resp = client_at(None, mall.users["operator"]).post("/admin/tenants/merchant/add/", _add_form(slug=slug))
    assert resp.status_code == 200  # the form again, with its error
    assert "errornote" in resp.content.decode()
    assert Merchant.objects.count() == before


def test_the_merchant_change_form_cannot_set_the_status_and_profile_edits_are_audited(mall, client_at):
    from permissions.models import AuditEntry

    client = client_at(None, mall.users["operator"])
    m = mall.globex
    resp = client.post(f"/admin/tenants/merchant/{m.pk}/change/", _add_form(
        name=m.name, slug=m.slug, contact_email="new-contact@globex.test", commission_bp=str(m.commission_bp),
        status="suspended", suspended_reason="sneaky", **{"domains-TOTAL_FORMS": "0", "domains-INITIAL_FORMS": "0"}))
    assert resp.status_code == 302, resp.content.decode()[:2000]
    m.refresh_from_db()
    assert (m.status, m.suspended_reason, m.contact_email) == ("active", "", "new-contact@globex.test")
    row = AuditEntry.objects.filter(entity="merchant", entity_id=str(m.pk), action="profile_update").latest("id")
    assert row.after == {"contact_email": "new-contact@globex.test"} and row.actor == mall.users["operator"]
    assert not OutboxEvent.objects.filter(topic="merchant.suspended", aggregate_id=str(m.pk)).exists()


# --- the console page -------------------------------------------------------------------------

def test_console_lists_merchants_with_status_and_dead_letters(mall, client_at):
    _dead_event(schema_merchant=mall.globex, agg="g-1")
    _dead_event(schema_merchant=mall.globex, agg="g-2")
    from merchants.services import merchant_suspend

    merchant_suspend(merchant=mall.acme, reason="test")
    body = client_at(None, mall.users["operator"]).get("/console/").content.decode()
    import re

    def row(slug):
        m = re.search(rf'<tr data-slug="{slug}">(.*?)</tr>', body, re.S)
        assert m, slug
        return m.group(1)

    assert "Acme Outfitters" in row("acme") and '<td class="status">suspended</td>' in row("acme")
    assert '<td class="status">active</td>' in row("globex")
    assert '<td class="dead">2</td>' in row("globex")
    assert '<td class="dead">0</td>' in row("acme")
    assert "_template" not in body and "Merchant template" not in body
