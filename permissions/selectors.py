"""Reads: who may do what where."""
import hashlib

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from permissions.models import ApiToken, Membership
from permissions.roles import PlatformRole, platform_roles_allow, roles_allow
from permissions.sql import API_TOKEN_LOOKUP_SQL, api_token_row_load


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


def platform_roles_of(user) -> frozenset[str]:
    """The operator roles `user` holds: none unless an active operator (is_staff); a superuser is an admin."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False) \
            or not getattr(user, "is_staff", False):
        return frozenset()
    roles = set(getattr(user, "platform_roles", None) or [])
    if getattr(user, "is_superuser", False):
        roles.add(PlatformRole.ADMIN)
    return frozenset(roles)


def platform_can(user, capability: str) -> bool:
    """May this operator do `capability` on the platform side (permissions.roles.PLATFORM_CAPABILITIES)?"""
    return platform_roles_allow(platform_roles_of(user), capability)


def merchants_for_user(*, user):
    from tenants.models import Merchant

    return Merchant.objects.filter(memberships__user=user, memberships__is_active=True, is_template=False).order_by("name")


def api_token_authenticate(secret: str):
    digest = hashlib.sha256(secret.encode()).hexdigest()
    with connection.cursor() as cur:  # hand-written: every API request pays for this read (permissions/sql.py)
        cur.execute(API_TOKEN_LOOKUP_SQL, [digest])
        row = cur.fetchone()
    token = api_token_row_load(row) if row is not None else None
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
    from core.inputs import parse_id

    token = ApiToken.objects.filter(user=user, pk=parse_id(token_id, field="token")).first()
    if token is None:
        raise NotFound(_("No such API token."), field="token")
    return token


# --- the audit trail ---------------------------------------------------------------------------------

AUDIT_PAGE = 50


def audit_filters_parse(params) -> tuple[dict, dict[str, str]]:
    """The audit search's filters from query parameters: (filters, {field: problem}). Bounded text,
    dates as YYYY-MM-DD; a bad value is reported and left out, never a 500."""
    from datetime import date, datetime, time

    from django.utils import timezone as tz

    out: dict = {}
    problems: dict[str, str] = {}
    for key, limit in (("entity", 60), ("entity_id", 64), ("action", 60), ("actor", 254), ("merchant", 63)):
        value = (params.get(key) or "").strip()
        if "\x00" in value or len(value) > limit:
            problems[key] = _("Too long or not text.")
        elif value:
            out[key] = value
    for key in ("date_from", "date_to"):
        value = (params.get(key) or "").strip()
        if not value:
            continue
        try:
            day = date.fromisoformat(value) if len(value) == 10 and value.isascii() else None
        except ValueError:
            day = None
        if day is None:
            problems[key] = _("Enter a date as YYYY-MM-DD.")
            continue
        bound = datetime.combine(day, time.min if key == "date_from" else time.max)
        out[key] = tz.make_aware(bound, tz.get_current_timezone())
    before = (params.get("before") or "").strip()
    if before:
        if before.isascii() and before.isdigit() and len(before) < 19:
            out["before"] = int(before)
        else:
            problems["before"] = _("Not a page marker.")
    return out, problems


AUDIT_FILTER_LOOKUPS = {"entity": "entity", "entity_id": "entity_id", "action": "action",
                        "actor": "actor_email__istartswith", "date_from": "at__gte", "date_to": "at__lte",
                        "before": "id__lt"}


def audit_entries_for_actor(*, actor, merchant=None, filters: dict, limit: int | None = AUDIT_PAGE):
    """Audit rows newest first. On a merchant host only that merchant's books (capability audit.view);
    operators with audit.view_all search every schema, optionally one (`merchant` filter = its schema name)."""
    from core.errors import PermissionDenied
    from permissions.models import AuditEntry

    qs = AuditEntry.objects.all()
    if merchant is not None:
        if not user_can(user=actor, merchant=merchant, capability="audit.view"):
            raise PermissionDenied(_("Your role does not allow %(capability)s.") % {"capability": "audit.view"})
        qs = qs.filter(schema_name=merchant.schema_name)
    elif not platform_can(actor, "audit.view_all"):
        raise PermissionDenied(_("Only the platform's admins search every store's audit trail."))
    elif filters.get("merchant"):
        qs = qs.filter(schema_name=filters["merchant"])
    qs = qs.filter(**{lookup: filters[key] for key, lookup in AUDIT_FILTER_LOOKUPS.items() if filters.get(key)})
    qs = qs.order_by("-id")
    return qs[:limit] if limit else qs


def audit_changes(entry) -> list[tuple[str, object, object]]:
    """(field, before, after) for each field an audit row records, for people to read."""
    before = entry.before if isinstance(entry.before, dict) else ({} if entry.before is None else {"": entry.before})
    after = entry.after if isinstance(entry.after, dict) else ({} if entry.after is None else {"": entry.after})
    return [(k, before.get(k), after.get(k)) for k in sorted(before.keys() | after.keys())]


# --- staff -------------------------------------------------------------------------------------------

def staff_for_merchant(*, actor, merchant):
    """The store's members (active first) and its pending invitations, for the staff page (staff.manage)."""
    from core.errors import PermissionDenied
    from permissions.models import StaffInvitation

    if not user_can(user=actor, merchant=merchant, capability="staff.manage") and not platform_can(actor, "merchants.act"):
        raise PermissionDenied(_("Your role does not allow %(capability)s.") % {"capability": "staff.manage"})
    members = list(Membership.objects.filter(merchant=merchant).select_related("user").order_by("-is_active", "user__email"))
    invitations = list(StaffInvitation.objects.filter(merchant=merchant, accepted_at__isnull=True, revoked_at__isnull=True,
                                                      expires_at__gt=timezone.now()).order_by("-created_at"))
    return members, invitations


def staff_membership_get(*, merchant, membership_id) -> Membership:
    from core.errors import NotFound
    from core.inputs import is_ascii_digits

    m = Membership.objects.select_related("user", "merchant").filter(pk=membership_id, merchant=merchant).first() \
        if is_ascii_digits(str(membership_id)) else None
    if m is None:
        raise NotFound(_("No such member of this store."), field="membership")
    return m


def staff_invitation_get(*, merchant, invitation_id):
    from core.errors import NotFound
    from core.inputs import is_ascii_digits
    from permissions.models import StaffInvitation

    inv = StaffInvitation.objects.select_related("merchant").filter(pk=invitation_id, merchant=merchant).first() \
        if is_ascii_digits(str(invitation_id)) else None
    if inv is None:
        raise NotFound(_("No such invitation."), field="invitation")
    return inv


def role_matrix() -> list[dict]:
    """The role table as rows for the matrix page: capability, what it means, and which roles hold it."""
    from permissions.roles import CAPABILITIES, CAPABILITY_LABELS, Role

    return [{"capability": cap, "label": CAPABILITY_LABELS.get(cap, cap),
             "roles": [r in holders for r in Role.values]} for cap, holders in CAPABILITIES.items()]


def platform_role_matrix() -> list[dict]:
    """The operators' role table as rows for /console/roles/: capability, what it means, which roles hold it."""
    from permissions.roles import PLATFORM_CAPABILITIES, PLATFORM_CAPABILITY_LABELS

    return [{"capability": cap, "label": PLATFORM_CAPABILITY_LABELS.get(cap, cap),
             "roles": [r in holders for r in PlatformRole.values]} for cap, holders in PLATFORM_CAPABILITIES.items()]


# --- second factor (django-otp's TOTP device) ---------------------------------------------------------

def security_settings_get():
    """The operator's sign-in rules; the defaults (nothing required) until the operator saves them."""
    from permissions.models import SecuritySettings

    return SecuritySettings.objects.filter(pk=1).first() or SecuritySettings(pk=1)


def totp_device_get(*, user, confirmed: bool = True):
    """The user's TOTP device (confirmed: in use for sign-in; unconfirmed: an enrolment under way), or None."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if user is None or not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=confirmed).order_by("-pk").first()


def second_factor_applies_to(user) -> bool:
    """Whom the operator's "require a second factor" covers: operators and owners of any store."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_staff", False) or platform_roles_of(user):
        return True
    return Membership.objects.filter(user_id=user.pk, is_active=True, roles__contains=["owner"]).exists()


def second_factor_required_of(user) -> bool:
    """Must this user enrol a second factor before doing anything else (the operator's setting)?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return security_settings_get().require_second_factor and second_factor_applies_to(user)
