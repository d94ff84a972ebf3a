"""Automation rule pages and API: owners and managers only, another store's staff get 404 for a real id,
bad input is refused naming the field with nothing written, every change audited."""
from __future__ import annotations

import pytest

from automation.models import AutomationRule
from automation.services import rule_create
from core.tenancy import in_merchant_schema
from permissions.models import AuditEntry
from tests.payments.helpers import pay, place_order

GOOD = {"name": "Accept small orders", "trigger": "paid", "conditions": {"amount_max_minor": 50000, "regions": ["SH"]},
        "actions": [{"type": "add_tag", "tag": "auto"}, {"type": "accept"}]}


def _acme_rule(mall, name="Tag everything"):
    with in_merchant_schema(mall.acme):
        return rule_create(actor=mall.users["acme:owner"], name=name, trigger="paid", conditions={},
                           actions=[{"type": "add_tag", "tag": "t"}])


def _count(merchant):
    with in_merchant_schema(merchant):
        return AutomationRule.objects.count()


def test_api_create_list_update_and_dry_run(mall, api_at):
    order, _ = place_order(mall, qty=1, price_minor=1000)
    pay(order)
    api = api_at(mall.acme, mall.users["acme:manager"])
    resp = api.post("/api/v1/automation/rules/", GOOD, format="json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["enabled"], body["owner_email"], body["conditions"]["regions"]) == (False, "manager@acme.test", ["sh"])
    rule_id = body["id"]
    assert AuditEntry.objects.filter(entity="automation_rule", entity_id=str(rule_id), action="create").exists()
    other = _acme_rule(mall, "Second")
    resp = api.patch(f"/api/v1/automation/rules/{other.pk}/", {"enabled": True, "position": 1}, format="json")
    assert resp.status_code == 200 and resp.json()["enabled"] is True and resp.json()["position"] == 1
    listed = api.get("/api/v1/automation/rules/").json()["results"]
    assert [r["id"] for r in listed][:2] == [other.pk, rule_id]
    resp = api.patch(f"/api/v1/automation/rules/{rule_id}/", {"actions": [{"type": "hold", "reason": "look"}]}, format="json")
    assert resp.status_code == 200 and resp.json()["actions"] == [{"type": "hold", "reason": "look"}]
    resp = api.post(f"/api/v1/automation/rules/{rule_id}/dry-run/", {"last": 5}, format="json")
    assert resp.status_code == 200
    rows = resp.json()["results"]
    assert 1 <= len(rows) <= 5 and rows[0]["matched"] is True and rows[0]["actions"][0]["type"] == "hold"


@pytest.mark.parametrize("change, field", [
    ({"name": ""}, "name"),
    ({"trigger": "sometimes"}, "trigger"),
    ({"conditions": {"amount_min_minor": -5}}, "conditions.amount_min_minor"),
    ({"conditions": {"amount_min_minor": 500, "amount_max_minor": 100}}, "conditions.amount_max_minor"),
    ({"conditions": {"colour": ["red"]}}, "conditions.colour"),
    ({"conditions": {"regions": "SH," + "x" * 65}}, "conditions.regions[1]"),
    ({"conditions": {"time_window": {"start": "25:00", "end": "10:00"}}}, "conditions.time_window.start"),
    ({"conditions": {"time_window": {"start": "09:00", "end": "18:00", "timezone": "Mars/Olympus"}}}, "conditions.time_window.timezone"),
    ({"actions": []}, "actions"),
    ({"actions": [{"type": "launch"}]}, "actions[0].type"),
    ({"actions": [{"type": "accept"}, {"type": "add_tag"}]}, "actions[1].tag"),
    ({"actions": [{"type": "notify_staff", "email": "stranger@example.test"}]}, "actions[0].email"),
    ({"trigger": "shipped"}, "actions[1].type"),  # accept cannot follow "shipped"
    ({"enabled": "yes"}, "enabled"),
])
def test_api_bad_input_names_the_field_and_writes_nothing(mall, api_at, change, field):
    before = _count(mall.acme)
    resp = api_at(mall.acme, mall.users["acme:owner"]).post("/api/v1/automation/rules/", {**GOOD, **change}, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == field, resp.content
    assert _count(mall.acme) == before


def test_page_create_shows_errors_next_to_the_field_then_saves_off_and_toggles(mall, client_at):
    client = client_at(mall.acme, mall.users["acme:owner"])
    form = {"name": "Big ones", "trigger": "paid", "amount_min": "100.00", "regions": "SH", "act_tag": "big", "act_accept": "on",
            "time_start": "9am", "time_end": "18:00"}
    before = _count(mall.acme)
    resp = client.post("/automation/new/", form)
    assert resp.status_code == 400 and 'data-testid="error-time_start"' in resp.content.decode()
    assert "From (time of day)" in resp.content.decode() and _count(mall.acme) == before
    resp = client.post("/automation/new/", {**form, "time_start": "09:00", "act_tag": "a,b"})
    assert resp.status_code == 400 and 'data-testid="error-act_tag"' in resp.content.decode()
    resp = client.post("/automation/new/", {**form, "time_start": "09:00", "act_hold": "", "amount_min": "abc"})
    assert resp.status_code == 400 and 'data-testid="error-amount_min"' in resp.content.decode()
    resp = client.post("/automation/new/", {**form, "time_start": "09:00"})
    assert resp.status_code == 302
    with in_merchant_schema(mall.acme):
        rule = AutomationRule.objects.get(name="Big ones")
    assert (rule.enabled, rule.conditions["amount_min_minor"], rule.actions) == (
        False, 10000, [{"type": "add_tag", "tag": "big"}, {"type": "accept"}])
    assert rule.conditions["time_window"]["start"] == "09:00"
    assert client.get(f"/automation/{rule.pk}/").status_code == 200
    assert client.get(f"/automation/{rule.pk}/dry-run/?last=5").status_code == 200
    assert client.get(f"/automation/{rule.pk}/dry-run/?last=abc").status_code == 400
    assert client.get(f"/automation/{rule.pk}/runs/").status_code == 200
    client.post(f"/automation/{rule.pk}/toggle/")
    with in_merchant_schema(mall.acme):
        rule.refresh_from_db()
    assert rule.enabled is True
    assert AuditEntry.objects.filter(entity="automation_rule", entity_id=str(rule.pk), action="enable").exists()
    assert "Big ones" in client.get("/automation/").content.decode()


def test_page_move_reorders(mall, client_at):
    a, b = _acme_rule(mall, "A"), _acme_rule(mall, "B")
    client_at(mall.acme, mall.users["acme:manager"]).post(f"/automation/{b.pk}/move/", {"direction": "up"})
    with in_merchant_schema(mall.acme):
        order = list(AutomationRule.objects.order_by("position").values_list("pk", flat=True))
    assert order.index(b.pk) < order.index(a.pk)


def test_customer_tags_page(mall, client_at):
    from automation.models import CustomerTag

    client = client_at(mall.acme, mall.users["acme:owner"])
    resp = client.post("/automation/customer-tags/", {"email": "not-an-email", "tags": "vip"})
    assert resp.status_code == 400 and 'data-field="email"' in resp.content.decode()
    assert client.post("/automation/customer-tags/", {"email": "Vip@Example.test", "tags": "VIP, wholesale"}).status_code == 302
    with in_merchant_schema(mall.acme):
        assert CustomerTag.objects.get(email="vip@example.test").tags == ["vip", "wholesale"]


@pytest.mark.parametrize("role", ["customer_service", "finance", "warehouse"])
def test_roles_without_the_capability_are_refused(mall, client_at, api_at, role):
    rule = _acme_rule(mall)
    user = mall.users[f"acme:{role}"]
    page, api = client_at(mall.acme, user), api_at(mall.acme, user)
    assert page.get("/automation/").status_code == 403
    assert page.get(f"/automation/{rule.pk}/").status_code == 403
    assert page.post(f"/automation/{rule.pk}/toggle/").status_code == 403
    assert page.get(f"/automation/{rule.pk}/dry-run/").status_code == 403
    assert api.get("/api/v1/automation/rules/").status_code == 403
    assert api.patch(f"/api/v1/automation/rules/{rule.pk}/", {"enabled": True}, format="json").status_code == 403
    assert api.post("/api/v1/automation/rules/", GOOD, format="json").status_code == 403
    with in_merchant_schema(mall.acme):
        rule.refresh_from_db()
    assert rule.enabled is False


def test_another_stores_staff_get_404_for_a_real_rule_id(mall, client_at, api_at):
    rule = _acme_rule(mall, "Acme secret rule")
    with in_merchant_schema(mall.globex):
        assert not AutomationRule.objects.filter(pk=rule.pk).exists()  # ids are per schema: this one is acme's only
    globex = mall.users["globex:owner"]
    page, api = client_at(mall.globex, globex), api_at(mall.globex, globex)
    for resp in (page.get(f"/automation/{rule.pk}/"), page.get(f"/automation/{rule.pk}/dry-run/"), page.get(f"/automation/{rule.pk}/runs/"),
                 page.post(f"/automation/{rule.pk}/toggle/"), api.get(f"/api/v1/automation/rules/{rule.pk}/"),
                 api.patch(f"/api/v1/automation/rules/{rule.pk}/", {"enabled": True}, format="json"),
                 api.post(f"/api/v1/automation/rules/{rule.pk}/dry-run/", {}, format="json")):
        assert resp.status_code == 404 and "Acme secret rule" not in resp.content.decode()
    assert "Acme secret rule" not in api.get("/api/v1/automation/rules/").content.decode()
    # and on acme's own host, globex's owner is no member: refused outright
    assert client_at(mall.acme, globex).get(f"/automation/{rule.pk}/").status_code in (302, 403)
    with in_merchant_schema(mall.acme):
        rule.refresh_from_db()
    assert rule.enabled is False


def test_edit_page_shows_the_rule_and_keeps_its_zone(mall, client_at):
    with in_merchant_schema(mall.acme):
        rule = rule_create(actor=mall.users["acme:owner"], name="Night shift", trigger="paid", actions=[{"type": "accept"}],
                           conditions={"time_window": {"start": "22:00", "end": "06:00", "timezone": "Europe/Berlin"}})
    client = client_at(mall.acme, mall.users["acme:owner"])
    body = client.get(f"/automation/{rule.pk}/").content.decode()
    assert 'name="time_zone" value="Europe/Berlin"' in body and 'value="22:00"' in body and "checked" in body
    resp = client.post(f"/automation/{rule.pk}/", {"name": "Night shift 2", "trigger": "paid", "time_start": "22:00", "time_end": "06:00",
                                                    "time_zone": "Europe/Berlin", "act_accept": "on"})
    assert resp.status_code == 302
    with in_merchant_schema(mall.acme):
        rule.refresh_from_db()
    assert (rule.name, rule.conditions["time_window"]["timezone"], rule.actions) == ("Night shift 2", "Europe/Berlin", [{"type": "accept"}])
