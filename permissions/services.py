"""Writes for accounts, memberships, API tokens and the audit trail."""
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from core.tenancy import in_public_schema
from permissions.audit import audit_record  # noqa: F401  (re-exported: services call permissions.services.audit_record)
from permissions.models import ApiToken, Membership, User
from permissions.roles import ALL_ROLES

TOKEN_PREFIX = "mlt_"


def user_create(*, email: str, password: str | None, full_name: str = "", is_staff: bool = False) -> User:
    email = (email or "").strip().lower()
    if "@" not in email:
        raise ValidationFailed(_("Enter a valid email address."), field="email")
    with in_public_schema():
        if User.objects.filter(email=email).exists():
            raise ValidationFailed(_("A user with email %(email)s already exists.") % {"email": email}, field="email")
        user = User.objects.create_user(email, password, full_name=full_name, is_staff=is_staff, is_superuser=is_staff)
    return user


def membership_grant(*, user: User, merchant, roles: list[str], actor: User | None = None) -> Membership:
    bad = [r for r in roles if r not in ALL_ROLES]
    if bad or not roles:
        raise ValidationFailed(_("Unknown role(s): %(roles)s.") % {"roles": ", ".join(bad) or _("(none given)")}, field="roles")
    with in_public_schema(), transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            user=user, merchant=merchant, defaults={"roles": sorted(set(roles))}
        )
        before = None if created else {"roles": membership.roles, "is_active": membership.is_active}
        if not created:
            membership.roles = sorted(set(membership.roles) | set(roles))
            membership.is_active = True
            membership.save(update_fields=["roles", "is_active"])
        audit_record(actor=actor, entity="membership", entity_id=membership.pk, action="grant",
                     before=before, after={"roles": membership.roles, "is_active": True}, schema_name=merchant.schema_name)
    return membership


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; returns it and the secret, which is never stored in clear."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the token a name."), field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with in_public_schema():
        token = ApiToken.objects.create(
            user=user, name=name[:80], prefix=secret[:12], digest=hashlib.sha256(secret.encode()).hexdigest()
        )
    return token, secret


def api_token_revoke(*, token: ApiToken) -> None:
    with in_public_schema():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
