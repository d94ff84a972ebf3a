"""URLs of the mall's root host: storefront, operator super-admin, public API."""
from django.contrib import admin
from django.urls import include, path

from config.urls_common import common_patterns
from permissions.views import MallardLoginView

urlpatterns = [
    # The super-admin signs in through our sign-in (password, then the second factor's code, one lockout)
    # instead of the admin's own form, which knows neither.
    path("admin/login/", MallardLoginView.as_view(next_page="/admin/"), name="admin-sign-in"),
    path("admin/", admin.site.urls),
    path("console/", include("console.urls")),
    path("api/v1/", include("config.api_public")),
    path("", include("storefront.urls")),
    *common_patterns,
]

handler404 = "core.api.not_found"  # JSON for /api/ paths
