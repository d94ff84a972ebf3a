"""Shopper accounts: sign-up with email verification (the link read from the email backend), password
reset, change of email (re-verified), address book pages, guest order lookup (the same answer for a wrong
email and an unknown order), signed order links in emails (with the port) and claiming guest orders."""
import re

import pytest
from django.core import mail

from accounts import services
from accounts.models import Address
from orders.models import Order
from orders.services import CheckoutLine, order_checkout
from permissions.models import User
from tests.orders.factories import ADDRESS, stock_item

PASSWORD = "a-long-pass-123"


def _link(message, pattern=r"http://\S+") -> str:
    return re.search(pattern, message.body).group(0)


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _sign_up(client, email, **extra):
    return client.post("/account/signup/", {"email": email, "password": PASSWORD, "password2": PASSWORD, **extra})


def test_sign_up_sends_a_link_that_verifies_the_email(mall, client_at):
    c = client_at(None)
    resp = _sign_up(c, "New.Shopper@Example.test", full_name="New Shopper", language="zh-hans")
    assert resp.status_code == 302 and resp["Location"] == "/account/"
    user = User.objects.get(email="new.shopper@example.test")
    assert user.email_verified_at is None and user.preferred_language == "zh-hans"
    page = c.get("/account/").content.decode()
    assert 'data-testid="verify-banner"' in page and 'data-testid="email-unverified"' in page  # signed in, not verified
    [message] = mail.outbox
    assert message.to == ["new.shopper@example.test"] and "Mallard" in message.subject
    link = _link(message)
    assert link.startswith("http://localhost/account/verify/")
    resp = c.get(_path(link))
    assert resp.status_code == 302
    user.refresh_from_db()
    assert user.email_verified_at is not None
    assert 'data-testid="verify-banner"' not in c.get("/account/").content.decode()
    assert c.get(_path(link)).status_code == 302  # opening it again changes nothing


def test_sign_up_refusals_name_the_field_and_create_nothing(mall, client_at):
    c = client_at(None)
    before = User.objects.count()
    for data, field in [({"email": "not-an-email"}, "email"), ({"email": "short@example.test", "password": "x", "password2": "x"}, "password"),
                        ({"email": mall.users["shopper"].email}, "email")]:
        resp = c.post("/account/signup/", {"password": PASSWORD, "password2": PASSWORD, **data})
        assert resp.status_code == 400 and f'data-field="{field}"' in resp.content.decode()
    assert User.objects.count() == before and mail.outbox == []


def test_a_tampered_or_expired_verification_link_is_refused(mall, client_at, monkeypatch):
    c = client_at(None)
    _sign_up(c, "late@example.test")
    link = _path(_link(mail.outbox[0]))
    assert c.get(link[:-3] + "xx/").status_code == 400
    monkeypatch.setattr(services, "VERIFY_DAYS", -1)  # every link is older than its validity
    assert c.get(link).status_code == 400
    assert User.objects.get(email="late@example.test").email_verified_at is None


def test_password_reset_by_email(mall, client_at):
    user = User.objects.create_user("forgetful@example.test", "old-password-1")
    c = client_at(None)
    resp = c.post("/account/password/reset/", {"email": "forgetful@example.test"})
    assert resp.status_code == 302
    unknown = c.post("/account/password/reset/", {"email": "nobody-here@example.test"})
    assert unknown.status_code == 302 and unknown["Location"] == resp["Location"]  # the same answer
    [message] = mail.outbox
    link = _path(_link(message))
    resp = c.get(link)  # Django moves the token into the session and redirects
    assert resp.status_code == 302
    form_url = resp["Location"]
    resp = c.post(form_url, {"new_password1": "brand-new-pass-9", "new_password2": "brand-new-pass-9"})
    assert resp.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-pass-9")
    assert c.get(link).status_code == 200 and "reset-invalid" in c.get(link, follow=True).content.decode()  # used once


def test_change_password_needs_the_old_one(mall, client_at):
    user = User.objects.create_user("changer@example.test", "old-password-1")
    c = client_at(None, user)
    bad = c.post("/account/password/", {"old_password": "wrong", "new_password1": "new-password-22", "new_password2": "new-password-22"})
    assert bad.status_code == 200 and 'data-testid="error-old_password"' in bad.content.decode()
    ok = c.post("/account/password/", {"old_password": "old-password-1", "new_password1": "new-password-22",
                                       "new_password2": "new-password-22"})
    assert ok.status_code == 302
    user.refresh_from_db()
    assert user.check_password("new-password-22")


def test_changing_the_email_waits_for_the_new_address_to_be_verified(mall, client_at):
    user = User.objects.create_user("before@example.test", "pw-123456789")
    User.objects.filter(pk=user.pk).update(email_verified_at="2026-01-01T00:00:00Z")
    c = client_at(None, user)
    wrong_pw = c.post("/account/", {"action": "email", "email": "after@example.test", "password": "nope"})
    assert wrong_pw.status_code == 400 and 'data-field="password"' in wrong_pw.content.decode()
    taken = c.post("/account/", {"action": "email", "email": mall.users["shopper"].email, "password": "pw-123456789"})
    assert taken.status_code == 400 and 'data-field="email"' in taken.content.decode()
    assert mail.outbox == []
    resp = c.post("/account/", {"action": "email", "email": "After@example.test", "password": "pw-123456789"})
    assert resp.status_code == 302
    [message] = mail.outbox
    assert message.to == ["after@example.test"]
    user.refresh_from_db()
    assert user.email == "before@example.test"  # unchanged until the link is opened
    c.get(_path(_link(message)))
    user.refresh_from_db()
    assert user.email == "after@example.test" and user.email_verified_at is not None


def test_address_book_pages_save_a_chinese_address_from_the_selects(mall, client_at):
    user = mall.users["shopper"]
    c = client_at(None, user)
    assert c.get("/account/addresses/divisions/").json()["divisions"][8] == ["31", "上海市"]
    assert ["3101", "市辖区"] in c.get("/account/addresses/divisions/", {"parent": "31"}).json()["divisions"]
    assert ["310115", "浦东新区"] in c.get("/account/addresses/divisions/", {"parent": "3101"}).json()["divisions"]
    assert c.get("/account/addresses/divisions/", {"parent": "x1"}).status_code == 400
    form = {"name": "李雷", "phone": "13800138000", "country": "CN", "province": "31", "city": "市辖区", "district": "浦东新区",
            "line1": "世纪大道100号", "postcode": "200120"}
    bad = c.post("/account/addresses/new/", {**form, "district": "火星区"})
    assert bad.status_code == 400 and 'data-field="district"' in bad.content.decode()
    assert not Address.objects.filter(user=user).exists()
    assert c.post("/account/addresses/new/", form).status_code == 302
    address = Address.objects.get(user=user)
    assert (address.region, address.city, address.district, address.division_code, address.is_default) == (
        "CN-SH", "市辖区", "浦东新区", "310115", True)
    us = c.post("/account/addresses/new/", {"name": "Ann", "phone": "+1 415 555 0100", "country": "US", "region": "CA",
                                            "city": "San Francisco", "line1": "1 Market St", "postcode": "9410"})
    assert us.status_code == 400 and 'data-field="postcode"' in us.content.decode()
    c.post("/account/addresses/new/", {"name": "Ann", "phone": "+1 415 555 0100", "country": "US", "region": "CA",
                                       "city": "San Francisco", "line1": "1 Market St", "postcode": "94105", "is_default": "on"})
    second = Address.objects.get(user=user, country="US")
    assert second.is_default and not Address.objects.get(pk=address.pk).is_default  # one default
    other = client_at(None, mall.users["nobody"])
    assert other.get(f"/account/addresses/{address.pk}/").status_code == 404  # not theirs
    assert other.post(f"/account/addresses/{address.pk}/delete/").status_code == 404
    c.post(f"/account/addresses/{second.pk}/delete/")
    assert Address.objects.get(pk=address.pk).is_default  # the default moved to the remaining one


def _guest_order(tag, email):
    from tenants.models import Merchant

    a = stock_item(Merchant.objects.get(slug="acme"), stock=(3,), tag=tag)
    order, _ = order_checkout(shopper=None, email=email, lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 1)],
                              shipping_address=ADDRESS, idempotency_key=f"g-{tag}")
    return order


def _lookup(client, number, email):
    resp = client.post("/order-lookup/", {"number": number, "email": email})
    error = re.search(r'data-testid="lookup-error">([^<]*)<', resp.content.decode())
    return resp.status_code, error.group(1) if error else None, resp


def test_guest_lookup_opens_with_the_right_email_and_says_nothing_otherwise(mall, client_at):
    order = _guest_order("gl", "guest-lookup@example.test")
    c = client_at(None)
    assert c.get(f"/orders/{order.number}/").status_code == 404  # a fresh visitor sees nothing
    wrong = _lookup(c, order.number, "someone-else@example.test")
    missing = _lookup(c, "M-00000000-9999", "guest-lookup@example.test")
    assert wrong[:2] == missing[:2] and wrong[0] == 400  # a wrong email says no more than an unknown number
    assert order.number not in wrong[2].content.decode().replace(f'value="{order.number}"', "")
    status, _error, resp = _lookup(c, order.number, "Guest-Lookup@example.test")
    assert status == 302 and resp["Location"] == f"/orders/{order.number}/"
    assert c.get(f"/orders/{order.number}/").status_code == 200


def test_guest_lookup_is_rate_limited(mall, client_at):
    from django.core.cache import cache

    cache.clear()
    c = client_at(None)
    for _ in range(10):
        assert _lookup(c, "M-00000000-0001", "x@example.test")[0] == 400
    assert _lookup(c, "M-00000000-0001", "x@example.test")[0] == 429
    cache.clear()


def test_signed_link_in_order_email_carries_the_port_and_opens_the_order(committed, unique, client_at, settings, mailoutbox):
    from core.outbox import outbox_relay_batch

    settings.MALL_BASE_URL = "http://localhost:8123"
    tag = unique("L")
    email = f"link-{tag}@example.test".lower()
    order = _guest_order(tag, email)
    while outbox_relay_batch(limit=500):
        pass
    [message] = [m for m in mailoutbox if m.to == [email]]
    link = _link(message, r"http://localhost:8123/o/\S+/")
    c = client_at(None)
    assert c.get(f"/orders/{order.number}/").status_code == 404
    assert c.get(_path(link))["Location"] == f"/orders/{order.number}/"
    assert c.get(f"/orders/{order.number}/").status_code == 200
    assert c.get(_path(link)[:-4] + "abc/").status_code == 404  # a tampered link opens nothing


def test_guest_orders_are_claimed_only_with_a_verified_email(mall, client_at):
    order = _guest_order("cl", "claimer@example.test")
    other = _guest_order("cl2", "not-me@example.test")
    c = client_at(None)
    _sign_up(c, "claimer@example.test")
    user = User.objects.get(email="claimer@example.test")
    page = c.get("/account/").content.decode()
    assert 'data-testid="claimable"' not in page  # unverified: nothing offered
    refused = c.post("/account/", {"action": "claim"})
    assert refused.status_code == 400
    assert Order.objects.get(pk=order.pk).shopper_id is None
    c.get(_path(_link(mail.outbox[0])))
    assert order.number in c.get("/account/").content.decode()
    assert c.post("/account/", {"action": "claim"}).status_code == 302
    assert Order.objects.get(pk=order.pk).shopper_id == user.pk
    assert Order.objects.get(pk=other.pk).shopper_id is None
    assert order.number in c.get("/orders/").content.decode()


def test_to_pay_tab_lists_unpaid_orders_only(mall, client_at):
    user = mall.users["shopper"]
    a = stock_item(mall.acme, stock=(3,), tag="tp")
    order, _ = order_checkout(shopper=user, email=None, lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 1)],
                              shipping_address=ADDRESS, idempotency_key="tp-1")
    c = client_at(None, user)
    assert f'data-number="{order.number}"' in c.get("/orders/", {"tab": "to_pay"}).content.decode()
    assert f'data-number="{order.number}"' not in c.get("/orders/", {"tab": "to_ship"}).content.decode()


@pytest.mark.parametrize("path", ["/account/", "/account/addresses/", "/account/addresses/new/", "/account/password/"])
def test_account_pages_need_a_sign_in(mall, client_at, path):
    resp = client_at(None).get(path)
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_sign_up_on_a_chinese_page_keeps_chinese_for_emails(mall, client_at):
    from django.conf import settings

    c = client_at(None)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    _sign_up(c, "zh-page@example.test")
    assert User.objects.get(email="zh-page@example.test").preferred_language == "zh-hans"
    assert services.email_language(User.objects.get(email="zh-page@example.test")) == "zh-hans"


def test_an_older_link_cannot_move_the_account_back_after_an_email_change(mall, client_at):
    c = client_at(None)
    _sign_up(c, "first@example.test")
    signup_link = _path(_link(mail.outbox[0]))
    c.get(signup_link)
    c.post("/account/", {"action": "email", "email": "second@example.test", "password": PASSWORD})
    c.get(_path(_link(mail.outbox[1])))
    user = User.objects.get(email="second@example.test")
    assert c.get(signup_link).status_code == 400  # the sign-up link of the old address is void now
    user.refresh_from_db()
    assert user.email == "second@example.test"


def test_address_form_follows_the_country(mall, client_at):
    user = mall.users["nobody"]
    c = client_at(None, user)
    hk = c.get("/account/addresses/new/", {"country": "HK"}).content.decode()
    assert "<label data-postcode hidden>" in hk  # Hong Kong has no postcodes
    us = c.get("/account/addresses/new/", {"country": "US"}).content.decode()
    assert "<span data-region-label>State *</span>" in us and 'placeholder="94105"' in us
    resp = c.post("/account/addresses/new/", {"name": "Chan Tai Man", "phone": "+852 9123 4567", "country": "HK",
                                              "region": "Kowloon", "city": "Mong Kok", "line1": "1 Nathan Road"})
    assert resp.status_code == 302
    assert Address.objects.get(user=user).postcode == ""
    bad = c.post("/account/addresses/new/", {"name": "X", "phone": "+852 9123 4567", "country": "ZZ", "city": "Nowhere",
                                             "line1": "1 Road"})
    assert bad.status_code == 400 and 'data-field="country"' in bad.content.decode()
