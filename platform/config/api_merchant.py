"""Merchant API routes (merchant host); every view declares its capability."""
from django.urls import path

from merchants import api as merchants_api
from permissions import api as permissions_api

urlpatterns = [
    # apps' merchant API modules are included below when present
    path("me/", permissions_api.MeView.as_view(), name="api-me"),
    path("merchant/", merchants_api.MerchantProfileView.as_view(), name="api-merchant-profile"),
]

from importlib.util import find_spec  # noqa: E402

from django.urls import include  # noqa: E402

for _module in ("catalog.api_urls", "suborders.api_urls", "fulfillment.api_urls"):
    if find_spec(_module):
        urlpatterns.append(path("", include(_module)))
