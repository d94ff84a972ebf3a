"""Public API routes (root host): accounts, storefront listings, cart, checkout, orders."""
from django.urls import include, path

from permissions import api as permissions_api

urlpatterns = [
    path("me/", permissions_api.MeView.as_view(), name="api-me"),
    path("tokens/", permissions_api.TokenCreateView.as_view(), name="api-token-create"),
    path("tokens/<int:token_id>/", permissions_api.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("", include("storefront.api_urls")),
    path("", include("support.api_urls")),  # the shopper's tickets
    path("", include("payments.api_urls")),
    path("", include("returns.shopper_api_urls")),  # before orders' orders/<number>/
    path("", include("orders.api_urls")),
]
