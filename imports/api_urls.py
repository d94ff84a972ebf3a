from django.urls import path

from imports import api

urlpatterns = [
    path("imports/orders/", api.OrderImportView.as_view(), name="api-import-orders"),
    path("imports/orders/<uuid:job_id>/", api.OrderImportJobView.as_view(), name="api-import-orders-job"),
]
