"""Reads: who may do what where."""
import hashlib

from django.utils import timezone
from django.utils.translation import gettext as _

from permissions.models import ApiToken, Membership
from permissions.roles import roles_allow


def membership_roles(*, user, merchant) -> list[str]:
    """The roles `user` holds at `merchant` (empty if none, inactive, or anonymous)."""
    if user is None or not getattr(user, "is_authenticated", False) or merchant is None:
        return []
    cache = getattr(user, "_mallard_roles", None)
    if cache is None:
        cache = user._mallard_roles = {}
    if merchant.pk not in cache:
        m = Membership.objects.filter(user=user, merchant_id=merchant.pk, is_active=True).only("roles").first()
        cache[merchant.pk] = list(m.roles) if m else []
    return cache[merchant.pk]


def user_can(*, user, merchant, capability: str) -> bool:
    return roles_allow(membership_roles(user=user, merchant=merchant), capability)


def merchants_for_user(*, user):
    from tenants.models import Merchant

    return Merchant.objects.filter(memberships__user=user, memberships__is_active=True, is_template=False).order_by("name")


def api_token_authenticate(secret: str):
    digest = hashlib.sha256(secret.encode()).hexdigest()
    token = ApiToken.objects.select_related("user").filter(digest=digest, revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def api_tokens_for_user(*, user):
    """The user's tokens, newest first, revoked ones included (shown as revoked)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_get_for_user(*, user, token_id) -> ApiToken:
    from core.errors import NotFound

    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound(_("No such API token."), field="token")
    return token
