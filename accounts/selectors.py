"""Shopper account reads: the address book, the mall's absolute URLs for emails, signed links' checks."""
from __future__ import annotations

from django.conf import settings
from django.core import signing

from accounts.models import Address
from core.errors import NotFound
from core.tenancy import in_public_schema

GUEST_LINK_SALT = "accounts.guest-order-link"
VERIFY_SALT = "accounts.verify-email"


def mall_base_url() -> str:
    """The mall's public address with scheme and port, for links in emails sent outside a request:
    MALL_BASE_URL (the demo sets it to http://<MALL_HOST>:<port>), else http://<MALL_HOST>."""
    return (settings.MALL_BASE_URL or f"http://{settings.MALL_HOST}").rstrip("/")


def mall_url(path: str) -> str:
    return mall_base_url() + path


def mall_netloc() -> str:
    """host[:port] of the mall, what the older email templates print after http://."""
    return mall_base_url().split("://", 1)[-1]


def addresses_for_user(*, user) -> list[Address]:
    if user is None or not user.is_authenticated:
        return []
    with in_public_schema():
        return list(Address.objects.filter(user=user))


def address_get_for_user(*, user, address_id) -> Address:
    with in_public_schema():
        address = Address.objects.filter(user=user, pk=address_id).first() if user.is_authenticated else None
    if address is None:
        raise NotFound(_not_found(), field="address")
    return address


def default_address(*, user) -> Address | None:
    if user is None or not user.is_authenticated:
        return None
    with in_public_schema():
        return Address.objects.filter(user=user).order_by("-is_default", "-updated_at", "-id").first()


def _not_found() -> str:
    from django.utils.translation import gettext as _

    return _("No such address.")


def guest_link_path(*, number: str, email: str) -> str:
    """The path of an order's signed link for whoever holds its email: opens the order page without an
    account (orders emails carry it as `order_link`). Signed, not stored; valid as long as the order exists."""
    from django.urls import reverse

    token = signing.dumps({"n": number, "e": email.lower()}, salt=GUEST_LINK_SALT, compress=True)
    return reverse("guest-order-link", args=[token], urlconf=settings.PUBLIC_SCHEMA_URLCONF)


def guest_link_read(token: str) -> tuple[str, str] | None:
    try:
        data = signing.loads(token, salt=GUEST_LINK_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str) or not isinstance(data.get("e"), str):
        return None
    return data["n"], data["e"]


def verification_read(token: str, *, max_age_seconds: int) -> tuple[int, str, str] | None:
    """(user id, email to verify, the account's email when the link was sent) of a sign-up or change-of-email
    link still within its time; None for a bad or old one."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=max_age_seconds)
    except signing.SignatureExpired:
        return None
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("e"), str) \
            or not isinstance(data.get("f"), str):
        return None
    return data["u"], data["e"], data["f"]


def guest_orders_claimable(*, user):
    """Orders placed without an account with this (verified) account's email."""
    from orders.models import Order

    if user is None or not user.is_authenticated or user.email_verified_at is None:
        return []
    with in_public_schema():
        return list(Order.objects.filter(shopper__isnull=True, email__iexact=user.email).order_by("-id")[:100])
