"""API helpers: one exception handler turning every error into JSON with a stable code."""
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf_exc
from rest_framework.response import Response

from core.errors import DomainError

log = logging.getLogger("mallard.api")


def _first_error(detail, path=()):
    """The first error in DRF's nested detail, as ("lines.0.quantity", "A valid integer is required.")."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = path if key == "non_field_errors" else (*path, str(key))
            return _first_error(value, sub)
    if isinstance(detail, list):
        for i, item in enumerate(detail):
            if not item:
                continue
            if isinstance(item, dict | list) and not (isinstance(item, list) and all(isinstance(x, str) for x in item)):
                return _first_error(item, (*path, str(i)) if isinstance(item, dict) else path)
            return _first_error(item, path)
    return (".".join(path) or None), str(detail)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        # refusals are logged with the request id and schema (core.logging adds both)
        log.info("refused %s %s: %s (field=%s)", exc.status, exc.code, exc.message, exc.field)
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        return Response({"code": "not_found", "message": _("Not found.")}, status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response({"code": "permission_denied", "message": str(exc) or _("Permission denied.")}, status=403)
    if isinstance(exc, drf_exc.ValidationError):
        field, message = _first_error(exc.detail)
        body = {"code": "invalid", "message": f"{field}: {message}" if field else message, "errors": exc.detail}
        if field:
            body["field"] = field
        return Response(body, status=400)
    if isinstance(exc, drf_exc.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        headers = {"WWW-Authenticate": exc.auth_header} if getattr(exc, "auth_header", None) else None
        if getattr(exc, "wait", None):
            headers = {**(headers or {}), "Retry-After": str(int(exc.wait))}
        return Response({"code": code, "message": str(exc.detail)}, status=exc.status_code, headers=headers)
    log.exception("unhandled API error")
    return Response({"code": "server_error", "message": _("Something went wrong on our side; it has been logged.")}, status=500)
