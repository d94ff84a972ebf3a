"""Shopper account writes: sign-up and email verification, change of email, the emails' language, the
address book, and claiming guest orders into an account.

Account emails (verification, change of email, password reset) are sent in the request with Django's mail
and our templates (accounts/templates/accounts/email/), not through the outbox: they carry a fresh signed
token that must not sit in the outbox table, and the person is waiting for them on the page
(docs/decisions.md, "Shopper accounts")."""
from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import regions
from accounts.models import Address
from accounts.selectors import VERIFY_SALT, verification_read
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.inputs import clean_text
from core.tenancy import in_public_schema
from permissions.audit import audit_record

VERIFY_DAYS = int(getattr(settings, "ACCOUNT_VERIFY_DAYS", 3))
MAX_ADDRESSES = 20
LANGUAGES = ("en", "zh-hans")


def _signed_in(user) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to do this."), code="not_authenticated")


def email_language(user) -> str:
    """The language of this person's emails: the account's choice, else the mall's default."""
    lang = getattr(user, "preferred_language", "") or ""
    return lang if lang in LANGUAGES else settings.LANGUAGE_CODE


def account_email_send(*, to: str, template: str, context: dict, language: str) -> None:
    """One account email (subject and text from accounts/email/<template>_subject.txt and _body.txt) in
    `language`."""
    with translation.override(language):
        subject = " ".join(render_to_string(f"accounts/email/{template}_subject.txt", context).split())
        body = render_to_string(f"accounts/email/{template}_body.txt", context)
    EmailMultiAlternatives(subject=subject, body=body, to=[to]).send()


# ---------------------------------------------------------------- sign-up and verification

def verification_token(*, user, email: str) -> str:
    # "f": the account's email when the link was sent: once the email has changed, older links are void (an
    # old sign-up link cannot move the account back to its old address)
    return signing.dumps({"u": user.pk, "e": email.lower(), "f": user.email}, salt=VERIFY_SALT)


def verification_send(*, user, email: str | None = None, base_url: str) -> None:
    """Email the link proving `email` (the account's, or the new one of a change) belongs to this person."""
    email = (email or user.email).lower()
    link = base_url.rstrip("/") + reverse("account-verify", args=[verification_token(user=user, email=email)],
                                          urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    changing = email != user.email
    account_email_send(to=email, template="change_email" if changing else "verify", language=email_language(user),
                       context={"link": link, "days": VERIFY_DAYS, "email": email, "old_email": user.email})


def shopper_sign_up(*, email: str, password: str, full_name: str = "", language: str = "", base_url: str):
    """A new shopper account whose email is not verified yet, and the email with the link that verifies it.
    The password is checked by Django's validators (AUTH_PASSWORD_VALIDATORS)."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from orders.validation import clean_email
    from permissions.services import user_create

    email = clean_email(email, field="email")
    full_name = clean_text(full_name, field="full_name", max_length=150)
    if language not in ("", *LANGUAGES):
        raise ValidationFailed(_("Unknown language."), field="language")
    try:
        validate_password(password or "")
    except ValidationError as err:
        raise ValidationFailed(" ".join(err.messages), field="password") from None
    try:
        user = user_create(email=email, password=password, full_name=full_name, email_verified=False)
    except ValidationFailed as err:
        if err.field == "email":  # the same words whether or not the address is known: ask to sign in or reset
            raise ValidationFailed(_("This email already has an account: sign in, or reset the password."),
                                   field="email") from None
        raise
    if language:
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])
    verification_send(user=user, base_url=base_url)
    return user


def email_verify(*, token: str):
    """Open a verification link: the sign-up address is marked verified, or the account's email becomes the
    new address of a change. Returns the user. Raises ValidationFailed for a bad or expired link, Conflict when
    the new address was taken meanwhile."""
    from permissions.models import User

    found = verification_read(token, max_age_seconds=VERIFY_DAYS * 86400)
    if found is None:
        raise ValidationFailed(_("This link is not valid or has expired. Ask for a new one."), field="token")
    user_id, email, sent_to = found
    with in_public_schema(), transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
        if user is None or (user.email != sent_to and user.email != email):
            raise ValidationFailed(_("This link is not valid or has expired. Ask for a new one."), field="token")
        if email == user.email:
            if user.email_verified_at is None:
                user.email_verified_at = timezone.now()
                user.save(update_fields=["email_verified_at"])
                audit_record(actor=user, entity="user", entity_id=user.pk, action="email_verified",
                             after={"email": email}, schema_name="public")
            return user
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise Conflict(_("Another account uses this email now."), code="email_taken", field="email")
        before = user.email
        user.email, user.email_verified_at = email, timezone.now()
        try:
            with transaction.atomic():
                user.save(update_fields=["email", "email_verified_at"])
        except IntegrityError:
            raise Conflict(_("Another account uses this email now."), code="email_taken", field="email") from None
        audit_record(actor=user, entity="user", entity_id=user.pk, action="email_changed",
                     before={"email": before}, after={"email": email}, schema_name="public")
        return user


def email_change_request(*, user, new_email: str, password: str, base_url: str) -> str:
    """Ask to move the account to `new_email`: the password again, then a link to the new address. The
    account keeps its current email until that link is opened (it proves the new address)."""
    from orders.validation import clean_email
    from permissions.models import User

    _signed_in(user)
    if not user.check_password(password or ""):
        raise ValidationFailed(_("The password is not right."), field="password")
    new_email = clean_email(new_email, field="email")
    if new_email == user.email:
        raise ValidationFailed(_("This is already your email."), field="email")
    if User.objects.filter(email__iexact=new_email).exists():
        raise ValidationFailed(_("Another account uses this email."), field="email")
    verification_send(user=user, email=new_email, base_url=base_url)
    return new_email


def language_set(*, user, language: str) -> None:
    """The language of the account's emails (User.preferred_language; notifications' own setting, when set,
    still wins for the notifications it covers)."""
    _signed_in(user)
    if language not in ("", *LANGUAGES):
        raise ValidationFailed(_("Unknown language."), field="language")
    with in_public_schema():
        type(user).objects.filter(pk=user.pk).update(preferred_language=language)
    user.preferred_language = language


# ---------------------------------------------------------------- address book

ADDRESS_INPUT = ("label", "name", "phone", "country", "region", "city", "district", "line1", "line2", "postcode")


def _address_clean(data: dict) -> dict:
    from orders.validation import clean_address

    label = clean_text(str(data.get("label") or ""), field="label", max_length=40)
    raw = {k: data.get(k, "") for k in Address.SHIPPING_FIELDS}
    if not isinstance(raw.get("country"), str):
        raise ValidationFailed(_("Choose a country."), field="country")
    raw["country"] = raw["country"].strip().upper()
    if raw["country"] == "CN" and not (raw.get("district") or "").strip():
        raise ValidationFailed(_("Choose the district."), field="district")  # the book always has the full tree
    try:
        clean = clean_address(raw, field="address")
    except ValidationFailed as err:
        raise ValidationFailed(err.message, field=(err.field or "").removeprefix("address.") or None) from None
    code = ""
    if clean["country"] == "CN":
        province = regions.cn_province(clean["region"])
        city = next(c for c in regions.cn_children(province.code) if c.name == clean["city"])
        code = next(d.code for d in regions.cn_children(city.code) if d.name == clean["district"])
        clean["region"] = regions.cn_province_iso(province.code)
    return {**clean, "label": label, "division_code": code}


def address_save(*, user, data: dict, address_id: int | None = None, make_default: bool = False) -> Address:
    """Add or change one address of the signed-in shopper's book, checked like a checkout's. The first
    address becomes the default; `make_default` moves the default to this one."""
    _signed_in(user)
    values = _address_clean(data)
    now = timezone.now()
    with in_public_schema(), transaction.atomic():
        rows = list(Address.objects.select_for_update().filter(user=user).order_by("pk"))
        if address_id is None:
            if len(rows) >= MAX_ADDRESSES:
                raise ValidationFailed(_("An address book holds at most %(n)s addresses.") % {"n": MAX_ADDRESSES},
                                       field="address")
            address = Address(user=user, created_at=now)
        else:
            address = next((a for a in rows if a.pk == address_id), None)
            if address is None:
                raise NotFound(_("No such address."), field="address")
        for key, value in values.items():
            setattr(address, key, value)
        address.updated_at = now
        wants_default = make_default or not any(a.is_default for a in rows if a.pk != address.pk)
        if wants_default:
            Address.objects.filter(user=user, is_default=True).exclude(pk=address.pk).update(is_default=False)
        address.is_default = address.is_default or wants_default
        address.save()
    return address


def address_make_default(*, user, address_id: int) -> Address:
    _signed_in(user)
    with in_public_schema(), transaction.atomic():
        rows = list(Address.objects.select_for_update().filter(user=user).order_by("pk"))
        address = next((a for a in rows if a.pk == address_id), None)
        if address is None:
            raise NotFound(_("No such address."), field="address")
        Address.objects.filter(user=user, is_default=True).exclude(pk=address.pk).update(is_default=False)
        Address.objects.filter(pk=address.pk).update(is_default=True)
        address.is_default = True
    return address


def address_delete(*, user, address_id: int) -> None:
    """Remove an address; when it was the default, the most recently used other one becomes the default."""
    _signed_in(user)
    with in_public_schema(), transaction.atomic():
        rows = list(Address.objects.select_for_update().filter(user=user).order_by("pk"))
        address = next((a for a in rows if a.pk == address_id), None)
        if address is None:
            raise NotFound(_("No such address."), field="address")
        address.delete()
        if address.is_default:
            nxt = Address.objects.filter(user=user).order_by("-updated_at", "-id").first()
            if nxt is not None:
                Address.objects.filter(pk=nxt.pk).update(is_default=True)


# ---------------------------------------------------------------- guest orders

def guest_orders_claim(*, user) -> list[str]:
    """Move every order placed without an account with this account's verified email into the account.
    Returns their numbers. An unverified account claims nothing: the email must be proven first."""
    from orders.models import Order

    _signed_in(user)
    if user.email_verified_at is None:
        raise PermissionDenied(_("Verify your email first: open the link we sent you."), code="email_unverified")
    with in_public_schema(), transaction.atomic():
        orders = list(Order.objects.select_for_update(of=("self",)).filter(shopper__isnull=True, email__iexact=user.email)
                      .order_by("pk"))
        if orders:  # the idempotency scope stays "guest:<email>": a retried guest checkout still finds its order
            Order.objects.filter(pk__in=[o.pk for o in orders]).update(shopper=user)
            for order in orders:
                audit_record(actor=user, entity="order", entity_id=order.pk, action="claimed",
                             before={"shopper": None}, after={"shopper": user.pk}, schema_name="public")
    return [o.number for o in orders]
