"""Host routing: the mall's root host is public; `<slug>.<mall host>` is a merchant.

Suspended merchants answer with a clear page (HTML) or 403 JSON (API); unknown hosts get a 404 page.

Per-request cost, kept small because every API call pays it:
  * host -> merchant is cached per process for HOST_CACHE_SECONDS (default 5 s, setting
    TENANT_HOST_CACHE_SECONDS; 0 turns the cache off). Saving or deleting a Merchant or Domain
    clears this process's cache at once; other processes (gunicorn workers) see a suspension,
    resumption or new domain within HOST_CACHE_SECONDS at most. Unknown hosts are never cached.
  * `SET search_path` is issued only when the schema actually changes: django-tenants forgets
    the session's search_path on every switch, even a switch to the schema already in use, which
    cost every public request a second `SET search_path = "public"`.
"""
import copy
import threading
import time

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseNotFound, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.postgresql_backend.base import FakeTenant
from django_tenants.utils import get_public_schema_name, get_tenant_domain_model

from tenants.models import Domain, Merchant

HOST_CACHE_SECONDS = float(getattr(settings, "TENANT_HOST_CACHE_SECONDS", 5))
_host_cache: dict[str, tuple[float, object]] = {}
_host_lock = threading.Lock()
_PUBLIC = FakeTenant(schema_name=get_public_schema_name())


def host_cache_clear() -> None:
    with _host_lock:
        _host_cache.clear()


@receiver(post_save, sender=Merchant)
@receiver(post_delete, sender=Merchant)
@receiver(post_save, sender=Domain)
@receiver(post_delete, sender=Domain)
def _forget_hosts(**kwargs) -> None:
    host_cache_clear()


def _use_tenant(tenant) -> None:
    """connection.set_tenant, keeping the session's known search_path when the schema is unchanged."""
    known = connection.search_path_set_schemas
    unchanged = connection.schema_name == tenant.schema_name and getattr(connection, "include_public_schema", True)
    connection.set_tenant(tenant)
    if unchanged and known is not None:
        connection.search_path_set_schemas = known


class MerchantRoutingMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model, hostname):
        if HOST_CACHE_SECONDS <= 0:
            return super().get_tenant(domain_model, hostname)
        now = time.monotonic()
        hit = _host_cache.get(hostname)
        if hit is not None and hit[0] > now:
            return copy.copy(hit[1])  # a copy per request: views may set attributes on request.tenant
        tenant = super().get_tenant(domain_model, hostname)
        with _host_lock:
            _host_cache[hostname] = (now + HOST_CACHE_SECONDS, copy.copy(tenant))
        return tenant

    def hostname_from_request(self, request):
        # Host names are case-insensitive (RFC 4343): ACME.localhost is acme's host, not an unknown one.
        return super().hostname_from_request(request).lower()

    def process_request(self, request):
        # TenantMainMiddleware.process_request, without the redundant search_path resets.
        _use_tenant(_PUBLIC)
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return HttpResponseNotFound()
        domain_model = get_tenant_domain_model()
        try:
            tenant = self.get_tenant(domain_model, hostname)
        except domain_model.DoesNotExist:
            return self.no_tenant_found(request, hostname)
        tenant.domain_url = hostname
        request.tenant = tenant
        _use_tenant(tenant)
        self.setup_url_routing(request)
        if tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
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
