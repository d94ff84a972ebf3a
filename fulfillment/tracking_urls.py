"""Carrier tracking webhooks (mall host), included from storefront.urls."""
from django.urls import path

from fulfillment import tracking_views

urlpatterns = [
    path("webhooks/tracking/", tracking_views.tracking_webhook, name="tracking-webhook"),
    path("webhooks/tracking/kuaidi100/", tracking_views.kuaidi100_webhook, name="tracking-webhook-kuaidi100"),
]
