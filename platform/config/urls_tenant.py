"""URLs of a merchant's host: the staff dashboard and the merchant API."""
from django.urls import include, path

from config.urls_common import common_patterns

urlpatterns = [
    path("api/v1/", include("config.api_merchant")),
    path("", include("merchants.urls")),
    *common_patterns,
]

handler404 = "core.api.not_found"  # JSON for /api/ paths
