"""The store's staff pages, mounted at /staff/ on merchant hosts (merchants.urls)."""
from django.urls import path

from permissions import staff_views

urlpatterns = [
    path("", staff_views.staff_page, name="staff"),
    path("roles/", staff_views.role_matrix_page, name="role-matrix"),
]
