"""Public API routes (root host)."""
from django.urls import path

from permissions import api as permissions_api

urlpatterns = [
    path("me/", permissions_api.MeView.as_view(), name="api-me"),
    path("tokens/", permissions_api.TokenCreateView.as_view(), name="api-token-create"),
    path("tokens/<int:token_id>/", permissions_api.TokenRevokeView.as_view(), name="api-token-revoke"),
]

from importlib.util import find_spec  # noqa: E402

from django.urls import include  # noqa: E402

for _module in ("storefront.api_urls", "orders.api_urls"):
    if find_spec(_module):
        urlpatterns.append(path("", include(_module)))
