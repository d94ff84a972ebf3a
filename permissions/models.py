"""Users (public), memberships with roles per merchant, API tokens, and the audit trail."""
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from permissions.roles import PlatformRole, Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Shoppers, merchant staff and operators alike; operators have `is_staff` and platform roles
    (admin, finance, support: permissions.roles.PLATFORM_CAPABILITIES; a superuser counts as admin)."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True, default="")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)  # platform operator: may sign in to the super-admin
    platform_roles = ArrayField(models.CharField(max_length=20, choices=PlatformRole.choices), default=list, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    preferred_language = models.CharField(max_length=10, blank=True, default="")  # emails' language (accounts page)
    # When the person proved they read this address (accounts: the sign-up or change-of-email link). Accounts made by
    # an operator, an invitation or the demo count as proven; one made by sign-up is not until the link is opened.
    email_verified_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class Membership(models.Model):
    """A user's roles at one merchant. Points at the merchant by id (public → public FK is fine)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.CASCADE, related_name="memberships")
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # a customer-service agent the owner limited to the suborders assigned to them (suborders.selectors)
    assigned_only = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "merchant"], name="membership_once_per_merchant")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant_id}: {','.join(self.roles)}"


class ApiToken(models.Model):
    """A personal API token, scoped to one store or to the mall host. Only its SHA-256 is stored; the
    secret is shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    # The one store the token acts at (with its user's roles there), or none: a shopper's token for the mall host.
    merchant = models.ForeignKey("tenants.Merchant", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    read_only = models.BooleanField(default=False)  # GET/HEAD/OPTIONS only
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEntry(models.Model):
    """Who changed what, when, from where, from what to what. Append-only in the database (a trigger
    refuses UPDATE except the one-time sealing, and DELETE/TRUNCATE). `schema_name` says whose books;
    each schema's rows form a hash chain in `seq` order (sealed after commit by
    `permissions.audit.audit_seal`), so an edited, deleted or reordered row is detectable.
    """

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)  # deactivate, never delete
    actor_email = models.CharField(max_length=254, blank=True, default="")
    role = models.CharField(max_length=120, blank=True, default="")  # the actor's roles there, or "operator"
    via = models.CharField(max_length=40, blank=True, default="")  # web, api, token:<prefix>, task, system
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    schema_name = models.CharField(max_length=63)
    entity = models.CharField(max_length=60)
    entity_id = models.CharField(max_length=64)
    action = models.CharField(max_length=60)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)
    seq = models.BigIntegerField(null=True, blank=True)  # position in its schema's chain, set when sealed
    prev_hash = models.CharField(max_length=64, blank=True, default="")
    hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["schema_name", "entity", "entity_id"]),
            models.Index(fields=["schema_name", "-at", "-id"], name="audit_schema_at_idx"),
            models.Index(fields=["-at", "-id"], name="audit_at_idx"),
            models.Index(fields=["id"], name="audit_unsealed_idx", condition=models.Q(hash="")),
        ]
        constraints = [models.UniqueConstraint(fields=["schema_name", "seq"], name="audit_seq_once_per_schema")]


class AuditChainHead(models.Model):
    """The newest sealed link of each schema's audit chain: without it, deleting the last rows
    of a chain would leave a shorter chain that still verifies."""

    schema_name = models.CharField(max_length=63, primary_key=True)
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)


class StaffInvitation(models.Model):
    """An owner's or manager's invitation to join a store with roles. The link carries a signed id and
    expires; accepting it once creates (or extends) the membership."""

    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "-created_at"], name="invitation_merchant_idx")]


class SecuritySettings(models.Model):
    """The operator's sign-in rules (one row, pk 1): whether owners and operators must use a second factor.
    No row yet means the defaults (not required)."""

    require_second_factor = models.BooleanField(default=False)  # owners of any store and operators
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
