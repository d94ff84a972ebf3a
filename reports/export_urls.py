"""Background exports on merchant hosts, mounted at /exports/ (merchants.urls)."""
from django.urls import path

from reports import export_views

urlpatterns = [
    path("", export_views.export_list, name="exports"),
    path("new/", export_views.export_create, name="exports-create"),
    path("<uuid:job_id>/", export_views.export_detail, name="exports-detail"),
    path("<uuid:job_id>/status/", export_views.export_status, name="exports-status"),
    path("<uuid:job_id>/download/", export_views.export_download, name="exports-download"),
]
