"""The operator's super-admin: site titles and the outbox (with its dead letters and a requeue action)."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.models import OutboxEffect, OutboxEvent
from core.outbox import outbox_requeue_dead
from permissions.admin_access import PlatformCapabilityAdmin
from permissions.selectors import platform_can

admin.site.site_header = _("Mallard operator console")
admin.site.site_title = _("Mallard super-admin")
admin.site.index_title = _("Run the mall")
admin.site.site_url = "/console/"


class OutboxEffectInline(PlatformCapabilityAdmin, admin.TabularInline):
    model = OutboxEffect
    view_capability = "outbox.view"
    extra = 0
    can_delete = False
    readonly_fields = ("handler", "done_at")


@admin.register(OutboxEvent)
class OutboxEventAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    """Read-only view of the outbox for every operator. Dead letters: filter by status "dead letter"; fix
    the cause, then requeue (outbox.requeue: admin)."""

    view_capability = "outbox.view"  # never changed, added or deleted by hand

    list_display = ("id", "topic", "aggregate", "schema_name", "status", "attempts", "available_at", "created_at",
                    "delivered_at", "short_error")
    list_filter = ("status", "topic", "schema_name")
    search_fields = ("topic", "aggregate_id", "last_error")
    ordering = ("-id",)
    list_per_page = 100
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]
    inlines = [OutboxEffectInline]
    actions = ["requeue"]

    @admin.display(description=_("aggregate"))
    def aggregate(self, obj):
        return f"{obj.aggregate_type}:{obj.aggregate_id}"

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.action(description=_("Requeue selected dead letters"), permissions=["requeue"])
    def requeue(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = outbox_requeue_dead(event_ids=ids)
        skipped = len(ids) - count
        self.message_user(
            request,
            ngettext("Requeued %(count)d dead letter.", "Requeued %(count)d dead letters.", count) % {"count": count},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext("%(count)d selected event was not a dead letter and was left alone.",
                         "%(count)d selected events were not dead letters and were left alone.", skipped)
                % {"count": skipped},
                messages.WARNING,
            )

    def has_requeue_permission(self, request):
        return platform_can(request.user, "outbox.requeue")
