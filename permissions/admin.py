"""Super-admin: users (with their platform roles), memberships, API tokens and the audit trail.

Users, memberships and tokens are for platform admins only (users.manage); audit rows are read-only for
everyone and visible with audit.view_all. A user's platform roles change through platform_roles_set
(audited), never by writing is_staff/is_superuser by hand: those follow the roles.
"""
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp import admin as _otp_totp_admin  # noqa: F401  (registers theirs, replaced below)
from django_otp.plugins.otp_totp.models import TOTPDevice

from permissions.admin_access import PlatformCapabilityAdmin
from permissions.models import ApiToken, AuditEntry, Membership, User
from permissions.roles import PlatformRole


class MembershipInline(PlatformCapabilityAdmin, admin.TabularInline):
    model = Membership
    extra = 0
    view_capability = change_capability = add_capability = delete_capability = "users.manage"


class UserAdminForm(UserChangeForm):
    platform_roles = forms.MultipleChoiceField(
        label=_("Platform roles"), choices=PlatformRole.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Operators only: admin, finance or support agent (see /console/roles/). None: not an operator."))

    acting_user = None  # set per request by UserAdmin.get_form

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def clean_platform_roles(self):
        roles = list(self.cleaned_data.get("platform_roles") or [])
        me = self.acting_user
        if me is not None and self.instance.pk == me.pk and PlatformRole.ADMIN not in roles:
            raise forms.ValidationError(_("You cannot take the admin role from yourself."))
        return roles


@admin.register(User)
class UserAdmin(PlatformCapabilityAdmin, BaseUserAdmin):
    form = UserAdminForm
    view_capability = change_capability = add_capability = delete_capability = "users.manage"
    ordering = ("email",)
    list_display = ("email", "full_name", "platform_roles", "is_staff", "is_active", "date_joined")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name", "preferred_language")}),
        (_("Access"), {"fields": ("is_active", "platform_roles", "is_staff", "is_superuser")}),
    )
    readonly_fields = ("is_staff", "is_superuser")
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    inlines = [MembershipInline]
    filter_horizontal = ()
    list_filter = ("is_staff", "is_active")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)  # a fresh class per call: the attribute stays per request
        form.acting_user = request.user
        return form

    def save_model(self, request, obj, form, change):
        from permissions.services import platform_roles_set

        if not change or "platform_roles" not in form.changed_data:
            return super().save_model(request, obj, form, change)
        wanted = list(form.cleaned_data.get("platform_roles") or [])
        obj.platform_roles = list(form.initial.get("platform_roles") or [])  # the service writes the roles
        super().save_model(request, obj, form, change)
        platform_roles_set(user=obj, roles=wanted, actor=request.user)


@admin.register(ApiToken)
class ApiTokenAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    view_capability = change_capability = delete_capability = "users.manage"
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("digest", "prefix")


@admin.register(AuditEntry)
class AuditEntryAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    """Read-only for everyone (the table itself refuses UPDATE and DELETE)."""

    view_capability = "audit.view_all"
    list_display = ("at", "actor", "schema_name", "entity", "entity_id", "action")
    list_filter = ("schema_name", "entity")


# Two-step sign-in devices: django-otp's own admin shows keys and QR codes and lets anyone with model rights
# make devices for other people. Ours lists them and lets an admin (users.manage) remove one for someone who
# lost their phone, through the audited service; keys never show.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    view_capability = delete_capability = "users.manage"
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__email",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields

    def delete_model(self, request, obj):
        from permissions.services import totp_device_remove

        totp_device_remove(user=obj.user, actor=request.user)

    def delete_queryset(self, request, queryset):
        from permissions.services import totp_device_remove

        for device in queryset.select_related("user"):
            totp_device_remove(user=device.user, actor=request.user)
