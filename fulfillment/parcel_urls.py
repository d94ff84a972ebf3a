"""Merchant dashboard parcel pages, mounted at /parcels/ on merchant hosts (merchants.urls)."""
from django.urls import path

from fulfillment import parcel_views

urlpatterns = [
    path("", parcel_views.flagged_parcels, name="parcels-flagged"),
    path("tracking-import/", parcel_views.tracking_import, name="parcels-tracking-import"),
    path("<int:shipment_id>/tracking-events/", parcel_views.tracking_event_add, name="shipments-tracking-event"),
]
