"""Order import pages on a merchant's host (under /imports/)."""
from django.urls import path

from imports import views

urlpatterns = [
    path("orders/", views.orders_import, name="imports-orders"),
    path("orders/<uuid:job_id>/", views.orders_import_job, name="imports-orders-job"),
    path("orders/<uuid:job_id>/status/", views.orders_import_status, name="imports-orders-status"),
]
