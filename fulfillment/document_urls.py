"""Merchant dashboard document pages, mounted at /documents/ on merchant hosts (merchants.urls)."""
from django.urls import path

from fulfillment import document_views as views

urlpatterns = [
    path("", views.documents_home, name="documents"),
    path("suborders/<int:suborder_id>/packing-slip.pdf", views.packing_slip, name="documents-packing-slip"),
    path("shipments/<int:shipment_id>/label.pdf", views.shipping_label, name="documents-label"),
    path("pick-list.pdf", views.pick_list, name="documents-pick-list"),
    path("labels/", views.labels_job_start, name="documents-labels-start"),
    path("labels/<str:job_id>/", views.labels_job_page, name="documents-labels-job"),
    path("labels/<str:job_id>/status/", views.labels_job_status, name="documents-labels-status"),
    path("labels/<str:job_id>/labels.pdf", views.labels_job_download, name="documents-labels-download"),
]
