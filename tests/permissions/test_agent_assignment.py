"""Object permissions for customer service (django-guardian, suborders.SubOrderUserObjectPermission): a
manager assigns suborders to agents; an agent the owner limited to their assignments sees and edits only
those — list, detail, API and the address edit — while other suborders' real ids answer 404."""
import pytest

from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.tenancy import in_merchant_schema
from permissions.models import AuditEntry, Membership
from permissions.services import membership_grant, user_create
from suborders.edits import suborder_assign, suborder_contact_change
from suborders.models import SubOrder
from tests.conftest import PASSWORD
from tests.payments.helpers import pay, place_order


@pytest.fixture
def two(mall):
    out = []
    for _ in range(2):
        order, _items = place_order(mall, stores=("acme",), qty=1)
        pay(order)
        with in_merchant_schema(mall.acme):
            out.append(SubOrder.objects.get(order_id=order.pk))
    agent = user_create(email=f"agent-{out[0].pk}@acme.test", password=PASSWORD)
    membership_grant(user=agent, merchant=mall.acme, roles=["customer_service"])
    return out[0], out[1], agent


def test_a_limited_agent_sees_and_edits_only_the_suborders_assigned_to_them(mall, client_at, api_at, two):
    a, b, agent = two
    manager = client_at(mall.acme, mall.users["acme:manager"])
    assert manager.post(f"/suborders/{a.pk}/assign/", {"agent": str(agent.pk)}).status_code == 302
    owner = client_at(mall.acme, mall.users["acme:owner"])
    m = Membership.objects.get(user=agent, merchant=mall.acme)
    assert owner.post("/staff/", {"action": "assigned_only", "membership": m.pk, "assigned_only": "on"}).status_code == 302
    page = client_at(mall.acme, agent)
    listing = page.get("/suborders/").content.decode()
    assert a.number in listing and b.number not in listing
    assert page.get(f"/suborders/{a.pk}/").status_code == 200 and page.get(f"/suborders/{b.pk}/").status_code == 404
    api = api_at(mall.acme, agent)
    assert [r["number"] for r in api.get("/api/v1/suborders/").json()["results"]] == [a.number]
    assert api.get(f"/api/v1/suborders/{b.pk}/").status_code == 404
    with in_merchant_schema(mall.acme):
        with pytest.raises(NotFound):
            suborder_contact_change(suborder_id=b.pk, actor=agent, note="not mine")
        suborder_contact_change(suborder_id=a.pk, actor=agent, note="mine")
        assert (SubOrder.objects.get(pk=a.pk).note, SubOrder.objects.get(pk=b.pk).note) == ("mine", "")
    row = AuditEntry.objects.filter(entity="suborder", entity_id=a.number, action="assign").latest("id")
    assert row.after == {"agent": agent.email} and row.role == "manager"


def test_an_agent_not_limited_and_the_manager_see_every_suborder(mall, client_at, two):
    a, b, agent = two
    with in_merchant_schema(mall.acme):
        suborder_assign(suborder_id=a.pk, agent=agent, actor=mall.users["acme:owner"])
    for user in (agent, mall.users["acme:manager"]):
        listing = client_at(mall.acme, user).get("/suborders/").content.decode()
        assert a.number in listing and b.number in listing


def test_who_may_assign_and_limit(mall, client_at, two):
    a, _b, agent = two
    with in_merchant_schema(mall.acme):
        for role in ("customer_service", "warehouse", "finance"):
            with pytest.raises(PermissionDenied):
                suborder_assign(suborder_id=a.pk, agent=agent, actor=mall.users[f"acme:{role}"])
        with pytest.raises(ValidationFailed):
            suborder_assign(suborder_id=a.pk, agent=mall.users["acme:warehouse"], actor=mall.users["acme:owner"])
    m = Membership.objects.get(user=agent, merchant=mall.acme)
    resp = client_at(mall.acme, mall.users["acme:manager"]).post("/staff/", {"action": "assigned_only", "membership": m.pk,
                                                                             "assigned_only": "on"})
    assert resp.status_code == 403
    m.refresh_from_db()
    assert m.assigned_only is False
