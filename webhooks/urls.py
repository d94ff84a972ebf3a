"""Merchant dashboard webhook pages, mounted at /webhooks/ on merchant hosts (merchants.urls)."""
from django.urls import path

from webhooks import views

urlpatterns = [
    path("", views.endpoints, name="webhooks"),
    path("<int:endpoint_id>/", views.endpoint, name="webhook-endpoint"),
    path("<int:endpoint_id>/edit/", views.endpoint_edit, name="webhook-endpoint-edit"),
    path("<int:endpoint_id>/toggle/", views.endpoint_toggle, name="webhook-endpoint-toggle"),
    path("<int:endpoint_id>/secret/", views.endpoint_secret, name="webhook-endpoint-secret"),
    path("<int:endpoint_id>/rotate/", views.endpoint_rotate, name="webhook-endpoint-rotate"),
    path("<int:endpoint_id>/test/", views.endpoint_test, name="webhook-endpoint-test"),
    path("<int:endpoint_id>/replay/", views.endpoint_replay, name="webhook-endpoint-replay"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/", views.delivery, name="webhook-delivery"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver/", views.delivery_redeliver,
         name="webhook-delivery-redeliver"),
]
