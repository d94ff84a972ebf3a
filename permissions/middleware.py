"""On a merchant host, only that merchant's staff get past the login page; where the operator requires a
second factor, owners and operators without one get nowhere but its set-up page."""
from urllib.parse import quote

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.tenancy import current_merchant
from permissions.audit import audit_context_reset, audit_context_set
from permissions.selectors import membership_roles

# Paths anyone may open on a merchant host (login, language switch, health, static, API auth is per view).
OPEN_PREFIXES = ("/accounts/", "/i18n/", "/healthz", "/static/", "/api/")


class MerchantMembershipMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        merchant = current_merchant()
        if merchant is not None and not request.path.startswith(OPEN_PREFIXES):
            if not request.user.is_authenticated:
                return redirect(f"{reverse('login')}?next={request.path}")
            roles = membership_roles(user=request.user, merchant=merchant)
            if not roles:
                return render(
                    request, "error.html",
                    {"title": _("No access"), "message": _("Your account is not a member of %(name)s.") % {"name": merchant.name}},
                    status=403,
                )
            request.merchant_roles = roles
            audit_context_set(roles={merchant.schema_name: ",".join(roles)})
        return self.get_response(request)


class AuditContextMiddleware:
    """Every audited write of this request carries its IP, request id and channel (web or API).

    The IP is the peer address: behind a proxy, the proxy sets REMOTE_ADDR (see docs/decisions.md).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = audit_context_set(ip=request.META.get("REMOTE_ADDR") or None,
                                  request_id=getattr(request, "request_id", ""),
                                  via="api" if request.path.startswith("/api/") else "web", roles={})
        try:
            return self.get_response(request)
        finally:
            audit_context_reset(token)


# What someone who must set up a second factor may still open: the set-up page itself, signing in and
# out, the language switch, health and static files.
SECOND_FACTOR_OPEN_PREFIXES = ("/accounts/security/", "/accounts/login/", "/accounts/logout/", "/i18n/", "/healthz",
                               "/static/")


def _token_auth(request) -> bool:
    """Does this API request authenticate with a token (permissions.api_auth decides, never the session)?"""
    return request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0] in ("Bearer", "Token")


class SecondFactorRequiredMiddleware:
    """When the operator requires a second factor (console, Security), an owner of any store or an
    operator without a confirmed TOTP device is sent to /accounts/security/ from every page (dashboard,
    console, admin, storefront) and refused on the API when signed in by session. API tokens are not
    affected: a token is its own credential, made by a person who signed in (docs/decisions.md)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if (not path.startswith(SECOND_FACTOR_OPEN_PREFIXES)
                and not (path.startswith("/api/") and _token_auth(request))
                and request.user.is_authenticated):
            from permissions.selectors import second_factor_required_of, totp_device_get

            if second_factor_required_of(request.user) and totp_device_get(user=request.user) is None:
                return self._refuse(request)
        return self.get_response(request)

    @staticmethod
    def _refuse(request):
        from core.middleware import error_response

        if request.path.startswith("/api/"):
            return error_response(request, status=403, code="second_factor_required", title=_("Set up two-step sign-in"),
                                  message=_("Set up two-step sign-in at /accounts/security/ first: the mall requires it "
                                            "of store owners and operators."))
        target = reverse("account-security")
        if request.method == "GET":
            target += "?next=" + quote(request.get_full_path())
        return redirect(target)
