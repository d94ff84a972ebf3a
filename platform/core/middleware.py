"""Request id on every request and log line; domain errors rendered as clear pages."""
import logging
import uuid

from django.shortcuts import render

from core.errors import DomainError
from core.logging import request_id_var

log = logging.getLogger("mallard.request")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16]
        request.request_id = rid
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-Id"] = rid
        return response


class DomainErrorPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return render(
                request, "error.html",
                {"title": exception.code, "message": exception.message, "field": exception.field},
                status=exception.status,
            )
        return None


class ViewerTimezoneMiddleware:
    """Show times in the viewer's zone: the `tz` cookie set by base.html's script, else DISPLAY_TIME_ZONE.

    The database stays in UTC; only rendering changes. An unknown zone name is ignored.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from django.conf import settings
        from django.utils import timezone

        name = request.COOKIES.get("tz", "") or settings.DISPLAY_TIME_ZONE
        try:
            timezone.activate(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            timezone.activate(ZoneInfo(settings.DISPLAY_TIME_ZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
