"""Operators' platform roles (admin, finance, support): every console page and action, the super-admin's
pages and actions, and the services follow permissions.roles.PLATFORM_CAPABILITIES."""
import re
from importlib import import_module

import pytest
from django.urls import URLPattern, reverse

from core.errors import PermissionDenied
from core.events import topic as declare
from core.models import OutboxDelivery, OutboxEvent
from core.outbox import outbox_emit
from core.tenancy import in_merchant_schema
from permissions.models import AuditEntry, User
from permissions.services import platform_roles_set, user_create
from tests.conftest import PASSWORD

ADMIN, FINANCE, SUPPORT = "admin", "finance", "support"
EVERYONE = {ADMIN, FINANCE, SUPPORT}
MONEY = {ADMIN, FINANCE}

# Every console route: (platform capability, method, status when allowed, roles allowed). Written out by
# hand, not derived from the role table, so that a change to either one shows here.
CONSOLE_ROUTES = {
    "console-home": ("console.view", "get", 200, EVERYONE),
    "console-roles": ("console.view", "get", 200, EVERYONE),
    "console-late-suborders": ("orders.view_all", "get", 200, EVERYONE),
    "console-parcels": ("parcels.view", "get", 200, EVERYONE),
    "console-payments": ("payments.view", "get", 200, MONEY),
    "console-payment": ("payments.view", "get", 200, MONEY),
    "console-gateway-events": ("payments.view", "get", 200, MONEY),
    "console-gateway-event-reprocess": ("gateway_events.reprocess", "post", 302, MONEY),
    "console-payment-refund": ("refunds.operator", "post", 302, MONEY),
    "console-payment-settings": ("payments.settings", "get", 200, {ADMIN}),
    "console-audit": ("audit.view_all", "get", 200, {ADMIN}),
    "console-audit-export": ("audit.view_all", "get", 200, {ADMIN}),
    "console-security-settings": ("security.settings", "get", 200, {ADMIN}),
    "console-imports": ("orders.import_all", "get", 200, {ADMIN}),
    "console-imports-job": ("orders.import_all", "get", 404, {ADMIN}),  # a job id that exists nowhere: 404 to an admin
    "console-imports-status": ("orders.import_all", "get", 404, {ADMIN}),
    "console-notification-templates": ("notifications.edit", "get", 200, {ADMIN}),
    "console-notification-template": ("notifications.edit", "get", 200, {ADMIN}),
    "console-notification-messages": ("notifications.view", "get", 200, EVERYONE),
    "console-reports": ("reports.view_all", "get", 200, MONEY),  # GMV and commission per store
    "console-support-queue": ("tickets.view_all", "get", 200, EVERYONE),
    "console-support-sla": ("tickets.view_all", "get", 200, EVERYONE),
    "console-support-ticket": ("tickets.view_all", "get", 404, EVERYONE),  # an id that exists nowhere: 404 when allowed
    "console-support-ticket-file": ("tickets.view_all", "get", 404, EVERYONE),
    "console-support-ticket-reply": ("tickets.operate", "post", 404, EVERYONE),
    "console-support-dispute-decide": ("disputes.decide", "post", 404, MONEY),
}


def _console_patterns() -> dict[str, URLPattern]:
    from console import urls

    return {p.name: p for p in urls.urlpatterns}


@pytest.fixture
def operators(mall):
    return {
        ADMIN: mall.users["operator"],
        FINANCE: user_create(email="fin-op@mallard.test", password=PASSWORD, platform_roles=[FINANCE]),
        SUPPORT: user_create(email="sup-op@mallard.test", password=PASSWORD, platform_roles=[SUPPORT]),
    }


@pytest.fixture
def paid(mall):
    """A paid order at acme: its payment, the acme order line, the suborder mirror and a gateway event."""
    from orders.models import OrderLine, SubOrderMirror
    from payments.models import GatewayEvent
    from tests.payments.helpers import pay, place_order

    order, _items = place_order(mall, qty=2)
    payment = pay(order)
    return {"payment": payment, "line": OrderLine.objects.get(order=order, merchant=mall.acme),
            "mirror": SubOrderMirror.objects.get(order=order, merchant=mall.acme),
            "event": GatewayEvent.objects.filter(payment=payment).first()}


def _url(name: str, paid) -> str:
    kwargs = {"console-payment": {"payment_id": paid["payment"].pk},
              "console-payment-refund": {"payment_id": paid["payment"].pk},
              "console-gateway-event-reprocess": {"event_id": paid["event"].pk},
              "console-imports-job": {"job_id": "00000000-0000-4000-8000-000000000000"},
              "console-imports-status": {"job_id": "00000000-0000-4000-8000-000000000000"},
              "console-notification-template": {"kind": "order_placed", "language": "zh-hans"},
              "console-support-ticket": {"ticket_id": 2**40}, "console-support-ticket-reply": {"ticket_id": 2**40},
              "console-support-ticket-file": {"ticket_id": 2**40, "attachment_id": 1},
              "console-support-dispute-decide": {"dispute_id": 2**40}}.get(name, {})
    return reverse(name, kwargs=kwargs, urlconf="config.urls_public")


# --- the console ------------------------------------------------------------------------------------

def test_every_console_route_is_classified_and_asks_for_its_capability():
    patterns = _console_patterns()
    assert set(patterns) == set(CONSOLE_ROUTES), "classify the new console page in CONSOLE_ROUTES"
    for name, pattern in patterns.items():
        assert getattr(pattern.callback, "required_platform_capability", None) == CONSOLE_ROUTES[name][0], name


@pytest.mark.parametrize("role", [ADMIN, FINANCE, SUPPORT])
def test_each_console_page_and_action_is_allowed_or_403_as_the_table_says(mall, client_at, operators, paid, role):
    client = client_at(None, operators[role])
    wrong = []
    for name, (_cap, method, ok_status, allowed) in CONSOLE_ROUTES.items():
        resp = getattr(client, method)(_url(name, paid))
        expected = ok_status if role in allowed else 403
        if resp.status_code != expected:
            wrong.append(f"{method} {name}: {resp.status_code} != {expected}")
        if expected == 403 and b"Not allowed" not in resp.content:
            wrong.append(f"{name}: not the 403 page")
    assert wrong == []


def test_an_operator_without_platform_roles_is_refused_everywhere_and_non_operators_go_to_sign_in(mall, client_at, paid):
    bare = User.objects.create_user("bare-op@mallard.test", PASSWORD, is_staff=True)  # is_staff, no roles
    for name in CONSOLE_ROUTES:
        method = CONSOLE_ROUTES[name][1]
        assert getattr(client_at(None, bare), method)(_url(name, paid)).status_code == 403, name
        resp = getattr(client_at(None, mall.users["acme:owner"]), method)(_url(name, paid))
        assert resp.status_code == 302 and resp["Location"].startswith("/admin/login/"), name


def test_the_console_nav_shows_only_allowed_links(mall, client_at, operators):
    def nav(role):
        return client_at(None, operators[role]).get("/console/").content.decode()

    support, finance, admin = nav(SUPPORT), nav(FINANCE), nav(ADMIN)
    for link in ("/console/suborders/late/", "/console/parcels/", "/console/roles/"):
        assert link in support and link in finance and link in admin
    for link in ("/console/payments/", "/console/payments/events/"):
        assert link not in support and link in finance and link in admin
    for link in ("/console/payments/settings/", "/console/audit/", "/console/security/", "/admin/tenants/merchant/add/"):
        assert link not in support and link not in finance and link in admin


def test_the_operator_role_matrix_page_lists_every_platform_capability(mall, client_at, operators):
    from permissions.roles import PLATFORM_CAPABILITIES

    body = client_at(None, operators[SUPPORT]).get("/console/roles/").content.decode()
    assert re.findall(r'<tr data-capability="([^"]+)"', body) == list(PLATFORM_CAPABILITIES)
    row = re.search(r'<tr data-capability="refunds.operator">(.*?)</tr>', body, re.S).group(1)
    assert re.findall(r"<td>(✓|—)</td>", row) == ["✓", "✓", "—"]  # admin, finance, support
    assert "Support agent" in re.search(r'data-testid="my-platform-roles">(.*?)</p>', body).group(1)


# --- refunds and suspensions ------------------------------------------------------------------------

def test_a_finance_operator_issues_a_console_refund(mall, client_at, operators, paid):
    from payments.models import Refund

    resp = client_at(None, operators[FINANCE]).post(_url("console-payment-refund", paid), {
        "merchant_id": mall.acme.pk, "suborder_id": paid["mirror"].suborder_id, f"qty_{paid['line'].pk}": "1",
        "reason": "damaged in transit", "idempotency_key": "console-fin-1"})
    assert resp.status_code == 302
    refund = Refund.objects.get(order=paid["payment"].order)
    assert (refund.amount_minor, refund.requested_by) == (paid["line"].line_total_minor // 2, operators[FINANCE])
    row = AuditEntry.objects.filter(entity="refund", entity_id=str(refund.pk)).get()
    assert row.role == "operator:finance"


def test_a_support_operator_cannot_refund_through_the_console_or_the_service(mall, client_at, operators, paid):
    from payments.models import Refund
    from payments.services import RefundLineRequest, refund_create

    resp = client_at(None, operators[SUPPORT]).post(_url("console-payment-refund", paid), {
        "merchant_id": mall.acme.pk, "suborder_id": paid["mirror"].suborder_id, f"qty_{paid['line'].pk}": "1",
        "reason": "x", "idempotency_key": "console-sup-1"})
    assert resp.status_code == 403
    with pytest.raises(PermissionDenied):
        refund_create(actor=operators[SUPPORT], merchant_id=mall.acme.pk, suborder_id=paid["mirror"].suborder_id,
                      lines=[RefundLineRequest(order_line_id=paid["line"].pk, quantity=1)], reason="x", idempotency_key="s-2")
    assert not Refund.objects.filter(order=paid["payment"].order).exists()


def test_a_finance_operator_cannot_suspend_a_merchant_through_the_admin_action_or_the_service(mall, client_at, operators):
    from merchants.services import merchant_reinstate, merchant_suspend
    from tenants.models import Merchant

    floor = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    client = client_at(None, operators[FINANCE])
    changelist = client.get("/admin/tenants/merchant/").content.decode()
    assert 'value="suspend"' not in changelist  # the action is not offered
    client.post("/admin/tenants/merchant/", {"action": "suspend", "_selected_action": [mall.acme.pk]})
    with pytest.raises(PermissionDenied):
        merchant_suspend(merchant=mall.acme, reason="finance says so", actor=operators[FINANCE])
    with pytest.raises(PermissionDenied):
        merchant_reinstate(merchant=mall.acme, actor=operators[SUPPORT])
    assert Merchant.objects.get(pk=mall.acme.pk).status == Merchant.Status.ACTIVE
    assert not OutboxEvent.objects.filter(topic="merchant.suspended", aggregate_id=str(mall.acme.pk)).exists()
    assert not AuditEntry.objects.filter(id__gt=floor, entity="merchant").exists()
    # the admin operator still can, through the same action
    client_at(None, operators[ADMIN]).post("/admin/tenants/merchant/", {"action": "suspend", "_selected_action": [mall.acme.pk]})
    assert Merchant.objects.get(pk=mall.acme.pk).status == Merchant.Status.SUSPENDED


def test_platform_services_refuse_operators_without_the_capability(mall, operators, paid):
    from payments.models import GatewayEvent
    from payments.selectors import payment_settings_get
    from payments.services import gateway_event_process, payment_settings_update

    before = payment_settings_get().capture_policy
    with pytest.raises(PermissionDenied):
        payment_settings_update(enabled_gateways=["sandbox"], capture_policy="on_accept", actor=operators[FINANCE])
    assert payment_settings_get().capture_policy == before
    GatewayEvent.objects.filter(pk=paid["event"].pk).update(result="failed")
    with pytest.raises(PermissionDenied):
        gateway_event_process(event_id=paid["event"].pk, actor=operators[SUPPORT])
    assert GatewayEvent.objects.get(pk=paid["event"].pk).result == "failed"
    assert gateway_event_process(event_id=paid["event"].pk, actor=operators[FINANCE]).result == "no_change"


# --- authorize() in a store -------------------------------------------------------------------------

@pytest.mark.parametrize("role,allowed", [(SUPPORT, False), (FINANCE, False), (ADMIN, True)])
def test_authorize_lets_only_admin_operators_write_in_a_store(mall, operators, role, allowed):
    from catalog.models import Variant
    from catalog.services import variant_update
    from tests.orders.factories import stock_item

    item = stock_item(mall.acme, price_minor=1999)
    with in_merchant_schema(mall.acme):
        if allowed:
            variant_update(variant_id=item["variant_id"], price_minor=2500, actor=operators[role])
        else:
            with pytest.raises(PermissionDenied):
                variant_update(variant_id=item["variant_id"], price_minor=2500, actor=operators[role])
        assert Variant.objects.get(pk=item["variant_id"]).price_minor == (2500 if allowed else 1999)


def test_authorize_checks_platform_capabilities_without_a_merchant(mall, operators):
    from permissions.policy import authorize

    authorize(operators[FINANCE], "refunds.operator")
    authorize(operators[FINANCE], "refunds.create", merchant=mall.acme)  # store capability granted by refunds.operator
    for actor, cap in ((operators[FINANCE], "merchants.manage"), (operators[SUPPORT], "payments.view"),
                       (mall.users["acme:owner"], "console.view"), (operators[FINANCE], "staff.manage")):
        with pytest.raises(PermissionDenied):
            authorize(actor, cap, merchant=mall.acme if cap == "staff.manage" else None)


# --- the super-admin --------------------------------------------------------------------------------

def _admin_pages(mall, event_pk):
    return {
        "/admin/": EVERYONE,
        "/admin/tenants/merchant/": EVERYONE,
        f"/admin/tenants/merchant/{mall.acme.pk}/change/": EVERYONE,  # read-only for finance and support
        "/admin/tenants/merchant/add/": {ADMIN},
        "/admin/core/outboxevent/": EVERYONE,
        f"/admin/core/outboxevent/{event_pk}/change/": EVERYONE,
        "/admin/core/outboxdelivery/": EVERYONE,
        "/admin/core/outboxdelivery/add/": set(),
        "/admin/carriers/trackingindex/": EVERYONE,
        "/admin/carriers/transittime/": EVERYONE,
        "/admin/carriers/transittime/add/": {ADMIN},
        "/admin/permissions/user/": {ADMIN},
        f"/admin/permissions/user/{mall.users['acme:owner'].pk}/change/": {ADMIN},
        "/admin/permissions/apitoken/": {ADMIN},
        "/admin/permissions/auditentry/": {ADMIN},
        "/admin/permissions/auditentry/add/": set(),  # nobody writes audit rows by hand
        "/admin/core/outboxevent/add/": set(),
    }


@pytest.mark.parametrize("role", [ADMIN, FINANCE, SUPPORT])
def test_admin_pages_follow_the_platform_roles(mall, client_at, operators, role):
    declare("test.roles.admin", app="tests", fires="platform roles test", payload={})
    event = outbox_emit(topic="test.roles.admin", aggregate_type="test", aggregate_id="1")
    client = client_at(None, operators[role])
    wrong = []
    for path, allowed in _admin_pages(mall, event.pk).items():
        status = client.get(path).status_code
        if status != (200 if role in allowed else 403):
            wrong.append(f"{path}: {status}")
    assert wrong == []
    index = client.get("/admin/").content.decode()
    assert ("/admin/permissions/user/" in index) is (role == ADMIN)
    assert "/admin/tenants/merchant/" in index and "/admin/core/outboxevent/" in index


def test_a_finance_operator_cannot_change_a_merchant_in_the_admin(mall, client_at, operators):
    from tenants.models import Merchant

    m = mall.globex
    resp = client_at(None, operators[FINANCE]).post(f"/admin/tenants/merchant/{m.pk}/change/", {
        "name": "Hijacked", "contact_email": "x@x.test", "default_currency": "CNY", "commission_bp": "1",
        "domains-TOTAL_FORMS": "0", "domains-INITIAL_FORMS": "0"})
    assert resp.status_code == 403
    assert Merchant.objects.get(pk=m.pk).name == m.name


def test_only_admins_requeue_dead_letters(mall, client_at, operators):
    declare("test.roles.dead", app="tests", fires="platform roles test", payload={})
    event = outbox_emit(topic="test.roles.dead", aggregate_type="test", aggregate_id="d1")
    dead = OutboxDelivery.objects.create(event=event, subscriber="tests.roles", schema_name="public", aggregate_type="test",
                                         aggregate_id="d1", status="dead", attempts=8)
    for role in (FINANCE, SUPPORT):
        client = client_at(None, operators[role])
        assert 'value="requeue"' not in client.get("/admin/core/outboxdelivery/").content.decode()
        client.post("/admin/core/outboxdelivery/", {"action": "requeue", "_selected_action": [dead.pk]})
        assert OutboxDelivery.objects.get(pk=dead.pk).status == "dead", role
    client_at(None, operators[ADMIN]).post("/admin/core/outboxdelivery/", {"action": "requeue", "_selected_action": [dead.pk]})
    assert OutboxDelivery.objects.get(pk=dead.pk).status == "pending"


def test_admin_sets_platform_roles_from_the_user_form_through_the_audited_service(mall, client_at, operators):
    target = operators[SUPPORT]
    client = client_at(None, operators[ADMIN])
    page = client.get(f"/admin/permissions/user/{target.pk}/change/").content.decode()
    assert 'name="platform_roles"' in page
    resp = client.post(f"/admin/permissions/user/{target.pk}/change/", {
        "email": target.email, "full_name": "", "preferred_language": "", "is_active": "on",
        "platform_roles": ["finance", "support"], "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert resp.status_code == 302, resp.content.decode()[:3000]
    target.refresh_from_db()
    assert (sorted(target.platform_roles), target.is_staff, target.is_superuser) == (["finance", "support"], True, False)
    row = AuditEntry.objects.filter(entity="user", entity_id=str(target.pk), action="platform_roles_set").latest("id")
    assert (row.schema_name, row.actor, row.before["platform_roles"], row.after["platform_roles"]) == (
        "public", operators[ADMIN], ["support"], ["finance", "support"])


# --- the roles service and the migration ------------------------------------------------------------

def test_platform_roles_set_is_audited_and_checked(mall, operators):
    target = operators[SUPPORT]
    with pytest.raises(PermissionDenied):
        platform_roles_set(user=target, roles=["admin"], actor=operators[FINANCE])
    target.refresh_from_db()
    assert target.platform_roles == ["support"]
    with pytest.raises(PermissionDenied):
        platform_roles_set(user=operators[ADMIN], roles=["finance"], actor=operators[ADMIN])  # not from oneself
    platform_roles_set(user=target, roles=[], actor=operators[ADMIN])
    target.refresh_from_db()
    assert (target.platform_roles, target.is_staff) == ([], False)
    row = AuditEntry.objects.filter(entity="user", entity_id=str(target.pk), action="platform_roles_set").latest("id")
    assert (row.schema_name, row.before["platform_roles"], row.after["platform_roles"]) == ("public", ["support"], [])
    assert row.role == "operator:admin"


def test_the_data_migration_makes_existing_operators_admins_and_runs_twice(mall):
    from django.apps import apps

    migration = import_module("permissions.migrations.0006_operators_are_admins")
    old_op = User.objects.create_user("old-op@mallard.test", PASSWORD, is_staff=True)
    fin = user_create(email="fin-keep@mallard.test", password=PASSWORD, platform_roles=[FINANCE])
    shopper = mall.users["shopper"]
    for _run in range(2):
        migration.forwards(apps, None)
    for user in (old_op, fin, shopper):
        user.refresh_from_db()
    assert (old_op.platform_roles, fin.platform_roles, shopper.platform_roles) == (["admin"], ["finance"], [])


def test_a_superuser_is_an_admin_and_an_inactive_operator_nothing(mall, operators):
    from permissions.selectors import platform_can, platform_roles_of

    su = User.objects.create_user("su@mallard.test", PASSWORD, is_staff=True, is_superuser=True)
    assert platform_roles_of(su) == {"admin"} and platform_can(su, "merchants.manage")
    fin = operators[FINANCE]
    fin.is_active = False
    assert not platform_can(fin, "console.view")
    assert not platform_can(mall.users["acme:owner"], "console.view")


def test_the_demo_seeds_an_operator_per_platform_role(mall):
    from merchants import demo

    for email, roles in (("operator@mallard.localhost", ["admin"]), ("finance@mallard.localhost", ["finance"]),
                         ("support@mallard.localhost", ["support"])):
        user = demo._user(email, name="x", platform_roles=roles)
        assert (user.platform_roles, user.is_staff, user.check_password(demo.DEMO_PASSWORD)) == (roles, True, True)
