"""Personal API tokens: create, use as Bearer, revoke; clear JSON errors; the tokens page."""
import hashlib

import pytest
from rest_framework.test import APIClient

from permissions.models import ApiToken
from permissions.services import api_token_create, api_token_revoke


def _api(host="localhost", auth=None):
    client = APIClient(HTTP_HOST=host)
    if auth is not None:
        client.credentials(HTTP_AUTHORIZATION=auth)
    return client


def test_signed_in_user_creates_a_token_on_the_mall_host(mall, client_at):
    user = mall.users["shopper"]
    resp = client_at(None, user).post("/api/v1/tokens/", {"name": "my script"}, content_type="application/json")
    assert resp.status_code == 201
    body = resp.json()
    assert body["name"] == "my script" and body["token"].startswith("mlt_")
    token = ApiToken.objects.get(pk=body["id"])
    assert token.user == user and token.revoked_at is None
    # Only the hash is stored; the secret itself appears nowhere in the row.
    assert token.digest == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in (token.digest, token.name) and len(token.prefix) == 12
    # The new token works as a Bearer token.
    me = _api(auth=f"Bearer {body['token']}").get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["email"] == user.email


def test_token_creation_needs_a_signed_in_user_and_a_name(mall, client_at):
    resp = client_at(None, None).post("/api/v1/tokens/", {"name": "x"}, content_type="application/json")
    assert resp.status_code in (401, 403) and resp.json()["code"] == "not_authenticated"
    resp = client_at(None, mall.users["shopper"]).post("/api/v1/tokens/", {}, content_type="application/json")
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid" and resp.json()["field"] == "name"
    assert not ApiToken.objects.filter(user=mall.users["shopper"]).exists()


def test_a_store_token_carries_the_users_roles_there_and_works_nowhere_else(mall):
    _, secret = api_token_create(user=mall.users["acme:warehouse"], name="wms", merchant=mall.acme)
    at_acme = _api("acme.localhost", f"Bearer {secret}").get("/api/v1/me/").json()
    assert (at_acme["merchant"], at_acme["roles"]) == ("acme", ["warehouse"])
    for host in ("globex.localhost", "localhost"):
        resp = _api(host, f"Bearer {secret}").get("/api/v1/me/")
        assert resp.status_code == 401 and resp.json()["code"] == "authentication_failed"


def test_a_mall_token_never_acts_at_a_store_even_for_its_owner(mall):
    _, secret = api_token_create(user=mall.users["acme:owner"], name="shopping")
    assert _api(auth=f"Bearer {secret}").get("/api/v1/me/").status_code == 200
    resp = _api("acme.localhost", f"Bearer {secret}").get("/api/v1/merchant/")
    assert resp.status_code == 401 and resp.json()["message"] == "This token is for the mall host only."


def test_a_read_only_token_reads_and_cannot_write(mall):
    from catalog.models import Product
    from core.tenancy import in_merchant_schema

    _, secret = api_token_create(user=mall.users["acme:manager"], name="reporting", merchant=mall.acme, read_only=True)
    api = _api("acme.localhost", f"Bearer {secret}")
    assert api.get("/api/v1/catalog/products/").status_code == 200
    resp = api.post("/api/v1/catalog/products/", {"name": "Sneaky", "variants": [{"sku": "RO-1", "price": "1"}]}, format="json")
    assert resp.status_code == 403 and resp.json()["message"] == "This token is read-only."
    with in_merchant_schema(mall.acme):
        assert not Product.objects.filter(name="Sneaky").exists()


def test_a_token_cannot_mint_tokens(mall):
    _, secret = api_token_create(user=mall.users["shopper"], name="script")
    resp = _api(auth=f"Bearer {secret}").post("/api/v1/tokens/", {"name": "child"}, format="json")
    assert resp.status_code == 403 and "cannot create tokens" in resp.json()["message"]
    assert not ApiToken.objects.filter(user=mall.users["shopper"], name="child").exists()


def test_the_store_token_page_creates_store_tokens_and_only_for_roles_with_tokens_manage(mall):
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        api_token_create(user=mall.users["acme:warehouse"], name="x", merchant=mall.acme, actor=mall.users["acme:warehouse"])
    with pytest.raises(PermissionDenied):
        api_token_create(user=mall.users["acme:owner"], name="x", merchant=mall.acme, actor=mall.users["acme:manager"])
    assert not ApiToken.objects.filter(name="x").exists()


def test_an_owner_revokes_another_staff_members_store_token_and_a_manager_cannot(mall):
    from core.errors import PermissionDenied

    token, _ = api_token_create(user=mall.users["acme:manager"], name="mgr", merchant=mall.acme)
    with pytest.raises(PermissionDenied):
        api_token_revoke(token=token, actor=mall.users["acme:finance"])
    with pytest.raises(PermissionDenied):
        api_token_revoke(token=token, actor=mall.users["globex:owner"])
    token.refresh_from_db()
    assert token.revoked_at is None
    api_token_revoke(token=token, actor=mall.users["acme:owner"])
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_revoked_token_gets_401_json_with_code(mall):
    token, secret = api_token_create(user=mall.users["acme:owner"], name="old", merchant=mall.acme)
    assert _api("acme.localhost", f"Bearer {secret}").get("/api/v1/merchant/").status_code == 200
    api_token_revoke(token=token)
    resp = _api("acme.localhost", f"Bearer {secret}").get("/api/v1/merchant/")
    assert resp.status_code == 401
    assert resp["Content-Type"] == "application/json"
    assert resp.json() == {"code": "authentication_failed", "message": "Invalid or revoked API token."}
    assert resp["WWW-Authenticate"] == "Bearer"


def test_token_of_a_deactivated_user_is_refused(mall):
    from permissions.models import User

    user = User.objects.create_user("gone@example.test", "pw-123456789")
    _, secret = api_token_create(user=user, name="t")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert _api(auth=f"Bearer {secret}").get("/api/v1/me/").status_code == 401


@pytest.mark.parametrize("header,message", [
    ("Bearer", "Authorization header must be 'Bearer <token>'."),
    ("Bearer a b", "Authorization header must be 'Bearer <token>'."),
    ("Bearer mlt_not-a-real-token", "Invalid or revoked API token."),
])
def test_malformed_or_unknown_bearer_header_is_a_clear_401(mall, header, message):
    resp = _api(auth=header).get("/api/v1/me/")
    assert resp.status_code == 401
    assert resp.json() == {"code": "authentication_failed", "message": message}


def test_other_schemes_are_not_ours_and_end_as_not_authenticated(mall):
    resp = _api(auth="Basic dXNlcjpwYXNz").get("/api/v1/me/")
    assert resp.status_code == 401
    assert resp.json()["code"] == "not_authenticated"
    assert resp["WWW-Authenticate"] == "Bearer"


def test_list_and_revoke_my_tokens_over_the_api(mall):
    user = mall.users["acme:manager"]
    token, secret = api_token_create(user=user, name="ci")
    other, _ = api_token_create(user=mall.users["acme:owner"], name="not yours")
    client = _api(auth=f"Bearer {secret}")
    listed = client.get("/api/v1/tokens/").json()
    assert [t["name"] for t in listed] == ["ci"]
    assert "token" not in listed[0] and "digest" not in listed[0]
    # Someone else's token is not found, and stays alive.
    resp = client.delete(f"/api/v1/tokens/{other.pk}/")
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    other.refresh_from_db()
    assert other.revoked_at is None
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert client.get("/api/v1/tokens/").status_code == 401  # it revoked itself


# --- the tokens page --------------------------------------------------------------------------

def test_tokens_page_creates_shows_secret_once_and_revokes(mall, client_at):
    user = mall.users["acme:owner"]
    client = client_at(mall.acme, user)
    page = client.get("/accounts/tokens/")
    assert page.status_code == 200 and "No tokens yet." in page.content.decode()
    assert "Acme Outfitters" in page.content.decode()  # in the store's dashboard frame

    resp = client.post("/accounts/tokens/", {"name": "erp"})
    assert resp.status_code == 200
    token = ApiToken.objects.get(user=user, name="erp")
    secret = resp.context["new_secret"]
    assert hashlib.sha256(secret.encode()).hexdigest() == token.digest
    assert secret in resp.content.decode()
    assert secret not in client.get("/accounts/tokens/").content.decode()  # shown once
    assert _api("acme.localhost", f"Bearer {secret}").get("/api/v1/merchant/").status_code == 200

    resp = client.post("/accounts/tokens/", {"revoke": token.pk})
    assert resp.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert _api("acme.localhost", f"Bearer {secret}").get("/api/v1/merchant/").status_code == 401


def test_tokens_page_rejects_an_empty_name(mall, client_at):
    resp = client_at(mall.acme, mall.users["acme:manager"]).post("/accounts/tokens/", {"name": "  "})
    assert resp.status_code == 400 and "Give the token a name (at most 80 characters)." in resp.content.decode()
    assert not ApiToken.objects.filter(user=mall.users["acme:manager"]).exists()


def test_tokens_page_cannot_revoke_someone_elses_token(mall, client_at):
    other, _ = api_token_create(user=mall.users["acme:owner"], name="owner's")
    resp = client_at(mall.acme, mall.users["acme:manager"]).post("/accounts/tokens/", {"revoke": other.pk})
    assert resp.status_code == 400 and "No such API token." in resp.content.decode()
    other.refresh_from_db()
    assert other.revoked_at is None


@pytest.mark.parametrize("who", ["globex:owner", "acme:warehouse", "acme:finance", "shopper"])
def test_tokens_page_at_a_store_is_refused_to_non_members_and_roles_without_tokens_manage(mall, client_at, who):
    client = client_at(mall.acme, mall.users[who])
    assert client.get("/accounts/tokens/").status_code == 403
    assert client.post("/accounts/tokens/", {"name": "sneaky"}).status_code == 403
    assert not ApiToken.objects.filter(user=mall.users[who], name="sneaky").exists()


def test_tokens_page_on_the_mall_host_is_for_any_signed_in_user(mall, client_at):
    assert client_at(None, mall.users["shopper"]).get("/accounts/tokens/").status_code == 200
    anon = client_at(None, None).get("/accounts/tokens/")
    assert anon.status_code == 302 and anon["Location"].startswith("/accounts/login/")


def test_dashboard_links_to_tokens_for_owner_not_warehouse(mall, client_at):
    assert "/accounts/tokens/" in client_at(mall.acme, mall.users["acme:owner"]).get("/").content.decode()
    assert "/accounts/tokens/" not in client_at(mall.acme, mall.users["acme:warehouse"]).get("/").content.decode()
