"""Request id on every request and log line; hostile input refused before any view; domain errors
rendered as clear pages."""
import logging
import re
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.inputs import has_nul
from core.logging import request_id_var

log = logging.getLogger("mallard.request")

# A request id from a client or proxy is kept only when it is a short, safe token: it is echoed in a
# response header and written into every log line and audit row, so anything else (newlines, markup,
# kilobytes) is replaced by one we make.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_from(header: str | None) -> str:
    if header and _SAFE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex[:16]


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id_from(request.headers.get("X-Request-Id"))
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


def wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def error_response(request, *, status: int, code: str, title: str, message: str, field: str | None = None):
    """One refusal, as JSON for the API (and clients asking for JSON) or as the error page."""
    if wants_json(request):
        body = {"code": code, "message": message}
        if field:
            body["field"] = field
        return JsonResponse(body, status=status)
    return render(request, "error.html", {"title": title, "message": message, "field": field}, status=status)


# `\u0000` in a JSON body that is not itself escaped (`\\u0000` is the text "\u0000"): a NUL once parsed.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


class HostileInputMiddleware:
    """Refuses, before any view runs, what no page or endpoint accepts.

    * a body larger than the limits (DATA_UPLOAD_MAX_MEMORY_SIZE for forms and JSON,
      MALLARD_MAX_UPLOAD_BYTES for multipart uploads): 413;
    * more form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: 413;
    * a NUL character in any query parameter or form field (name or value) or in a JSON string:
      400 naming the parameter. PostgreSQL text cannot hold NUL, so without this every such input
      was a 500 wherever it reached a query.

    Numbers, ids and quantities are checked where they are parsed (core.inputs).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = self._check(request)
        return refused if refused is not None else self.get_response(request)

    def _too_big(self, request):
        return error_response(request, status=413, code="request_too_large", title=_("Request too large"),
                              message=_("The request is larger than this site accepts."))

    def _check(self, request):
        for key, value in request.GET.lists():
            if has_nul(key) or any(has_nul(v) for v in value):
                return self._nul(request, key)
        content_type = request.content_type or ""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        limit = (settings.MALLARD_MAX_UPLOAD_BYTES if content_type == "multipart/form-data"
                 else settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        if limit is not None and length > limit:
            return self._too_big(request)
        try:
            if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                for key, value in request.POST.lists():
                    if has_nul(key) or any(has_nul(v) for v in value):
                        return self._nul(request, key)
            elif content_type == "application/json" and _JSON_NUL.search(request.body):
                return self._nul(request, None)
        except (RequestDataTooBig, TooManyFieldsSent):
            return self._too_big(request)
        return None

    def _nul(self, request, key):
        field = key.replace("\x00", "\\x00")[:100] if key is not None else None
        log.info("refused a NUL character in %s", field or "the JSON body")
        return error_response(request, status=400, code="invalid", title=_("Invalid input"),
                              message=_("The input contains a NUL character, which is not allowed."), field=field)
