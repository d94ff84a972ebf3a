"""The operator's super-admin: site titles and the outbox (events, their deliveries, dead letters and a requeue action)."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.models import OutboxDelivery, OutboxEvent
from core.outbox import outbox_requeue_dead
from permissions.admin_access import PlatformCapabilityAdmin
from permissions.selectors import platform_can

admin.site.site_header = _("Mallard operator console")
admin.site.site_title = _("Mallard super-admin")
admin.site.index_title = _("Run the mall")
admin.site.site_url = "/console/"


class OutboxDeliveryInline(PlatformCapabilityAdmin, admin.TabularInline):
    model = OutboxDelivery
    view_capability = "outbox.view"
    extra = 0
    can_delete = False
    fields = readonly_fields = ("subscriber", "status", "attempts", "available_at", "delivered_at", "last_error")


@admin.register(OutboxEvent)
class OutboxEventAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    """Read-only view of the event log, each event with its deliveries (one per subscriber)."""

    view_capability = "outbox.view"  # never changed, added or deleted by hand

    list_display = ("id", "topic", "aggregate", "schema_name", "payload_version", "status", "created_at", "routed_at")
    list_filter = ("status", "topic", "schema_name")
    search_fields = ("topic", "aggregate_id")
    ordering = ("-id",)
    list_per_page = 100
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]
    inlines = [OutboxDeliveryInline]

    @admin.display(description=_("aggregate"))
    def aggregate(self, obj):
        return f"{obj.aggregate_type}:{obj.aggregate_id}"


@admin.register(OutboxDelivery)
class OutboxDeliveryAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    """Deliveries of events to their subscribers. Dead letters: filter by status "dead letter"; fix the
    cause, then requeue (outbox.requeue: admin). Each subscriber dead-letters alone."""

    view_capability = "outbox.view"

    list_display = ("id", "subscriber", "topic", "aggregate", "schema_name", "status", "attempts", "available_at",
                    "delivered_at", "short_error")
    list_filter = ("status", "subscriber", "schema_name")
    search_fields = ("subscriber", "aggregate_id", "last_error")
    ordering = ("-id",)
    list_per_page = 100
    list_select_related = ("event",)
    readonly_fields = [f.name for f in OutboxDelivery._meta.fields]
    actions = ["requeue"]

    @admin.display(description=_("topic"))
    def topic(self, obj):
        return obj.event.topic

    @admin.display(description=_("aggregate"))
    def aggregate(self, obj):
        return f"{obj.aggregate_type}:{obj.aggregate_id}"

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.action(description=_("Requeue selected dead letters"), permissions=["requeue"])
    def requeue(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = outbox_requeue_dead(delivery_ids=ids)
        skipped = len(ids) - count
        self.message_user(
            request,
            ngettext("Requeued %(count)d dead letter.", "Requeued %(count)d dead letters.", count) % {"count": count},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext("%(count)d selected delivery was not a dead letter and was left alone.",
                         "%(count)d selected deliveries were not dead letters and were left alone.", skipped)
                % {"count": skipped},
                messages.WARNING,
            )

    def has_requeue_permission(self, request):
        return platform_can(request.user, "outbox.requeue")
