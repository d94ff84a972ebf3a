"""On a merchant host, only that merchant's staff get past the login page."""
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
