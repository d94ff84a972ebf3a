"""Operator console URLs (mall host only)."""
from django.urls import path

from console import parcels, views
from imports import views as import_views
from notifications import views as notification_views
from permissions import audit_views
from reports.analytics_views import console_reports
from support import views as support_views

urlpatterns = [
    path("", views.console_home, name="console-home"),
    path("suborders/late/", views.console_late_suborders, name="console-late-suborders"),
    path("payments/", views.console_payments, name="console-payments"),
    path("payments/settings/", views.console_payment_settings, name="console-payment-settings"),
    path("payments/events/", views.console_gateway_events, name="console-gateway-events"),
    path("payments/events/<int:event_id>/reprocess/", views.console_gateway_event_reprocess, name="console-gateway-event-reprocess"),
    path("payments/<int:payment_id>/", views.console_payment_detail, name="console-payment"),
    path("payments/<int:payment_id>/refund/", views.console_payment_refund, name="console-payment-refund"),
    path("parcels/", parcels.console_parcels, name="console-parcels"),
    path("roles/", views.console_roles, name="console-roles"),
    path("reports/", console_reports, name="console-reports"),  # the mall's sales analytics (reports/)
    path("imports/", import_views.console_import, name="console-imports"),
    path("imports/<uuid:job_id>/", import_views.console_import_job, name="console-imports-job"),
    path("imports/<uuid:job_id>/status/", import_views.console_import_status, name="console-imports-status"),
    path("security/", views.console_security_settings, name="console-security-settings"),
    path("audit/", audit_views.console_audit, name="console-audit"),
    path("audit/export.csv", audit_views.console_audit_export, name="console-audit-export"),
    path("notifications/", notification_views.console_templates, name="console-notification-templates"),
    path("notifications/<str:kind>/<str:language>/", notification_views.console_template_edit, name="console-notification-template"),
    path("notifications/messages/", notification_views.console_messages, name="console-notification-messages"),
    path("support/", support_views.console_queue, name="console-support-queue"),
    path("support/sla/", support_views.console_sla, name="console-support-sla"),
    path("support/tickets/<int:ticket_id>/", support_views.console_ticket, name="console-support-ticket"),
    path("support/tickets/<int:ticket_id>/reply/", support_views.console_ticket_reply, name="console-support-ticket-reply"),
    path("support/disputes/<int:dispute_id>/decide/", support_views.console_dispute_decide, name="console-support-dispute-decide"),
    path("support/tickets/<int:ticket_id>/files/<int:attachment_id>/", support_views.console_attachment,
         name="console-support-ticket-file"),
]
