"""Writes for accounts, memberships, API tokens and the audit trail."""
import hashlib
import secrets
from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from core.tenancy import in_public_schema
from permissions.audit import audit_record  # noqa: F401  (re-exported: services call permissions.services.audit_record)
from permissions.models import ApiToken, Membership, StaffInvitation, User
from permissions.roles import ALL_PLATFORM_ROLES, ALL_ROLES, PlatformRole, Role

TOKEN_PREFIX = "mlt_"


def user_create(*, email: str, password: str | None, full_name: str = "", is_staff: bool = False,
                platform_roles: list[str] | None = None, actor: User | None = None, email_verified: bool = True) -> User:
    """A user. An operator is made with `platform_roles` (admin, finance, support); `is_staff=True`
    without roles makes an admin, as before platform roles existed. Only the shopper's own sign-up
    (accounts.services.shopper_sign_up) makes an account whose email is not verified yet."""
    email = (email or "").strip().lower()
    if "@" not in email:
        raise ValidationFailed(_("Enter a valid email address."), field="email")
    if platform_roles is None and is_staff:
        platform_roles = [PlatformRole.ADMIN]
    roles = _platform_roles_clean(platform_roles or [])
    with in_public_schema(), transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise ValidationFailed(_("A user with email %(email)s already exists.") % {"email": email}, field="email")
        user = User.objects.create_user(email, password, full_name=full_name, is_staff=bool(roles),
                                        is_superuser=PlatformRole.ADMIN in roles, platform_roles=roles,
                                        email_verified_at=timezone.now() if email_verified else None)
        if roles:  # a new operator: who made them one, and with which roles
            audit_record(actor=actor, entity="user", entity_id=user.pk, action="platform_roles_set",
                         after={"platform_roles": roles}, schema_name="public")
    return user


def _platform_roles_clean(roles) -> list[str]:
    roles = sorted({str(r) for r in roles})
    if any(r not in ALL_PLATFORM_ROLES for r in roles):
        raise ValidationFailed(_("Choose platform roles from the list."), field="platform_roles")
    return roles


def platform_roles_set(*, user: User, roles: list[str], actor: User | None = None) -> User:
    """Replace an operator's platform roles (none: no longer an operator). is_staff follows the roles
    (the super-admin's sign-in gate); is_superuser only for admins. Audited in the platform's books;
    a person doing it needs users.manage, and an admin cannot take admin from themselves (the mall
    would risk having none)."""
    roles = _platform_roles_clean(roles)
    if actor is not None:
        from core.errors import PermissionDenied
        from permissions.policy import authorize

        authorize(actor, "users.manage")
        if getattr(actor, "pk", None) == user.pk and PlatformRole.ADMIN not in roles:
            raise PermissionDenied(_("You cannot take the admin role from yourself."), field="platform_roles")
    with in_public_schema(), transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = {"platform_roles": sorted(locked.platform_roles or []), "is_staff": locked.is_staff,
                  "is_superuser": locked.is_superuser}
        after = {"platform_roles": roles, "is_staff": bool(roles), "is_superuser": PlatformRole.ADMIN in roles}
        if before != after:
            User.objects.filter(pk=user.pk).update(**after)
            audit_record(actor=actor, entity="user", entity_id=user.pk, action="platform_roles_set",
                         before=before, after=after, schema_name="public")
    user.platform_roles, user.is_staff, user.is_superuser = after["platform_roles"], after["is_staff"], after["is_superuser"]
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


def api_token_create(*, user: User, name: str, merchant=None, read_only: bool = False, actor=None) -> tuple[ApiToken, str]:
    """Create a token for `user`, acting at `merchant` (with the user's roles there) or, without one, a
    shopper's token for the mall host. Returns it and the secret, which is never stored in clear.
    With an `actor` (a person on a page or the API) the role table decides: tokens.manage at the store;
    anyone signed in for their own mall-host token."""
    name = (name or "").strip()
    if not name or len(name) > 80 or "\x00" in name:
        raise ValidationFailed(_("Give the token a name (at most 80 characters)."), field="name")
    if actor is not None:
        from core.errors import PermissionDenied
        from permissions.policy import authorize

        if getattr(actor, "pk", None) != user.pk:
            raise PermissionDenied(_("You can only create tokens for yourself."), field="user")
        if merchant is not None:
            authorize(actor, "tokens.manage", merchant=merchant)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with in_public_schema(), transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, merchant=merchant, read_only=bool(read_only), prefix=secret[:12],
            digest=hashlib.sha256(secret.encode()).hexdigest()
        )
        if actor is not None:
            audit_record(actor=actor, entity="api_token", entity_id=token.pk, action="create",
                         after={"name": token.name, "prefix": token.prefix, "read_only": token.read_only},
                         schema_name=merchant.schema_name if merchant is not None else "public")
    return token, secret


def api_token_revoke(*, token: ApiToken, actor=None) -> None:
    """Revoke a token: its user always may; at a store, an owner may revoke anyone's token for it."""
    if actor is not None and getattr(actor, "pk", None) != token.user_id:
        from core.errors import PermissionDenied
        from permissions.selectors import membership_roles, platform_can

        store = token.merchant
        if store is None or (Role.OWNER not in membership_roles(user=actor, merchant=store)
                             and not platform_can(actor, "users.manage")):
            raise PermissionDenied(_("Only the token's owner, or an owner of its store, may revoke it."), field="token")
    with in_public_schema(), transaction.atomic():
        if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()) and actor is not None:
            audit_record(actor=actor, entity="api_token", entity_id=token.pk, action="revoke",
                         before={"name": token.name, "prefix": token.prefix, "user": token.user.email},
                         schema_name=token.merchant.schema_name if token.merchant_id else "public")


# --- staff: invitations, roles, deactivation (owners and managers; only owners touch owners) -------------

INVITATION_SALT = "mallard.staff-invitation"


def _roles_clean(roles, *, field: str = "roles") -> list[str]:
    roles = sorted({str(r) for r in (roles or [])})
    bad = [r for r in roles if r not in ALL_ROLES]
    if bad or not roles:
        raise ValidationFailed(_("Choose at least one role from the list."), field=field)
    return roles


def _staff_authorize(actor, merchant, *, touches_owner: bool) -> None:
    from permissions.policy import authorize
    from permissions.selectors import membership_roles, platform_can

    authorize(actor, "staff.manage", merchant=merchant)
    if touches_owner and not platform_can(actor, "merchants.act") and Role.OWNER not in membership_roles(user=actor, merchant=merchant):
        from core.errors import PermissionDenied

        raise PermissionDenied(_("Only an owner may make someone an owner or change an owner's access."), field="roles")


def invitation_link_token(invitation: StaffInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "e": invitation.email}, salt=INVITATION_SALT, compress=True)


def staff_invite(*, actor, merchant, email: str, roles) -> tuple[StaffInvitation, str]:
    """Invite `email` to `merchant` with `roles`; returns the invitation and the signed link token.
    An earlier pending invitation of the same email is revoked; the email goes out after commit."""
    from django.conf import settings
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    email = (email or "").strip().lower()
    try:
        if len(email) > 254:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise ValidationFailed(_("Enter a valid email address."), field="email") from None
    roles = _roles_clean(roles)
    _staff_authorize(actor, merchant, touches_owner=Role.OWNER in roles)
    now = timezone.now()
    with in_public_schema(), transaction.atomic():
        if Membership.objects.filter(merchant=merchant, user__email=email, is_active=True).exists():
            raise ValidationFailed(_("%(email)s is already on the staff; change their roles instead.") % {"email": email},
                                   field="email")
        StaffInvitation.objects.filter(merchant=merchant, email=email, accepted_at__isnull=True,
                                       revoked_at__isnull=True).update(revoked_at=now)
        invitation = StaffInvitation.objects.create(
            merchant=merchant, email=email, roles=roles, invited_by=actor if getattr(actor, "pk", None) else None,
            created_at=now, expires_at=now + timedelta(days=settings.STAFF_INVITATION_DAYS))
        audit_record(actor=actor, entity="staff_invitation", entity_id=invitation.pk, action="invite",
                     after={"email": email, "roles": roles}, schema_name=merchant.schema_name)
        token = invitation_link_token(invitation)
        _invitation_email_on_commit(invitation=invitation, token=token)
    return invitation, token


def _invitation_email_on_commit(*, invitation: StaffInvitation, token: str) -> None:
    from django.conf import settings
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    from tenants.selectors import merchant_host

    body = render_to_string("permissions/invitation_email.txt", {
        "store": invitation.merchant.name, "roles": ", ".join(str(Role(r).label) for r in invitation.roles),
        "link": f"http://{merchant_host(invitation.merchant)}/accounts/invitations/{token}/",
        "expires_at": invitation.expires_at})
    subject = _("You are invited to join %(store)s on Mallard") % {"store": invitation.merchant.name}
    to = invitation.email
    # a mail server that is down must not undo the invitation: the link is on the staff page too
    transaction.on_commit(lambda: send_mail(subject=subject, message=body, from_email=settings.DEFAULT_FROM_EMAIL,
                                            recipient_list=[to]), robust=True)


def invitation_from_token(token: str, *, merchant) -> StaffInvitation:
    """The pending invitation a link names, or ValidationFailed saying why it can't be used."""
    from django.conf import settings

    try:
        data = signing.loads(token[:2000], salt=INVITATION_SALT, max_age=timedelta(days=settings.STAFF_INVITATION_DAYS))
    except signing.SignatureExpired:
        raise ValidationFailed(_("This invitation has expired; ask for a new one."), field="invitation") from None
    except signing.BadSignature:
        raise ValidationFailed(_("This invitation link is not valid."), field="invitation") from None
    with in_public_schema():
        invitation = StaffInvitation.objects.select_related("merchant").filter(
            pk=data.get("i"), email=data.get("e"), merchant=merchant).first()
    if invitation is None:
        raise ValidationFailed(_("This invitation link is not valid."), field="invitation")
    if invitation.revoked_at or invitation.accepted_at or invitation.expires_at <= timezone.now():
        raise ValidationFailed(_("This invitation was already used, withdrawn or has expired; ask for a new one."),
                               field="invitation")
    return invitation


def staff_invitation_accept(*, token: str, merchant, user: User | None, password: str = "", full_name: str = "") -> Membership:
    """Join the store. A signed-in user must be the invited email; otherwise an account is created for
    the invited email with `password`. One use: the invitation is locked and stamped."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    invitation = invitation_from_token(token, merchant=merchant)
    with in_public_schema(), transaction.atomic():
        invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at or invitation.revoked_at:
            raise ValidationFailed(_("This invitation was already used or withdrawn."), field="invitation")
        if user is not None and getattr(user, "is_authenticated", False):
            if user.email.lower() != invitation.email:
                raise ValidationFailed(_("This invitation is for %(email)s; sign out and open the link again.")
                                       % {"email": invitation.email}, field="invitation")
        else:
            user = User.objects.filter(email=invitation.email).first()
            if user is not None:
                raise ValidationFailed(_("An account with %(email)s exists: sign in first, then open the link.")
                                       % {"email": invitation.email}, field="invitation")
            try:
                validate_password(password)
            except ValidationError as exc:
                raise ValidationFailed(" ".join(exc.messages), field="password") from None
            user = user_create(email=invitation.email, password=password, full_name=(full_name or "").strip()[:150])
        invitation.accepted_at, invitation.accepted_by = timezone.now(), user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        membership = membership_grant(user=user, merchant=merchant, roles=invitation.roles, actor=user)
    return membership


def staff_invitation_revoke(*, actor, invitation: StaffInvitation) -> None:
    _staff_authorize(actor, invitation.merchant, touches_owner=Role.OWNER in invitation.roles)
    with in_public_schema(), transaction.atomic():
        if StaffInvitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
                revoked_at=timezone.now()):
            audit_record(actor=actor, entity="staff_invitation", entity_id=invitation.pk, action="revoke",
                         before={"email": invitation.email, "roles": invitation.roles},
                         schema_name=invitation.merchant.schema_name)


def _other_active_owners(membership: Membership) -> bool:
    return Membership.objects.filter(merchant_id=membership.merchant_id, is_active=True, roles__contains=[Role.OWNER]
                                     ).exclude(pk=membership.pk).exists()


def membership_roles_set(*, actor, membership: Membership, roles) -> Membership:
    """Replace a member's roles. Only owners touch the owner role; a store always keeps an owner."""
    roles = _roles_clean(roles)
    merchant = membership.merchant
    with in_public_schema(), transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        touches_owner = Role.OWNER in roles or Role.OWNER in membership.roles
        _staff_authorize(actor, merchant, touches_owner=touches_owner)
        if Role.OWNER in membership.roles and Role.OWNER not in roles and not _other_active_owners(membership):
            raise ValidationFailed(_("A store needs an owner: make someone else owner first."), field="roles")
        before = {"roles": list(membership.roles)}
        membership.roles = roles
        membership.save(update_fields=["roles"])
        audit_record(actor=actor, entity="membership", entity_id=membership.pk, action="roles_set",
                     before=before, after={"roles": roles, "email": membership.user.email}, schema_name=merchant.schema_name)
    return membership


def membership_deactivate(*, actor, membership: Membership) -> Membership:
    """Remove a member: access ends at their next request (roles are read per request) and their API
    tokens for this store are revoked now."""
    merchant = membership.merchant
    with in_public_schema(), transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        _staff_authorize(actor, merchant, touches_owner=Role.OWNER in membership.roles)
        if membership.user_id == getattr(actor, "pk", None):
            raise ValidationFailed(_("You cannot remove yourself; ask another owner."), field="membership")
        if not membership.is_active:
            return membership
        if Role.OWNER in membership.roles and not _other_active_owners(membership):
            raise ValidationFailed(_("A store needs an owner: make someone else owner first."), field="membership")
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        revoked = _tokens_for_merchant(user_id=membership.user_id, merchant=merchant).update(revoked_at=timezone.now())
        audit_record(actor=actor, entity="membership", entity_id=membership.pk, action="deactivate",
                     before={"is_active": True}, after={"is_active": False, "email": membership.user.email,
                                                        "tokens_revoked": revoked},
                     schema_name=merchant.schema_name)
    return membership


def _tokens_for_merchant(*, user_id: int, merchant):
    """The user's live tokens usable at this store."""
    return ApiToken.objects.filter(user_id=user_id, merchant=merchant, revoked_at__isnull=True)


# --- second factor (django-otp's TOTP device) and the operator's sign-in rules --------------------------

def totp_enrolment_start(*, user: User):
    """Begin setting up an authenticator app: a fresh unconfirmed TOTP device (its key is shown as a QR
    code and as text) replaces an earlier unconfirmed one. It counts for sign-in only once confirmed with
    a code (totp_enrolment_confirm). Someone who already has a device removes it first."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from core.errors import Conflict

    with in_public_schema(), transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one enrolment at a time per user
        if TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists():
            raise Conflict(_("Two-step sign-in is already on for your account."), code="totp_already_enrolled")
        TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
        return TOTPDevice.objects.create(user_id=user.pk, name="Authenticator app", confirmed=False)


def totp_enrolment_confirm(*, user: User, code: str):
    """Finish setting up: a current code from the app proves it holds the key; from then on signing in
    asks for a code. Audited (user, totp_enrolled) in the books of the host it was done on."""
    from core.tenancy import current_schema
    from permissions.selectors import totp_device_get

    schema = current_schema()
    device = totp_device_get(user=user, confirmed=False)
    if device is None:
        raise ValidationFailed(_("No authenticator is being set up: start again."), field="code")
    _totp_code_check(device, code)
    with in_public_schema(), transaction.atomic():
        # The code was checked in django-otp's own transaction (a wrong one's back-off must stay committed).
        confirmed = type(device).objects.filter(pk=device.pk, confirmed=False).update(confirmed=True)
        if not confirmed:
            raise ValidationFailed(_("No authenticator is being set up: start again."), field="code")
        audit_record(actor=user, entity="user", entity_id=user.pk, action="totp_enrolled",
                     after={"device": device.name}, schema_name=schema)
    device.confirmed = True
    return device


def _totp_code_check(device, code) -> None:
    from permissions.second_factor import code_matches, code_wait_until

    wait = code_wait_until(device)
    if wait is not None:
        raise ValidationFailed(_("Too many wrong codes: wait a few seconds, then type the code your app shows."),
                               field="code", code="totp_wait")
    if not code_matches(device, code):
        raise ValidationFailed(_("That code is not right: type the 6 digits your app shows now."), field="code",
                               code="totp_wrong_code")


def totp_device_remove(*, user: User, actor: User, code: str | None = None) -> None:
    """Turn two-step sign-in off for `user`: by the user, with a current code from the app (a signed-in
    session alone is not enough); or by an operator with users.manage, for someone who lost the phone.
    Audited (user, totp_removed) in the books of the host it was done on."""
    from core.tenancy import current_schema
    from permissions.selectors import totp_device_get

    schema = current_schema()
    device = totp_device_get(user=user)
    if actor is None or getattr(actor, "pk", None) != user.pk:
        from permissions.policy import authorize

        authorize(actor, "users.manage")
    elif device is not None:
        _totp_code_check(device, code)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with in_public_schema(), transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        removed = [d.name for d in TOTPDevice.objects.filter(user_id=user.pk, confirmed=True)]
        TOTPDevice.objects.filter(user_id=user.pk).delete()
        if removed:
            audit_record(actor=actor, entity="user", entity_id=user.pk, action="totp_removed",
                         before={"device": removed[0]}, schema_name=schema)


def security_settings_update(*, require_second_factor: bool, actor):
    """The operator's sign-in rules (security.settings): whether owners of any store and operators must use
    a second factor. Audited in the platform's books. Applies at once, to sessions already open too."""
    from permissions.models import SecuritySettings

    if actor is not None:
        from permissions.policy import authorize

        authorize(actor, "security.settings")
    with in_public_schema(), transaction.atomic():
        row, _created = SecuritySettings.objects.select_for_update().get_or_create(pk=1)
        before = {"require_second_factor": row.require_second_factor}
        row.require_second_factor = bool(require_second_factor)
        row.updated_at, row.updated_by = timezone.now(), actor if getattr(actor, "pk", None) else None
        row.save()
        if before["require_second_factor"] != row.require_second_factor:
            audit_record(actor=actor, entity="security_settings", entity_id=1, action="update", before=before,
                         after={"require_second_factor": row.require_second_factor}, schema_name="public")
    return row


def membership_assigned_only_set(*, actor, membership: Membership, assigned_only: bool) -> Membership:
    """Limit a customer-service agent to the suborders assigned to them (or lift it). Owners only; audited."""
    from core.errors import PermissionDenied
    from permissions.selectors import membership_roles

    merchant = membership.merchant
    _staff_authorize(actor, merchant, touches_owner=False)
    if not getattr(actor, "is_staff", False) and Role.OWNER not in membership_roles(user=actor, merchant=merchant):
        raise PermissionDenied(_("Only an owner limits what an agent sees."), field="assigned_only")
    with in_public_schema(), transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.assigned_only != bool(assigned_only):
            audit_record(actor=actor, entity="membership", entity_id=membership.pk, action="assigned_only",
                         before={"assigned_only": membership.assigned_only}, after={"assigned_only": bool(assigned_only)},
                         schema_name=merchant.schema_name)
            membership.assigned_only = bool(assigned_only)
            membership.save(update_fields=["assigned_only"])
    return membership
