"""URLs served on every host: sign-in, language switch, health, API schema and docs."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from core.views import healthz
from permissions import staff_views
from permissions import views as account_views


class HostApiSchemaView(SpectacularAPIView):
    """The mall host documents the shopper/public API; a merchant host documents the merchant API."""

    def get(self, request, *args, **kwargs):
        self.urlconf = getattr(request, "urlconf", None)
        return super().get(request, *args, **kwargs)


common_patterns = [
    path("accounts/login/", account_views.MallardLoginView.as_view(), name="login"),
    path("accounts/logout/", account_views.logout_view, name="logout"),
    path("accounts/tokens/", account_views.api_tokens, name="account-tokens"),
    path("accounts/invitations/<str:token>/", staff_views.invitation_accept, name="invitation-accept"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("api/v1/schema/", HostApiSchemaView.as_view(permission_classes=[]), name="api-schema"),
    path("api/v1/docs/", SpectacularRedocView.as_view(url_name="api-schema", permission_classes=[]), name="api-docs"),
]
