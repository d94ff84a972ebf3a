from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from permissions.admin_access import PlatformCapabilityAdmin
from tenants.models import Domain, Merchant


class MerchantAdminForm(forms.ModelForm):
    """Checks the slug the way merchant_create will, so a bad slug is a form error, not an error page."""

    class Meta:
        model = Merchant
        fields = ("name", "slug", "contact_email", "default_currency", "commission_bp")

    def clean_slug(self):
        from merchants.services import RESERVED_SLUGS, SLUG_RE

        slug = (self.cleaned_data.get("slug") or "").strip().lower()
        if self.instance.pk is None and (not SLUG_RE.match(slug) or slug in RESERVED_SLUGS):
            raise forms.ValidationError(
                _("3–40 lowercase letters, digits or hyphens, starting with a letter; not a reserved word.")
            )
        return slug


class DomainInline(PlatformCapabilityAdmin, admin.TabularInline):
    model = Domain
    extra = 0
    change_capability = add_capability = delete_capability = "merchants.manage"


@admin.register(Merchant)
class MerchantAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    """Every operator sees the merchants; onboarding, edits, suspend and reinstate need merchants.manage
    (admin). No operator deletes a merchant here (its books would go unaudited): suspend it instead."""

    form = MerchantAdminForm
    change_capability = add_capability = "merchants.manage"
    list_display = ("name", "slug", "schema_name", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    def get_readonly_fields(self, request, obj=None):
        # The slug names the schema and the host: fixed once the merchant exists. The status changes only
        # through the suspend/reinstate actions (merchants.services: audited, with its outbox event).
        return ("slug", "schema_name", "created_at", "status", "suspended_reason") if obj else (
            "schema_name", "created_at", "status", "suspended_reason")
    inlines = [DomainInline]
    actions = ["suspend", "reinstate"]
    fields = ("name", "slug", "contact_email", "default_currency", "commission_bp", "status", "suspended_reason", "schema_name", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_template=False)

    def save_model(self, request, obj, form, change):
        from merchants.services import merchant_create

        if change:
            from permissions.services import audit_record

            before = {f: form.initial.get(f) for f in form.changed_data}
            super().save_model(request, obj, form, change)
            if form.changed_data:
                audit_record(actor=request.user, entity="merchant", entity_id=obj.pk, action="profile_update",
                             before=before, after={f: form.cleaned_data.get(f) for f in form.changed_data},
                             schema_name="public")
            return
        created = merchant_create(
            slug=obj.slug, name=obj.name, contact_email=obj.contact_email or None,
            currency=obj.default_currency, actor=request.user,
        )
        if obj.commission_bp != created.commission_bp:
            Merchant.objects.filter(pk=created.pk).update(commission_bp=obj.commission_bp)
        obj.pk = created.pk
        obj.schema_name = created.schema_name
        obj.refresh_from_db()

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    @admin.action(description=_lazy("Suspend selected merchants"), permissions=["change"])
    def suspend(self, request, queryset):
        from merchants.services import merchant_suspend

        for merchant in queryset:
            merchant_suspend(merchant=merchant, reason=_("suspended by operator"), actor=request.user)
        self.message_user(request, _("Suspended %(count)d merchant(s).") % {"count": queryset.count()}, messages.SUCCESS)

    @admin.action(description=_lazy("Reinstate selected merchants"), permissions=["change"])
    def reinstate(self, request, queryset):
        from merchants.services import merchant_reinstate

        for merchant in queryset:
            merchant_reinstate(merchant=merchant, actor=request.user)
        self.message_user(request, _("Reinstated %(count)d merchant(s).") % {"count": queryset.count()}, messages.SUCCESS)
