"""Host routing: the mall's root host is public; `<slug>.<mall host>` is a merchant.

Suspended merchants answer with a clear page (HTML) or 403 JSON (API); unknown hosts get a 404 page.
"""
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware


class MerchantRoutingMiddleware(TenantMainMiddleware):
    def process_request(self, request):
        response = super().process_request(request)
        if response is not None:
            return response
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            return None
        if tenant.is_template:
            return self.no_tenant_found(request, request.get_host())
        if not tenant.is_active:
            connection.set_schema_to_public()
            message = _("%(name)s is suspended and temporarily closed.") % {"name": tenant.name}
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "merchant_suspended", "message": message}, status=403)
            html = render_to_string("error.html", {"title": _("Store closed"), "message": message}, request=request)
            return HttpResponse(html, status=403)
        return None

    def no_tenant_found(self, request, hostname):
        message = _("No store lives at %(host)s.") % {"host": hostname}
        if request.path.startswith("/api/"):
            return JsonResponse({"code": "unknown_host", "message": message}, status=404)
        html = render_to_string("error.html", {"title": _("Not found"), "message": message})
        return HttpResponse(html, status=404)
