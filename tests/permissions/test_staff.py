"""Staff management: invitations by signed, expiring, one-use links; roles set and removed only as the
matrix says (owners alone for owners); a removed member loses pages and API at once; all audited."""
import itertools
import re

import pytest
from django.core import mail
from django.utils import timezone

from permissions.models import AuditEntry, Membership, StaffInvitation, User
from permissions.services import api_token_create, membership_grant, user_create
from tests.conftest import PASSWORD

_n = itertools.count(1)


def _email(prefix="new"):
    return f"{prefix}{next(_n)}-{id(_n)}@staff.test"


def _invite(c, email, *roles):
    return c.post("/staff/", {"action": "invite", "email": email, "roles": list(roles)})


def _link(resp) -> str:
    return re.search(r"/accounts/invitations/[^/<\s]+/", resp.content.decode()).group(0)


def test_owner_invites_and_the_new_person_joins_with_exactly_those_roles(mall, client_at, django_capture_on_commit_callbacks):
    owner = client_at(mall.acme, mall.users["acme:owner"])
    email = _email()
    with django_capture_on_commit_callbacks(execute=True):
        resp = _invite(owner, email, "warehouse")
    assert resp.status_code == 200
    link = _link(resp)
    assert len(mail.outbox) == 1 and email in mail.outbox[0].to and link in mail.outbox[0].body
    guest = client_at(mall.acme)
    page = guest.get(link)
    assert page.status_code == 200 and email in page.content.decode()
    resp = guest.post(link, {"full_name": "新员工", "password": "a-long-Passw0rd!"})
    assert resp.status_code == 302 and resp["Location"] == "/"
    user = User.objects.get(email=email)
    assert Membership.objects.get(user=user, merchant=mall.acme).roles == ["warehouse"]
    assert guest.get("/").status_code == 200  # signed in and a member
    assert guest.get(link).status_code == 400  # one use
    inv = StaffInvitation.objects.get(email=email)
    actions = list(AuditEntry.objects.filter(schema_name=mall.acme.schema_name, entity__in=["staff_invitation", "membership"],
                                             id__gte=AuditEntry.objects.filter(entity="staff_invitation", entity_id=str(inv.pk)).first().id)
                   .order_by("id").values_list("entity", "action", "actor_email"))
    assert actions[:2] == [("staff_invitation", "invite", "owner@acme.test"), ("membership", "grant", email)]


def test_an_existing_account_must_sign_in_as_the_invited_email(mall, client_at):
    resp = _invite(client_at(mall.acme, mall.users["acme:owner"]), "nobody@example.test", "finance")
    link = _link(resp)
    assert "sign in first" in client_at(mall.acme).post(link, {"password": "whatever-Long-1"}).content.decode()
    wrong = client_at(mall.acme, mall.users["shopper"]).post(link)
    assert wrong.status_code == 400 and "This invitation is for nobody@example.test" in wrong.content.decode()
    assert client_at(mall.acme, mall.users["nobody"]).post(link).status_code == 302
    assert Membership.objects.get(user=mall.users["nobody"], merchant=mall.acme).roles == ["finance"]


def test_an_expired_or_tampered_or_other_stores_link_is_refused(mall, client_at):
    link = _link(_invite(client_at(mall.acme, mall.users["acme:owner"]), _email(), "warehouse"))
    assert client_at(mall.globex).get(link).status_code == 400  # the same link on another store's host
    assert client_at(mall.acme).get(link[:-5] + "xxxx/").status_code == 400
    StaffInvitation.objects.filter(pk=StaffInvitation.objects.latest("id").pk).update(expires_at=timezone.now())
    resp = client_at(mall.acme).post(link, {"password": "a-long-Passw0rd!"})
    assert resp.status_code == 400 and "expired" in resp.content.decode()


@pytest.mark.parametrize("role", ["customer_service", "finance", "warehouse"])
def test_roles_without_staff_manage_cannot_open_or_use_the_staff_page(mall, client_at, role):
    c = client_at(mall.acme, mall.users[f"acme:{role}"])
    assert c.get("/staff/").status_code == 403
    email = _email()
    assert _invite(c, email, "owner").status_code == 403
    assert not StaffInvitation.objects.filter(email=email).exists()


def test_a_manager_invites_staff_but_never_owners_and_cannot_touch_an_owner(mall, client_at):
    manager = client_at(mall.acme, mall.users["acme:manager"])
    assert _invite(manager, _email(), "warehouse").status_code == 200
    email = _email()
    assert _invite(manager, email, "owner").status_code == 403 and not StaffInvitation.objects.filter(email=email).exists()
    owner_m = Membership.objects.get(user=mall.users["acme:owner"], merchant=mall.acme)
    assert manager.post("/staff/", {"action": "deactivate", "membership": owner_m.pk}).status_code == 403
    assert manager.post("/staff/", {"action": "roles", "membership": owner_m.pk, "roles": ["finance"]}).status_code == 403
    owner_m.refresh_from_db()
    assert owner_m.is_active and owner_m.roles == ["owner"]


def test_the_staff_page_is_refused_to_other_stores_people_with_real_ids(mall, client_at):
    globex_member = Membership.objects.get(user=mall.users["globex:warehouse"], merchant=mall.globex)
    c = client_at(mall.acme, mall.users["acme:owner"])
    resp = c.post("/staff/", {"action": "deactivate", "membership": globex_member.pk})
    assert resp.status_code == 404
    globex_member.refresh_from_db()
    assert globex_member.is_active
    assert client_at(mall.acme, mall.users["globex:owner"]).get("/staff/").status_code == 403


def test_roles_are_replaced_and_a_store_keeps_an_owner(mall, client_at):
    user = user_create(email=_email("cs"), password=PASSWORD)
    m = membership_grant(user=user, merchant=mall.acme, roles=["customer_service"])
    owner = client_at(mall.acme, mall.users["acme:owner"])
    assert owner.post("/staff/", {"action": "roles", "membership": m.pk, "roles": ["finance", "warehouse"]}).status_code == 302
    m.refresh_from_db()
    assert m.roles == ["finance", "warehouse"]
    row = AuditEntry.objects.filter(entity="membership", entity_id=str(m.pk), action="roles_set").latest("id")
    assert row.before == {"roles": ["customer_service"]} and row.after["roles"] == ["finance", "warehouse"]
    sole = Membership.objects.get(user=mall.users["acme:owner"], merchant=mall.acme)
    other = client_at(mall.acme, user)
    assert other.get("/staff/").status_code == 403
    resp = owner.post("/staff/", {"action": "roles", "membership": sole.pk, "roles": ["manager"]})
    assert resp.status_code == 400 and "A store needs an owner" in resp.content.decode()
    assert owner.post("/staff/", {"action": "roles", "membership": m.pk, "roles": ["emperor"]}).status_code == 400


def test_a_removed_member_loses_the_dashboard_and_the_api_at_once(mall, client_at):
    from rest_framework.test import APIClient

    user = user_create(email=_email("wh"), password=PASSWORD)
    m = membership_grant(user=user, merchant=mall.acme, roles=["warehouse"])
    _, secret = api_token_create(user=user, name="wms", merchant=mall.acme)
    page = client_at(mall.acme, user)
    api = APIClient(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert page.get("/suborders/").status_code == 200 and api.get("/api/v1/suborders/").status_code == 200
    assert client_at(mall.acme, mall.users["acme:owner"]).post("/staff/", {"action": "deactivate", "membership": m.pk}).status_code == 302
    assert page.get("/suborders/").status_code == 403
    assert api.get("/api/v1/suborders/").status_code in (401, 403)
    row = AuditEntry.objects.filter(entity="membership", entity_id=str(m.pk), action="deactivate").latest("id")
    assert row.after["tokens_revoked"] == 1 and row.actor == mall.users["acme:owner"]


def test_every_staff_member_can_read_the_role_matrix(mall, client_at):
    body = client_at(mall.acme, mall.users["acme:warehouse"]).get("/staff/roles/").content.decode()
    assert 'data-capability="refunds.create"' in body and "Refund shoppers" in body
    row = re.search(r'data-capability="refunds.create">(.*?)</tr>', body, re.S).group(1)
    assert row.count("✓") == 3  # owner, manager, finance
