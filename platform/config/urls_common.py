"""URLs served on every host: sign-in, language switch, health, API schema and docs."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from core.views import healthz
from permissions import views as account_views

common_patterns = [
    path("accounts/login/", account_views.MallardLoginView.as_view(), name="login"),
    path("accounts/logout/", account_views.logout_view, name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("api/v1/schema/", SpectacularAPIView.as_view(permission_classes=[]), name="api-schema"),
    path("api/v1/docs/", SpectacularRedocView.as_view(url_name="api-schema", permission_classes=[]), name="api-docs"),
]
