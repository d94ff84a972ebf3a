"""Storefront pages on the mall host: home, products across stores, and the shopper's cart and orders."""
from django.urls import include, path

from storefront import views

urlpatterns = [
    path("", views.home, name="storefront-home"),
    path("products/", include("storefront.product_urls")),
    path("stores/<slug:slug>/", views.store_page, name="storefront-store"),
    path("", include("payments.urls")),
    path("", include("fulfillment.tracking_urls")),
    path("", include("returns.shopper_urls")),  # the order page's returns (orders/<number>/returns/...)
    path("", include("accounts.urls")),  # sign-up, account, addresses, guest order lookup (before orders/<number>/)
    path("", include("orders.urls")),
    path("account/notifications/", include("notifications.account_urls")),
    path("support/", include("support.urls")),  # the shopper's tickets
]
