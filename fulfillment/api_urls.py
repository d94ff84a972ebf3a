"""Merchant API routes of fulfillment (merchant host)."""
from django.urls import path

from fulfillment import tracking_api

urlpatterns = [
    path("shipments/<int:shipment_id>/tracking-events/", tracking_api.ShipmentTrackingEventsView.as_view(),
         name="api-shipment-tracking-events"),
]
