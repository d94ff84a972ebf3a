"""DRF authentication by personal API token and permission classes by merchant capability."""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from rest_framework import authentication, exceptions, permissions

from core.tenancy import current_merchant
from permissions.audit import audit_context_set
from permissions.selectors import api_token_authenticate, user_can


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace").split()
        if not header or header[0] not in ("Bearer", "Token"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Authorization header must be 'Bearer <token>'."))
        token = api_token_authenticate(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API token."))
        merchant = current_merchant()
        if token.merchant_id != (merchant.pk if merchant is not None else None):
            raise exceptions.AuthenticationFailed(
                _("This token is for another store's host.") if token.merchant_id else _("This token is for the mall host only."))
        if token.read_only and request.method not in permissions.SAFE_METHODS:
            raise exceptions.PermissionDenied(_("This token is read-only."))
        audit_context_set(via=f"token:{token.prefix}")  # this request writes as this token
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class MerchantCapability(permissions.BasePermission):
    """Allows the request only on a merchant host, for a member whose roles grant `capability`.

    Views set `required_capability`, or `capabilities = {"GET": ..., "POST": ...}`.
    """

    message = _lazy("You do not have access to this merchant.")

    def has_permission(self, request, view):
        merchant = current_merchant()
        if merchant is None or not request.user or not request.user.is_authenticated:
            return False
        caps = getattr(view, "capabilities", None)
        capability = caps.get(request.method, caps.get("*")) if caps else getattr(view, "required_capability", "dashboard.view")
        if not user_can(user=request.user, merchant=merchant, capability=capability):
            self.message = _("Your role at %(name)s does not allow %(capability)s.") % {"name": merchant.name, "capability": capability}
            return False
        return True


def capability(cap: str):
    """A permission class requiring one capability: `permission_classes = [capability("catalog.edit")]`."""

    class _Cap(MerchantCapability):
        def has_permission(self, request, view):
            view.required_capability = cap
            return super().has_permission(request, view)

    _Cap.__name__ = f"Capability_{cap.replace('.', '_')}"
    return _Cap
