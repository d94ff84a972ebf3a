"""The shopper's notification preferences, mounted at /account/notifications/ on the mall host (storefront.urls)."""
from django.urls import path

from notifications import views

urlpatterns = [
    path("", views.account_notifications, name="account-notifications"),
]
