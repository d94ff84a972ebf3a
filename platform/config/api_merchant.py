"""Merchant API routes (merchant host); every view declares its capability."""
from django.urls import include, path

from merchants import api as merchants_api
from permissions import api as permissions_api

urlpatterns = [
    path("me/", permissions_api.MeView.as_view(), name="api-me"),
    path("merchant/", merchants_api.MerchantProfileView.as_view(), name="api-merchant-profile"),
    path("", include("catalog.api_urls")),
    path("", include("support.merchant_api_urls")),  # the store's tickets
    path("", include("imports.api_urls")),
    path("", include("payments.merchant_api_urls")),
    path("", include("suborders.api_urls")),
    path("", include("fulfillment.api_urls")),
    path("", include("webhooks.api_urls")),
    path("", include("automation.api_urls")),
    path("", include("returns.api_urls")),
]
