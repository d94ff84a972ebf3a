"""Public API routes (root host)."""
from django.urls import path

from permissions import api as permissions_api

urlpatterns = [
    path("me/", permissions_api.MeView.as_view(), name="api-me"),
    path("tokens/", permissions_api.TokenCreateView.as_view(), name="api-token-create"),
]
