"""Shipping rules: the dashboard page and its services (validated, audited, per merchant schema)."""
import pytest

from core.errors import ValidationFailed, WrongSchema
from core.tenancy import in_merchant_schema
from fulfillment.models import ShippingRule
from fulfillment.services import shipping_rule_create, shipping_rule_deactivate, shipping_rule_update
from permissions.models import AuditEntry

FORM = {"name": "Express", "regions": "SH, BJ , SH", "flat": "12.50", "per_kg": "3", "free_over": ""}


# Committed tests (browser, benchmarks) may leave rows behind: look only at rows made after this point.
_floor = {}


@pytest.fixture(autouse=True)
def _marks(mall):
    for m in (mall.acme, mall.globex):
        with in_merchant_schema(m):
            _floor[m.pk] = max(ShippingRule.objects.values_list("id", flat=True), default=0)
    _floor["audit"] = max(AuditEntry.objects.values_list("id", flat=True), default=0)


def _rules(merchant):
    with in_merchant_schema(merchant):
        return list(ShippingRule.objects.filter(id__gt=_floor[merchant.pk]).order_by("id")
                    .values("name", "regions", "flat_minor", "per_kg_minor", "free_over_minor", "is_active"))


def _audits(merchant):
    return list(AuditEntry.objects.filter(schema_name=merchant.schema_name, entity="shipping_rule", id__gt=_floor["audit"])
                .order_by("id").values_list("action", flat=True))


def test_owner_creates_edits_and_deactivates_a_rule(mall, client_at):
    c = client_at(mall.acme, mall.users["acme:owner"])
    globex_before = _rules(mall.globex)
    resp = c.post("/shipping/", FORM)
    assert resp.status_code == 302 and resp["Location"] == "/shipping/"
    assert _rules(mall.acme) == [{"name": "Express", "regions": ["SH", "BJ"], "flat_minor": 1250, "per_kg_minor": 300,
                                  "free_over_minor": None, "is_active": True}]
    assert _rules(mall.globex) == globex_before
    with in_merchant_schema(mall.acme):
        rule = ShippingRule.objects.filter(id__gt=_floor[mall.acme.pk]).get()
    body = c.get("/shipping/").content.decode()
    assert "Express" in body and "CNY 12.50" in body and "SH, BJ" in body
    edit = c.get(f"/shipping/{rule.pk}/").content.decode()
    assert 'value="12.50"' in edit and 'value="SH, BJ"' in edit
    resp = c.post(f"/shipping/{rule.pk}/", {**FORM, "flat": "9.90", "free_over": "199"})
    assert resp.status_code == 302
    assert _rules(mall.acme)[0]["flat_minor"] == 990 and _rules(mall.acme)[0]["free_over_minor"] == 19900
    c.post(f"/shipping/{rule.pk}/deactivate/")
    assert _rules(mall.acme)[0]["is_active"] is False
    assert _audits(mall.acme) == ["create", "update", "deactivate"]
    entry = AuditEntry.objects.filter(entity="shipping_rule", action="update").latest("id")
    assert entry.actor == mall.users["acme:owner"] and entry.before["flat_minor"] == 1250 and entry.after["flat_minor"] == 990


def test_manager_may_edit(mall, client_at):
    assert client_at(mall.acme, mall.users["acme:manager"]).post("/shipping/", FORM).status_code == 302
    assert len(_rules(mall.acme)) == 1


@pytest.mark.parametrize("role", ["warehouse", "finance", "customer_service"])
def test_roles_without_shipping_edit_refused(mall, client_at, role):
    with in_merchant_schema(mall.acme):
        rule = shipping_rule_create(actor=None, name="Economy", regions=[], flat_minor=800)
    c = client_at(mall.acme, mall.users[f"acme:{role}"])
    assert c.get("/shipping/").status_code == 403
    assert c.post("/shipping/", FORM).status_code == 403
    assert c.post(f"/shipping/{rule.pk}/", {**FORM, "flat": "0"}).status_code == 403
    assert c.post(f"/shipping/{rule.pk}/deactivate/").status_code == 403
    assert _rules(mall.acme) == [{"name": "Economy", "regions": [], "flat_minor": 800, "per_kg_minor": 0,
                                  "free_over_minor": None, "is_active": True}]
    assert _audits(mall.acme) == ["create"]


def test_other_merchants_owner_refused(mall, client_at):
    c = client_at(mall.acme, mall.users["globex:owner"])
    assert c.get("/shipping/").status_code == 403
    assert c.post("/shipping/", FORM).status_code == 403
    assert _rules(mall.acme) == [] and _rules(mall.globex) == []


@pytest.mark.parametrize("field,value,message", [
    ("flat", "-5", "must not be negative"),
    ("per_kg", "1.234", "more than 2 decimal places"),
    ("free_over", "abc", "is not an amount"),
    ("name", "  ", "Give the shipping method a name."),
])
def test_bad_input_shows_the_error_and_writes_nothing(mall, client_at, field, value, message):
    resp = client_at(mall.acme, mall.users["acme:owner"]).post("/shipping/", {**FORM, field: value})
    assert resp.status_code == 400
    body = resp.content.decode()
    assert f'data-testid="error-{field}"' in body and message in body
    assert _rules(mall.acme) == [] and _audits(mall.acme) == []


def test_services_refuse_public_schema_and_bad_amounts(mall):
    with pytest.raises(WrongSchema):
        shipping_rule_create(actor=None, name="X", regions=[], flat_minor=0)
    with in_merchant_schema(mall.acme):
        with pytest.raises(ValidationFailed) as err:
            shipping_rule_create(actor=None, name="X", regions=[], flat_minor=-1)
        assert err.value.field == "flat_minor"
        with pytest.raises(ValidationFailed):
            shipping_rule_create(actor=None, name="X", regions=[], flat_minor=1.5)
        rule = shipping_rule_create(actor=None, name="X", regions=[], flat_minor=100)
        with pytest.raises(ValidationFailed):
            shipping_rule_update(actor=None, rule_id=rule.pk, name="X", regions=[], flat_minor=100, per_kg_minor=-3)
        shipping_rule_deactivate(actor=None, rule_id=rule.pk)
        shipping_rule_deactivate(actor=None, rule_id=rule.pk)  # twice: one audit row
        assert ShippingRule.objects.filter(id__gt=_floor[mall.acme.pk]).count() == 1
    assert _audits(mall.acme) == ["create", "deactivate"]
