"""API helpers: one exception handler turning every error into JSON with a stable code."""
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exc
from rest_framework.response import Response

from core.errors import DomainError

log = logging.getLogger("mallard.api")


def _first_error(detail, prefix=""):
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = key if key != "non_field_errors" else None
            inner_field, msg = _first_error(value, f"{prefix}{key}." if field else prefix)
            return (inner_field or (f"{prefix}{key}" if field else None)), msg
    if isinstance(detail, list) and detail:
        for i, item in enumerate(detail):
            if item:
                f, msg = _first_error(item, prefix + f"{i}." if isinstance(item, dict) else prefix)
                return f, msg
    return None, str(detail)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        return Response({"code": "not_found", "message": "Not found."}, status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response({"code": "permission_denied", "message": str(exc) or "Permission denied."}, status=403)
    if isinstance(exc, drf_exc.ValidationError):
        field, message = _first_error(exc.detail)
        body = {"code": "invalid", "message": f"{field}: {message}" if field else message, "errors": exc.detail}
        if field:
            body["field"] = field
        return Response(body, status=400)
    if isinstance(exc, drf_exc.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        return Response({"code": code, "message": str(exc.detail)}, status=exc.status_code)
    log.exception("unhandled API error")
    return Response({"code": "server_error", "message": "Something went wrong on our side; it has been logged."}, status=500)
