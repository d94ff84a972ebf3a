"""The second sign-in step (django-otp's TOTP device): codes, the pending sign-in between password and
code, and the QR code an authenticator app scans.

A user with a confirmed device is not signed in after the password: the sign-in view keeps only "this
session proved the password of user N, at time T" and asks for a code. A wrong code is a failed sign-in
for django-axes (permissions.lockout), exactly like a wrong password, so the lock counts both steps and
a correct password alone never clears the failures (only a complete sign-in does).
"""
from __future__ import annotations

import time
from datetime import datetime

import segno
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.utils.safestring import mark_safe

PENDING_KEY = "mallard_second_factor"
CODE_MAX_LENGTH = 8  # TOTP codes are 6 (the default) or 8 digits; longer input is refused before any work


def code_clean(raw) -> str | None:
    """The digits of a typed code ("123 456" is 123456), or None when it cannot be one: ASCII digits only
    (int() would accept "١٢٣٤٥٦"), 6 to 8 of them."""
    if raw is None:
        return None
    code = str(raw)[:32].replace(" ", "").replace("-", "")
    if not (6 <= len(code) <= CODE_MAX_LENGTH) or not code.isascii() or not code.isdigit():
        return None
    return code


def code_wait_until(device) -> datetime | None:
    """When django-otp's back-off (1, 2, 4, 8… seconds after consecutive wrong codes) lets this device
    check a code again, or None if it may now."""
    allowed, info = device.verify_is_allowed()
    return None if allowed else (info or {}).get("locked_until")


def code_matches(device, raw) -> bool:
    """Does `raw` verify against `device` now? django-otp checks it (time window, no code used twice,
    back-off after wrong codes) under a row lock, in its own transaction: a wrong code's back-off is
    committed even when the caller goes on to refuse."""
    from django_otp import verify_token

    code = code_clean(raw)
    if code is None:
        return False
    return verify_token(device.user, device.persistent_id, code) is not None


def qr_svg(device) -> str:
    """The otpauth:// URL of `device` as an inline SVG QR code, drawn here (no outside service sees the key)."""
    return mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#111"))  # noqa: S308 (our SVG)


def key_text(device) -> str:
    """The key as authenticator apps take it when typed: base32, in groups of four."""
    from base64 import b32encode

    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))


# --- the pending sign-in (password right, code not yet) ---------------------------------------------

def pending_begin(request, *, user, next_url: str) -> None:
    request.session[PENDING_KEY] = {"user_id": user.pk, "backend": user.backend, "at": int(time.time()),
                                    "next": next_url, "email": user.email}


def pending_get(request) -> dict | None:
    """The pending sign-in of this session, or None (none, or older than SECOND_FACTOR_PENDING_SECONDS:
    the password must be typed again)."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - pending.get("at", 0) > settings.SECOND_FACTOR_PENDING_SECONDS:
        pending_clear(request)
        return None
    return pending


def pending_clear(request) -> None:
    request.session.pop(PENDING_KEY, None)


def sign_in_locked(request, email: str) -> bool:
    """Is this email or this address locked out now (the same check the password step makes)?"""
    from axes.handlers.proxy import AxesProxyHandler

    if not settings.AXES_ENABLED:
        return False
    return not AxesProxyHandler.is_allowed(request, {settings.AXES_USERNAME_FORM_FIELD: email})


def sign_in_failed(request, email: str) -> None:
    """A wrong code: the failed sign-in Django reports for a wrong password, so axes counts it (and may
    lock: then AxesMiddleware answers with the lockout page) and the audit trail records it."""
    user_login_failed.send(sender=__name__, request=request,
                           credentials={settings.AXES_USERNAME_FORM_FIELD: email, "step": "code"})
