"""URLs served on every host: sign-in, language switch, health, API schema and docs."""
from csp.decorators import csp_replace
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from core.views import healthz
from permissions import staff_views
from permissions import views as account_views
from storefront.media import serve_media


class HostApiSchemaView(SpectacularAPIView):
    """The mall host documents the shopper/public API; a merchant host documents the merchant API."""

    @extend_schema(exclude=True)  # the schema does not document itself
    def get(self, request, *args, **kwargs):
        self.urlconf = getattr(request, "urlconf", None)
        return super().get(request, *args, **kwargs)


# Redoc (served offline from drf-spectacular-sidecar) starts with an inline script, injects its styles
# and renders in a blob: worker; this page shows only our own schema, so it gets a looser policy.
_redoc_policy = csp_replace({"script-src": ["'self'", "'unsafe-inline'"], "worker-src": ["'self'", "blob:"],
                             "font-src": ["'self'", "data:", "https://fonts.gstatic.com"],
                             "style-src": ["'self'", "'unsafe-inline'", "https://fonts.googleapis.com"]})

common_patterns = [
    path("accounts/login/", account_views.MallardLoginView.as_view(), name="login"),
    path("accounts/logout/", account_views.logout_view, name="logout"),
    path("accounts/tokens/", account_views.api_tokens, name="account-tokens"),
    path("accounts/security/", account_views.account_security, name="account-security"),
    path("accounts/invitations/<str:token>/", staff_views.invitation_accept, name="invitation-accept"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("media/<path:path>", serve_media, name="media"),  # product images (storefront.media)
    path("api/v1/schema/", HostApiSchemaView.as_view(permission_classes=[]), name="api-schema"),
    path("api/v1/docs/", _redoc_policy(SpectacularRedocView.as_view(url_name="api-schema", permission_classes=[])),
         name="api-docs"),
]
