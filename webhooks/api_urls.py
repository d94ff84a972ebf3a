"""Merchant API routes of webhooks (mounted under /api/v1/ on merchant hosts)."""
from django.urls import path

from webhooks import api

urlpatterns = [
    path("webhooks/event-types/", api.EventTypesView.as_view(), name="api-webhook-event-types"),
    path("webhooks/endpoints/", api.EndpointsView.as_view(), name="api-webhook-endpoints"),
    path("webhooks/endpoints/<int:endpoint_id>/", api.EndpointDetailView.as_view(), name="api-webhook-endpoint"),
    path("webhooks/endpoints/<int:endpoint_id>/secret/", api.EndpointSecretView.as_view(), name="api-webhook-endpoint-secret"),
    path("webhooks/endpoints/<int:endpoint_id>/secret/rotate/", api.EndpointSecretRotateView.as_view(),
         name="api-webhook-endpoint-secret-rotate"),
    path("webhooks/endpoints/<int:endpoint_id>/test/", api.EndpointTestView.as_view(), name="api-webhook-endpoint-test"),
    path("webhooks/endpoints/<int:endpoint_id>/replay/", api.EndpointReplayView.as_view(), name="api-webhook-endpoint-replay"),
    path("webhooks/endpoints/<int:endpoint_id>/deliveries/", api.EndpointDeliveriesView.as_view(),
         name="api-webhook-endpoint-deliveries"),
    path("webhooks/deliveries/<int:delivery_id>/", api.DeliveryDetailView.as_view(), name="api-webhook-delivery"),
    path("webhooks/deliveries/<int:delivery_id>/redeliver/", api.DeliveryRedeliverView.as_view(),
         name="api-webhook-delivery-redeliver"),
]
