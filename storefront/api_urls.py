"""Public storefront API routes, auto-mounted under /api/v1/ on the mall host (config.api_public)."""
from django.urls import path

from storefront import api

urlpatterns = [
    path("listings/", api.ListingListView.as_view(), name="api-listings"),
]
