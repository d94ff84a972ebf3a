"""Super-admin: the message log (read-only, notifications.view) and the templates (read-only here; edited
with the checks and the preview on the console's notifications pages)."""
from django.contrib import admin

from notifications.models import Message, NotificationTemplate
from permissions.admin_access import PlatformCapabilityAdmin


@admin.register(Message)
class MessageAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    view_capability = "notifications.view"
    list_display = ("id", "created_at", "channel", "recipient", "kind", "language", "status", "event_id", "merchant_id",
                    "provider_id", "sent_at")
    list_filter = ("status", "channel", "kind", "language")
    search_fields = ("recipient", "provider_id", "subject", "=event_id")
    ordering = ("-id",)
    list_per_page = 100
    readonly_fields = [f.name for f in Message._meta.fields]


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    view_capability = "notifications.view"
    list_display = ("kind", "language", "subject", "updated_at", "updated_by")
    list_filter = ("language", "kind")
    readonly_fields = [f.name for f in NotificationTemplate._meta.fields]
