"""The surface, hardened: hostile input is a 400 naming the field (never a 500, never seconds of CPU),
sign-in lockout per email and per IP, security headers, request ids, host names in any case."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from catalog.models import Product
from core.errors import ValidationFailed
from core.inputs import parse_decimal, parse_id, parse_int
from core.money import Money
from core.tenancy import in_merchant_schema
from orders.models import CartLine
from tests.conftest import PASSWORD, host_of
from tests.orders.factories import stock_item

# ---------------------------------------------------------------- the parsing helpers


@pytest.mark.parametrize("text", ["1e400000", "1e1000000", "-1e-1000000", "9" * 41, "1" + "0" * 39, "NaN", "Infinity",
                                  "１２", "1\x002", "1e31", ""])
def test_amounts_are_bounded_before_decimal_runs(text):
    with pytest.raises(ValidationFailed) as err:
        Money.parse(text, "CNY", field="price")
    assert err.value.field == "price" and err.value.status == 400


def test_amounts_within_bounds_still_parse():
    assert Money.parse("12.34", "CNY").minor == 1234
    assert Money.parse("1.5e2", "CNY").minor == 15000
    assert Money.parse(7, "JPY").minor == 7
    with pytest.raises(ValidationFailed, match="too large"):
        Money.parse("1e20", "CNY")  # a bigint could hold it; no price is that large
    assert parse_decimal("-0.5", field="x") == parse_decimal(".5", field="x") * -1


@pytest.mark.parametrize("text", ["²", "١٢", "1²", "", " ", "1.0", "+", "9" * 19, "1\x00", "0x10"])
def test_ids_take_ascii_digits_only(text):
    with pytest.raises(ValidationFailed) as err:
        parse_id(text, field="merchant_id")
    assert err.value.field == "merchant_id"


def test_whole_numbers():
    assert parse_int(" 42 ", field="q") == 42
    assert parse_int("-3", field="q", minimum=-5) == -3
    with pytest.raises(ValidationFailed, match="at most 10"):
        parse_int("11", field="q", maximum=10)
    with pytest.raises(ValidationFailed):
        parse_int(True, field="q")


# ---------------------------------------------------------------- pages and API: 400 naming the field


def _field_of(resp) -> str | None:
    if resp["Content-Type"].startswith("application/json"):
        return resp.json().get("field")
    found = re.search(r"<code>([^<]*)</code>", resp.content.decode())
    return found.group(1) if found else None


@pytest.mark.parametrize("param", ["q", "store", "category", "after"])
def test_nul_in_a_storefront_query_is_a_400_naming_it(mall, client_at, param):
    resp = client_at(None).get("/products/", {param: "a\x00b"})
    assert resp.status_code == 400 and _field_of(resp) == param


def test_nul_on_the_api_is_a_json_400_naming_it(mall, client_at, api_at):
    resp = client_at(None).get("/api/v1/listings/", {"q": "\x00"})
    assert resp.status_code == 400
    assert resp.json() == {"code": "invalid", "message": "The input contains a NUL character, which is not allowed.",
                           "field": "q"}
    api = api_at(mall.acme, mall.users["acme:owner"])
    before = _products(mall.acme)
    resp = api.post("/api/v1/catalog/products/", {"name": "x\u0000y", "variants": []}, format="json")
    assert resp.status_code == 400 and resp.json()["code"] == "invalid"
    assert _products(mall.acme) == before
    # an escaped backslash followed by the text u0000 is not a NUL
    resp = api.post("/api/v1/catalog/products/", data='{"name": "a\\\\u0000", "variants": []}', content_type="application/json")
    assert resp.status_code != 400 or "NUL" not in resp.json()["message"]


def test_nul_in_a_form_field_name_or_value_is_refused_before_the_view(mall, client_at):
    client = client_at(mall.acme, mall.users["acme:owner"])
    before = _products(mall.acme)
    for data in ({"name": "Jacket\x00", "status": "active"}, {"na\x00me": "Jacket"}):
        resp = client.post("/catalog/products/new/", data)
        assert resp.status_code == 400, data
        assert "NUL" in resp.content.decode()
    assert _products(mall.acme) == before


@pytest.mark.parametrize("price", ["1e400000", "1e1000000", "1" * 5000])
def test_huge_prices_on_the_api_are_a_400_and_write_nothing(mall, api_at, price):
    api = api_at(mall.acme, mall.users["acme:owner"])
    before = _products(mall.acme)
    resp = api.post("/api/v1/catalog/products/", {"name": "Jacket", "variants": [
        {"sku": "HUGE-1", "price": price, "currency": "CNY"}]}, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == "variants[0].price", resp.json()
    assert _products(mall.acme) == before


def test_huge_price_on_the_product_page_is_a_form_error(mall, client_at):
    client = client_at(mall.acme, mall.users["acme:owner"])
    before = _products(mall.acme)
    resp = client.post("/catalog/products/new/", {
        "name": "Jacket", "status": "active", "v-TOTAL_FORMS": "1", "v-INITIAL_FORMS": "0",
        "v-0-sku": "HUGE-2", "v-0-price": "1e1000000", "v-0-currency": "CNY"})
    assert resp.status_code == 200 and "is not an amount" in resp.content.decode()
    assert _products(mall.acme) == before


@pytest.mark.parametrize("value", ["²", "١٢", "12²"])
def test_non_ascii_digits_in_api_whole_numbers_are_a_400(mall, api_at, value):
    api = api_at(mall.acme, mall.users["acme:owner"])
    resp = api.post("/api/v1/catalog/products/", {"name": "Jacket", "variants": [
        {"sku": "DIGIT-1", "price": "1.00", "currency": "CNY", "weight_g": value}]}, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == "variants[0].weight_g"
    resp = api.get("/api/v1/catalog/products/", {"category": value})
    assert resp.status_code == 400 and resp.json()["field"] == "category"


def test_non_ascii_digits_in_cart_and_checkout_are_a_400_naming_the_field(mall, client_at):
    item = stock_item(mall.acme, tag="hard")
    client = client_at(None, mall.users["shopper"])
    resp = client.post("/cart/add/", {"merchant_id": item["merchant_id"], "variant_id": item["variant_id"], "quantity": "²"})
    assert resp.status_code == 400 and _field_of(resp) == "quantity"
    resp = client.post("/cart/add/", {"merchant_id": "١", "variant_id": item["variant_id"], "quantity": "1"})
    assert resp.status_code == 400 and _field_of(resp) == "merchant_id"
    assert not CartLine.objects.filter(cart__shopper=mall.users["shopper"], variant_id=item["variant_id"]).exists()

    resp = client.post("/cart/add/", {"merchant_id": item["merchant_id"], "variant_id": item["variant_id"], "quantity": "1"})
    assert resp.status_code == 302
    line = CartLine.objects.get(cart__shopper=mall.users["shopper"], variant_id=item["variant_id"])
    resp = client.post(f"/cart/lines/{line.pk}/", {"quantity": "٣"})
    assert resp.status_code == 400 and _field_of(resp) == "quantity"
    line.refresh_from_db()
    assert line.quantity == 1

    field = f"ship_{item['merchant_id']}"
    for value in ("²", "9" * 30):
        resp = client.get("/cart/", {field: value})
        assert resp.status_code == 400 and _field_of(resp) == field
    resp = client.get("/cart/", {"ship_²": "1"})
    assert resp.status_code == 400 and _field_of(resp) == "ship_²"
    resp = client.post("/checkout/", {field: "²", "region": "SH"})
    assert resp.status_code == 400 and _field_of(resp) == field


def test_checkout_api_refuses_non_ascii_merchant_ids_in_shipping_methods(mall, api_at):
    api = api_at(None, mall.users["shopper"])
    resp = api.post("/api/v1/checkout/", {"lines": [{"merchant_id": mall.acme.pk, "variant_id": 1, "quantity": 1}],
                                          "shipping_address": {}, "shipping_methods": {"١": 1}},
                    format="json", HTTP_IDEMPOTENCY_KEY="hard-1")
    assert resp.status_code == 400


# ---------------------------------------------------------------- sizes: formsets and bodies


def test_a_formset_claiming_100000_rows_builds_at_most_the_cap(mall, client_at, monkeypatch):
    from catalog import views

    built = []
    original = views.VariantForm.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(views.VariantForm, "__init__", counting)
    client = client_at(mall.acme, mall.users["acme:owner"])
    before = _products(mall.acme)
    resp = client.post("/catalog/products/new/", {"name": "Jacket", "status": "active",
                                                  "v-TOTAL_FORMS": "100000", "v-INITIAL_FORMS": "0"})
    assert resp.status_code == 200
    assert f"Please submit at most {views.MAX_VARIANT_ROWS} forms." in resp.content.decode()
    assert len(built) <= views.MAX_VARIANT_ROWS + 1  # (+1: the empty form the template may render)
    assert _products(mall.acme) == before


def test_oversized_bodies_and_too_many_fields_get_a_clear_413(mall, client_at):
    client = client_at(mall.acme, mall.users["acme:owner"])
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    resp = client.post("/catalog/products/new/", {"name": big})
    assert resp.status_code == 413 and "larger than this site accepts" in resp.content.decode()
    resp = client.post("/api/v1/catalog/products/", data=json.dumps({"name": big}), content_type="application/json")
    assert resp.status_code == 413 and resp.json()["code"] == "request_too_large"
    many = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    resp = client.post("/catalog/products/new/", many)
    assert resp.status_code == 413


# ---------------------------------------------------------------- sign-in lockout


def _sign_in(client, email, password, path="/accounts/login/"):
    return client.post(path, {"username": email, "password": password})


def _age_attempts(minutes: int) -> None:
    """Time passes for the lockout: every recorded failure moves `minutes` into the past."""
    from axes.models import AccessAttempt
    from django.db.models import F

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_five_failures_lock_the_account_until_the_cool_off_ends(mall):
    client = Client(HTTP_HOST=host_of(mall.acme))
    for _i in range(settings.AXES_FAILURE_LIMIT - 1):
        resp = _sign_in(client, "owner@acme.test", "wrong")
        assert resp.status_code == 200 and 'class="error" role="alert"' in resp.content.decode()
    resp = _sign_in(client, "owner@acme.test", "wrong")
    assert resp.status_code == 429
    resp = _sign_in(client, "OWNER@acme.test", PASSWORD)  # the right password, any case: still refused
    assert resp.status_code == 429
    body = resp.content.decode()
    assert "Too many failed sign-ins. Sign-in is blocked for 15 minutes" in body and "Traceback" not in body
    assert resp["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session
    # the lock holds on every host: the mall host too
    assert _sign_in(Client(HTTP_HOST="localhost"), "owner@acme.test", PASSWORD).status_code == 429

    _age_attempts(14)
    assert _sign_in(client, "owner@acme.test", PASSWORD).status_code == 429
    _age_attempts(2)  # 16 minutes after the last failure
    resp = _sign_in(client, "owner@acme.test", PASSWORD)
    assert resp.status_code == 302 and client.session["_auth_user_id"] == str(mall.users["acme:owner"].pk)


def test_unknown_email_gets_the_same_answers_as_a_known_one(mall):
    known, unknown = Client(HTTP_HOST="localhost"), Client(HTTP_HOST="localhost")

    def answer(resp):
        return resp.status_code, re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", resp.content.decode()).replace(
            "nobody-here@example.test", "EMAIL").replace("shopper@example.test", "EMAIL")

    for _i in range(settings.AXES_FAILURE_LIMIT + 1):
        a = answer(_sign_in(known, "shopper@example.test", "wrong"))
        b = answer(_sign_in(unknown, "nobody-here@example.test", "wrong"))
        assert a == b
    assert a[0] == 429


def test_the_password_hasher_runs_once_for_known_and_unknown_emails(mall, monkeypatch):
    from django.contrib.auth import hashers

    calls = []
    hasher = hashers.get_hasher()
    original = type(hasher).encode
    monkeypatch.setattr(type(hasher), "encode", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    _sign_in(Client(HTTP_HOST="localhost"), "shopper@example.test", "wrong")
    known = len(calls)
    _sign_in(Client(HTTP_HOST="localhost"), "nobody-here@example.test", "wrong")
    assert known == 1 and len(calls) - known == 1


def test_one_ip_trying_many_emails_is_locked_but_not_others(mall):
    attacker = Client(HTTP_HOST="localhost", REMOTE_ADDR="203.0.113.9")
    for i in range(settings.AXES_IP_FAILURE_LIMIT):
        resp = _sign_in(attacker, f"guess{i}@example.test", "wrong")
    assert resp.status_code == 429
    assert _sign_in(attacker, "shopper@example.test", PASSWORD).status_code == 429
    elsewhere = Client(HTTP_HOST="localhost", REMOTE_ADDR="198.51.100.7")
    assert _sign_in(elsewhere, "shopper@example.test", PASSWORD).status_code == 302


def test_signing_in_to_your_own_account_does_not_clear_another_accounts_failures(mall):
    attacker = Client(HTTP_HOST="localhost", REMOTE_ADDR="203.0.113.10")
    for _i in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(attacker, "owner@globex.test", "wrong")
    assert _sign_in(attacker, "nobody@example.test", PASSWORD).status_code == 302  # the attacker's own account
    assert _sign_in(attacker, "owner@globex.test", "wrong").status_code == 429


def test_the_admin_sign_in_is_locked_too(mall):
    client = Client(HTTP_HOST="localhost")
    for _i in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "operator@mallard.test", "wrong", path="/admin/login/")
    resp = _sign_in(client, "operator@mallard.test", PASSWORD, path="/admin/login/")
    assert resp.status_code == 429 and "_auth_user_id" not in client.session


def test_a_successful_sign_in_clears_your_own_typos(mall):
    client = Client(HTTP_HOST="localhost")
    for _i in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, "shopper@example.test", "wrong")
    assert _sign_in(client, "shopper@example.test", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _i in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, "shopper@example.test", "wrong").status_code == 200


# ---------------------------------------------------------------- headers, request ids, health, hosts


def test_security_headers_on_pages(mall, client_at):
    resp = client_at(None).get("/products/")
    csp = resp["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert resp["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in resp  # the demo on http://localhost


def test_inline_scripts_carry_the_requests_nonce(mall, client_at):
    from catalog.models import ImportJob

    with in_merchant_schema(mall.acme):
        job = ImportJob.objects.create(kind="csv", status="queued", filename="x.csv")
    resp = client_at(mall.acme, mall.users["acme:owner"]).get(f"/catalog/import/{job.pk}/")
    nonce = re.search(r"'nonce-([^']+)'", resp["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in resp.content.decode()


def test_templates_have_no_inline_event_handlers_or_unnonced_scripts():
    root = Path(settings.BASE_DIR)
    offenders = []
    for path in root.rglob("templates/**/*.html"):
        if ".venv" in path.parts or "var" in path.parts:
            continue
        text = path.read_text()
        if re.search(r"\son[a-z]+\s*=", text) or re.search(r"<script(?![^>]*\b(src|nonce)=)[^>]*>", text):
            offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_hsts_and_secure_cookies_over_https(mall):
    with override_settings(SECURE_HSTS_SECONDS=31536000, SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True):
        client = Client(HTTP_HOST="localhost")
        resp = client.post("/accounts/login/", {"username": "shopper@example.test", "password": PASSWORD}, secure=True)
        assert resp.status_code == 302
        assert resp["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert resp.cookies["sessionid"]["secure"] is True


@pytest.mark.parametrize("sent,kept", [
    ("abc-123_X.y", True), ("a" * 64, True), ("a" * 65, False), ("a b", False), ("<script>", False),
    ("x\r\nSet-Cookie: a=b", False), ("", False), ("é", False),
])
def test_request_id_is_kept_only_when_it_is_a_short_safe_token(mall, client_at, sent, kept):
    resp = client_at(None).get("/healthz", HTTP_X_REQUEST_ID=sent)
    if kept:
        assert resp["X-Request-Id"] == sent
    else:
        assert re.fullmatch(r"[0-9a-f]{16}", resp["X-Request-Id"])


def test_upper_case_host_routes_to_the_merchant(mall):
    client = Client(HTTP_HOST=host_of(mall.acme).upper())
    client.force_login(mall.users["acme:owner"])
    resp = client.get("/")
    assert resp.status_code == 200 and "Acme Outfitters" in resp.content.decode()
    assert Client(HTTP_HOST="LocalHost").get("/healthz").json() == {"status": "ok"}


def _products(merchant) -> int:
    with in_merchant_schema(merchant):
        return Product.objects.count()
