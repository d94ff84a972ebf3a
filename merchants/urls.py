"""Merchant host pages: the dashboard home and each app's dashboard pages under its own prefix."""
from django.urls import include, path

from merchants import views

urlpatterns = [
    path("", views.dashboard_home, name="dashboard"),
    path("catalog/", include("catalog.urls")),
    path("suborders/", include("suborders.urls")),
    path("customers/", include("suborders.customer_urls")),  # the store's customers (客户管理)
    path("drafts/", include("suborders.draft_urls")),
    path("imports/", include("imports.urls")),
    path("tickets/", include("support.merchant_urls")),  # support tickets, canned replies, support hours
    path("shipping/", include("fulfillment.urls")),
    path("documents/", include("fulfillment.document_urls")),
    path("parcels/", include("fulfillment.parcel_urls")),
    path("payments/", include("payments.merchant_urls")),
    path("audit/", include("permissions.audit_urls")),
    path("staff/", include("permissions.staff_urls")),
    path("branding/", include("notifications.merchant_urls")),
    path("webhooks/", include("webhooks.urls")),
    path("automation/", include("automation.urls")),
    path("returns/", include("returns.urls")),
    path("exports/", include("reports.export_urls")),  # background exports, progress, downloads
    path("reports/", include("reports.analytics_urls")),  # sales analytics from the rollups
    path("restock/", include("reports.forecast_urls")),  # demand forecasts and restock suggestions
]
