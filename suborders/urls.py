"""Merchant dashboard suborder pages, mounted at /suborders/ on merchant hosts (merchants.urls)."""
from django.urls import path

from suborders import views

urlpatterns = [
    path("", views.suborder_list, name="suborders-list"),
    path("<int:suborder_id>/", views.suborder_detail, name="suborders-detail"),
]
