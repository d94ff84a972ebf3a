"""A user of acme is refused at globex, page and API; acme's host can never read globex's schema."""
import pytest
from django.db import connection
from django.db.utils import ProgrammingError

from core.tenancy import in_merchant_schema
from merchants.services import merchant_reinstate, merchant_suspend


def test_owner_sees_own_dashboard_with_roles(mall, client_at):
    resp = client_at(mall.acme, mall.users["acme:owner"]).get("/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "Acme Outfitters" in body and "Owner" in body
    assert "Globex" not in body


def test_acme_user_refused_at_globex_page(mall, client_at):
    resp = client_at(mall.globex, mall.users["acme:owner"]).get("/")
    assert resp.status_code == 403
    assert "not a member of Globex" in resp.content.decode()


def test_anonymous_redirected_to_login_on_merchant_host(mall, client_at):
    resp = client_at(mall.acme).get("/")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


def test_acme_user_refused_at_globex_api(mall, api_at):
    resp = api_at(mall.globex, mall.users["acme:owner"]).get("/api/v1/merchant/")
    assert resp.status_code == 403
    assert resp.json()["code"] == "permission_denied"
    ok = api_at(mall.acme, mall.users["acme:owner"]).get("/api/v1/merchant/")
    assert ok.status_code == 200 and ok.json()["slug"] == "acme"


def test_me_api_lists_roles_only_for_this_host(mall, api_at):
    body = api_at(mall.acme, mall.users["acme:finance"]).get("/api/v1/me/").json()
    assert body["merchant"] == "acme" and body["roles"] == ["finance"]
    body = api_at(mall.globex, mall.users["acme:finance"]).get("/api/v1/me/").json()
    assert body["merchant"] == "globex" and body["roles"] == []


def test_acme_search_path_cannot_see_globex_tables(mall):
    """On acme's connection, globex's tables are not on the search path: unqualified names resolve to acme."""
    with in_merchant_schema(mall.acme):
        with connection.cursor() as cur:
            cur.execute("SHOW search_path")
            path = cur.fetchone()[0]
    assert "m_acme" in path and "m_globex" not in path


def test_tenant_table_resolves_to_current_schema(mall):
    with in_merchant_schema(mall.acme), connection.cursor() as cur:
        cur.execute("SELECT to_regclass('guardian_userobjectpermission')::text")
        assert cur.fetchone()[0] == "guardian_userobjectpermission"
        cur.execute("SELECT current_schemas(false)")
        assert cur.fetchone()[0][0] == "m_acme"


def test_suspended_merchant_answers_clearly(mall, client_at, api_at):
    merchant_suspend(merchant=mall.acme, reason="unpaid fees")
    page = client_at(mall.acme, mall.users["acme:owner"]).get("/")
    assert page.status_code == 403 and "suspended" in page.content.decode()
    api = api_at(mall.acme, mall.users["acme:owner"]).get("/api/v1/merchant/")
    assert api.status_code == 403 and api.json()["code"] == "merchant_suspended"
    merchant_reinstate(merchant=mall.acme)
    assert client_at(mall.acme, mall.users["acme:owner"]).get("/").status_code == 200


def test_unknown_host_is_a_clear_404(mall, client_at):
    from django.test import Client

    resp = Client(HTTP_HOST="nosuchstore.localhost").get("/")
    assert resp.status_code == 404 and "No store lives at" in resp.content.decode()


def test_public_host_has_no_merchant_tables(mall):
    from django.db import transaction

    connection.set_schema_to_public()
    with pytest.raises(ProgrammingError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT 1 FROM guardian_userobjectpermission")
