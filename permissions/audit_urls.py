"""The store's audit trail, mounted at /audit/ on merchant hosts (merchants.urls)."""
from django.urls import path

from permissions import audit_views

urlpatterns = [
    path("", audit_views.audit_page, name="audit"),
    path("export.csv", audit_views.audit_export, name="audit-export"),
]
