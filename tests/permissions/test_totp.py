"""Two-step sign-in (django-otp's TOTP device): enrolment at /accounts/security/, the code after the
password (wrong codes count for the lockout), removal with a code, and the operator's requirement for
owners and operators. Codes are computed from the device's key with django-otp's own RFC 6238 code,
the way an authenticator app computes them."""
import time

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.errors import PermissionDenied
from permissions.models import AuditEntry, User
from permissions.second_factor import code_clean
from permissions.selectors import security_settings_get, totp_device_get
from permissions.services import (
    security_settings_update,
    totp_enrolment_confirm,
    totp_enrolment_start,
    user_create,
)
from tests.conftest import PASSWORD, host_of


def current_code(device) -> str:
    """The code the app shows now: TOTP over the device's key (RFC 6238, 30-second steps)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device) -> str:
    return f"{(int(current_code(device)) + 500_000) % 1_000_000:06d}"


def time_passes(device) -> None:
    """Thirty seconds later: the app shows a new code (a code is accepted once) and django-otp's back-off
    after a wrong code (1, 2, 4… seconds) is over."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0,
                                                   throttling_failure_timestamp=None)


def enrol(user) -> TOTPDevice:
    device = totp_enrolment_start(user=user)
    totp_enrolment_confirm(user=user, code=current_code(device))
    time_passes(device)
    device.refresh_from_db()
    return device


def sign_in(client, email, password=PASSWORD, path="/accounts/login/"):
    return client.post(path, {"username": email, "password": password})


def audit_rows(user, action):
    return list(AuditEntry.objects.filter(entity="user", entity_id=str(user.pk), action=action).order_by("id"))


# --- enrolment --------------------------------------------------------------------------------------

def test_enrolment_shows_a_qr_code_and_key_and_turns_on_with_a_real_code(mall, client_at):
    owner = mall.users["acme:owner"]
    client = client_at(mall.acme, owner)
    page = client.get("/accounts/security/").content.decode()
    assert 'data-testid="totp-off"' in page and totp_device_get(user=owner) is None

    assert client.post("/accounts/security/", {"action": "start"}).status_code == 302
    device = totp_device_get(user=owner, confirmed=False)
    assert device is not None and totp_device_get(user=owner) is None  # not in use until confirmed
    page = client.get("/accounts/security/").content.decode()
    assert 'data-testid="totp-qr"' in page and "<svg" in page  # drawn here: no image from another host
    from base64 import b32encode

    key = b32encode(device.bin_key).decode().rstrip("=")
    assert " ".join(key[i:i + 4] for i in range(0, len(key), 4)) in page

    bad = client.post("/accounts/security/", {"action": "confirm", "code": wrong_code(device)})
    assert bad.status_code == 400 and "That code is not right" in bad.content.decode()
    assert totp_device_get(user=owner) is None
    assert client.post("/accounts/security/", {"action": "confirm", "code": "١٢٣٤٥٦"}).status_code == 400
    time_passes(device)

    ok = client.post("/accounts/security/", {"action": "confirm", "code": current_code(device)})
    assert ok.status_code == 302
    assert totp_device_get(user=owner).pk == device.pk
    assert client.session.get("otp_device_id") == device.persistent_id  # this session showed a code
    assert 'data-testid="totp-on"' in client.get("/accounts/security/").content.decode()
    [row] = audit_rows(owner, "totp_enrolled")
    assert (row.schema_name, row.actor_id, row.after) == (mall.acme.schema_name, owner.pk, {"device": "Authenticator app"})
    # a second enrolment on top of a device in use is refused
    assert client.post("/accounts/security/", {"action": "start"}).status_code == 400


def test_the_security_page_is_for_signed_in_users_on_every_host(mall, client_at):
    assert client_at(None, None).get("/accounts/security/")["Location"].startswith("/accounts/login/")
    assert client_at(None, mall.users["shopper"]).get("/accounts/security/").status_code == 200
    assert client_at(mall.globex, mall.users["globex:warehouse"]).get("/accounts/security/").status_code == 200


def test_code_input_is_ascii_digits_only():
    assert code_clean("123 456") == "123456"
    assert code_clean("١٢٣٤٥٦") is None and code_clean("12345") is None and code_clean("1" * 40) is None
    assert code_clean("12345\x00") is None and code_clean(None) is None


# --- signing in -------------------------------------------------------------------------------------

def test_sign_in_asks_for_the_code_and_refuses_a_wrong_one(mall):
    user = mall.users["acme:manager"]
    device = enrol(user)
    client = Client(HTTP_HOST=host_of(mall.acme))
    resp = client.post("/accounts/login/?next=/suborders/", {"username": user.email, "password": PASSWORD})
    assert resp.status_code == 200 and 'data-testid="second-factor"' in resp.content.decode()
    assert "_auth_user_id" not in client.session  # the password alone signs nobody in
    assert client.get("/suborders/").status_code == 302
    assert audit_rows(user, "login") == []

    resp = client.post("/accounts/login/?next=/suborders/", {"otp_token": wrong_code(device)})
    assert resp.status_code == 200 and "That code is not right" in resp.content.decode()
    assert "_auth_user_id" not in client.session
    failed = AuditEntry.objects.filter(action="login_failed", entity_id=user.email).order_by("-id").first()
    assert failed is not None and failed.after == {"email": user.email, "step": "code"}

    time_passes(device)
    resp = client.post("/accounts/login/?next=/suborders/", {"otp_token": current_code(device)})
    assert resp.status_code == 302 and resp["Location"] == "/suborders/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session["otp_device_id"] == device.persistent_id
    assert len(audit_rows(user, "login")) == 1
    assert client.get("/suborders/").status_code == 200


def test_a_code_is_accepted_once(mall):
    user = mall.users["acme:customer_service"]
    device = enrol(user)
    first = Client(HTTP_HOST=host_of(mall.acme))
    sign_in(first, user.email)
    code = current_code(device)
    assert first.post("/accounts/login/", {"otp_token": code}).status_code == 302
    second = Client(HTTP_HOST=host_of(mall.acme))
    sign_in(second, user.email)
    resp = second.post("/accounts/login/", {"otp_token": code})  # replayed within its 30 seconds
    assert resp.status_code == 200 and "_auth_user_id" not in second.session


def test_a_user_without_a_device_signs_in_with_the_password_alone(mall):
    client = Client(HTTP_HOST=host_of(mall.acme))
    resp = sign_in(client, "finance@acme.test")
    assert resp.status_code == 302 and client.session["_auth_user_id"] == str(mall.users["acme:finance"].pk)


def test_wrong_codes_count_as_failed_sign_ins_and_lock_the_account(mall, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own back-off would hold the guesses back first
    user = mall.users["globex:manager"]
    device = enrol(user)
    client = Client(HTTP_HOST=host_of(mall.globex))
    assert sign_in(client, user.email).status_code == 200
    for _i in range(settings.AXES_FAILURE_LIMIT - 1):
        resp = client.post("/accounts/login/", {"otp_token": wrong_code(device)})
        assert resp.status_code == 200 and "That code is not right" in resp.content.decode()
    resp = client.post("/accounts/login/", {"otp_token": wrong_code(device)})
    assert resp.status_code == 429 and "Too many failed sign-ins" in resp.content.decode()
    # locked: the half-done sign-in is dropped, and the right password no longer gets in, on any host
    resp = client.post("/accounts/login/", {"otp_token": current_code(device)})
    assert resp.status_code == 302 and resp["Location"] == "/accounts/login/" and "_auth_user_id" not in client.session
    assert sign_in(Client(HTTP_HOST=host_of(mall.globex)), user.email).status_code == 429
    assert sign_in(Client(HTTP_HOST="localhost"), user.email).status_code == 429
    assert audit_rows(user, "login") == []


def test_a_right_password_does_not_clear_earlier_wrong_codes(mall, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = mall.users["initech:manager"]
    device = enrol(user)
    client = Client(HTTP_HOST=host_of(mall.initech))
    for _i in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, user.email).status_code == 200  # the password again, each time
        assert client.post("/accounts/login/", {"otp_token": wrong_code(device)}).status_code == 200
    sign_in(client, user.email)
    assert client.post("/accounts/login/", {"otp_token": wrong_code(device)}).status_code == 429


def test_the_super_admin_sign_in_asks_for_the_code_too(mall):
    operator = mall.users["operator"]
    device = enrol(operator)
    client = Client(HTTP_HOST="localhost")
    resp = sign_in(client, operator.email, path="/admin/login/?next=/admin/")
    assert resp.status_code == 200 and 'data-testid="second-factor"' in resp.content.decode()
    assert client.get("/admin/").status_code == 302
    resp = client.post("/admin/login/?next=/admin/", {"otp_token": current_code(device)})
    assert resp.status_code == 302 and resp["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- removing -----------------------------------------------------------------------------------------

def test_removing_needs_a_current_code_and_is_audited(mall, client_at):
    owner = mall.users["globex:owner"]
    device = enrol(owner)
    client = client_at(mall.globex, owner)
    assert client.post("/accounts/security/", {"action": "remove"}).status_code == 400
    assert client.post("/accounts/security/", {"action": "remove", "code": wrong_code(device)}).status_code == 400
    assert totp_device_get(user=owner) is not None and audit_rows(owner, "totp_removed") == []
    time_passes(device)
    resp = client.post("/accounts/security/", {"action": "remove", "code": current_code(device)})
    assert resp.status_code == 302 and totp_device_get(user=owner) is None
    assert not TOTPDevice.objects.filter(user=owner).exists()
    [row] = audit_rows(owner, "totp_removed")
    assert (row.schema_name, row.actor_id) == (mall.globex.schema_name, owner.pk)
    # signing in is back to the password alone
    fresh = Client(HTTP_HOST=host_of(mall.globex))
    assert sign_in(fresh, owner.email).status_code == 302


def test_an_admin_removes_a_lost_device_in_the_super_admin_audited(mall, client_at):
    user = mall.users["initech:owner"]
    device = enrol(user)
    admin = client_at(None, mall.users["operator"])
    assert "Authenticator app" in admin.get("/admin/otp_totp/totpdevice/").content.decode()
    page = admin.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").content.decode()
    assert device.key not in page  # the key is never shown back
    resp = admin.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert resp.status_code == 302 and totp_device_get(user=user) is None
    [row] = audit_rows(user, "totp_removed")
    assert (row.schema_name, row.actor_id) == ("public", mall.users["operator"].pk)


# --- the operator's requirement ----------------------------------------------------------------------

def test_required_an_owner_without_a_device_is_sent_to_enrol_and_a_warehouse_user_is_not(mall, client_at, api_at):
    owner, warehouse = mall.users["acme:owner"], mall.users["acme:warehouse"]
    client = client_at(mall.acme, owner)
    assert client.get("/suborders/").status_code == 200  # not required yet

    security_settings_update(require_second_factor=True, actor=mall.users["operator"])
    resp = client.get("/suborders/")
    assert resp.status_code == 302 and resp["Location"] == "/accounts/security/?next=/suborders/"
    for path in ("/", "/catalog/products/", "/accounts/tokens/"):
        assert client.get(path).status_code == 302, path
    api = client.get("/api/v1/suborders/")
    assert api.status_code == 403 and api.json()["code"] == "second_factor_required"
    assert api_at(mall.acme, owner).get("/api/v1/suborders/").status_code == 200  # tokens are not affected
    # an owner of any store, on any host: the mall host too
    assert client_at(None, mall.users["globex:owner"]).get("/").status_code == 302
    assert client_at(mall.acme, warehouse).get("/suborders/").status_code == 200
    assert client_at(None, mall.users["shopper"]).get("/").status_code == 200

    page = client.get("/accounts/security/?next=/suborders/").content.decode()
    assert 'data-testid="second-factor-required"' in page
    client.post("/accounts/security/", {"action": "start", "next": "/suborders/"})
    device = totp_device_get(user=owner, confirmed=False)
    resp = client.post("/accounts/security/", {"action": "confirm", "code": current_code(device), "next": "/suborders/"})
    assert resp.status_code == 302 and resp["Location"] == "/suborders/"
    assert client.get("/suborders/").status_code == 200


def test_required_an_operator_without_a_device_reaches_neither_console_nor_admin(mall, client_at):
    security_settings_update(require_second_factor=True, actor=None)
    client = client_at(None, mall.users["operator"])
    for path in ("/console/", "/admin/", "/console/security/"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/security/"), path
    assert client.get("/accounts/security/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302


def test_the_security_setting_is_for_admin_operators_only(mall, client_at):
    admin = mall.users["operator"]
    finance = user_create(email="fin-2fa@mallard.test", password=PASSWORD, platform_roles=["finance"])
    support = user_create(email="sup-2fa@mallard.test", password=PASSWORD, platform_roles=["support"])
    for operator in (finance, support):
        client = client_at(None, operator)
        assert client.get("/console/security/").status_code == 403
        assert client.post("/console/security/", {"require_second_factor": "on"}).status_code == 403
        assert "/console/security/" not in client.get("/console/").content.decode()
        with pytest.raises(PermissionDenied):
            security_settings_update(require_second_factor=True, actor=operator)
    assert security_settings_get().require_second_factor is False
    owner = client_at(None, mall.users["acme:owner"]).get("/console/security/")
    assert owner.status_code == 302 and owner["Location"].startswith("/admin/login/")

    client = client_at(None, admin)
    assert "/console/security/" in client.get("/console/").content.decode()
    assert client.get("/console/security/").status_code == 200
    assert client.post("/console/security/", {"require_second_factor": "on"}).status_code == 302
    assert security_settings_get().require_second_factor is True
    [row] = AuditEntry.objects.filter(entity="security_settings", action="update")
    assert (row.schema_name, row.actor_id, row.after) == ("public", admin.pk, {"require_second_factor": True})


def test_an_inactive_user_between_password_and_code_is_not_signed_in(mall):
    user = user_create(email="leaver-2fa@acme.test", password=PASSWORD)
    device = enrol(user)
    client = Client(HTTP_HOST="localhost")
    sign_in(client, user.email)
    User.objects.filter(pk=user.pk).update(is_active=False)
    resp = client.post("/accounts/login/", {"otp_token": current_code(device)})
    assert resp.status_code == 302 and resp["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_a_pending_sign_in_expires(mall, settings):
    user = mall.users["globex:finance"]
    device = enrol(user)
    client = Client(HTTP_HOST="localhost")
    sign_in(client, user.email)
    session = client.session
    session["mallard_second_factor"]["at"] -= settings.SECOND_FACTOR_PENDING_SECONDS + 1
    session.save()
    resp = client.post("/accounts/login/", {"otp_token": current_code(device)})
    assert resp.status_code == 302 and resp["Location"] == "/accounts/login/" and "_auth_user_id" not in client.session
