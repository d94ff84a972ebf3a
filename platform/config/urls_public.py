"""URLs of the mall's root host: storefront, operator super-admin, public API."""
from django.contrib import admin
from django.urls import include, path

from config.urls_common import common_patterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("console/", include("console.urls")),
    path("api/v1/", include("config.api_public")),
    path("", include("storefront.urls")),
    *common_patterns,
]

handler404 = "core.api.not_found"  # JSON for /api/ paths
