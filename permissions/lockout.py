"""Sign-in throttling and lockout (django-axes), on the mall host, every merchant host and the admin.

One email that fails AXES_FAILURE_LIMIT times, or one IP address that fails AXES_IP_FAILURE_LIMIT
times (whatever emails it tries), is refused for AXES_COOLOFF_TIME, even with the right password.
Unknown emails are counted and answered exactly like known ones, so the answer never tells whether
an account exists. Attempts live in `public` (axes is a shared app only), so a lock holds on every host.
"""
from __future__ import annotations

import logging

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

log = logging.getLogger("mallard.auth")


def username_of(request, credentials: dict | None) -> str | None:
    """The email a sign-in is for, lower-cased (Owner@x and owner@x are one account, one counter)."""
    raw = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
    if raw is None and request is not None:
        raw = request.POST.get(settings.AXES_USERNAME_FORM_FIELD)
    if raw is None:
        return None
    return str(raw).strip().lower()[:254]


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or with MALLARD_PROXY_COUNT=n proxies in front, the address the outermost one saw.

    X-Forwarded-For is read from the right (the part our own proxies wrote), so a client cannot
    choose its own address by sending the header.
    """
    count = settings.MALLARD_PROXY_COUNT
    if count:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= count:
            return hops[-count][:45]
    return request.META.get("REMOTE_ADDR")


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check, first in AUTHENTICATION_BACKENDS: a locked email or IP is refused before any password
    is checked. `authenticate()` called without a request (code, tests, management commands) is not a
    sign-in from the web and is not throttled: the web sign-in forms always pass the request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with two limits instead of one: per email and per IP address."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # Axes compares one number with AXES_FAILURE_LIMIT; the IP's count is scaled to that limit, so
        # `failures >= limit` holds exactly when the email reached its limit or the IP reached its own.
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        username = get_client_username(request, credentials)
        by_email = 0
        if username:
            by_email = recent.filter(username=username).aggregate(n=Sum("failures_since_start"))["n"] or 0
        by_ip = recent.filter(ip_address=request.axes_ip_address).aggregate(n=Sum("failures_since_start"))["n"] or 0
        return max(by_email, by_ip * settings.AXES_FAILURE_LIMIT // settings.AXES_IP_FAILURE_LIMIT)

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        # After a successful sign-in forget that email's failures *from this address* only. Axes' own
        # reset deletes every row of the email or the IP, which would let someone clear the counter of
        # an account they are guessing by signing in to their own account from the same address.
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username, ip_address=request.axes_ip_address).delete()
        return count


def lockout_response(request, original_response=None, credentials=None):
    """The answer while locked: the same for every email, known or not, with when to try again."""
    minutes = max(1, int(get_cool_off(request).total_seconds() // 60))
    message = ngettext(
        "Too many failed sign-ins. Sign-in is blocked for %(minutes)s minute; try again later.",
        "Too many failed sign-ins. Sign-in is blocked for %(minutes)s minutes; try again later.",
        minutes,
    ) % {"minutes": minutes}
    log.warning("sign-in locked out (ip=%s)", getattr(request, "axes_ip_address", None))
    response = render(request, "error.html", {"title": _("Sign-in blocked"), "message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
