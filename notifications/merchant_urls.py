"""The store's email branding page, mounted at /branding/ on merchant hosts (merchants.urls)."""
from django.urls import path

from notifications import views

urlpatterns = [
    path("", views.store_branding, name="store-branding"),
]
