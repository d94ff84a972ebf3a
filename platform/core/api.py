"""API helpers: one exception handler turning every error into JSON with a stable code, and the OpenAPI
schema class documenting that error shape, the bearer token and Idempotency-Key on every operation."""
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions as drf_exc
from rest_framework import serializers
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
    if isinstance(exc, DataError):
        # A value PostgreSQL cannot hold (an id beyond bigint, text longer than its column) that slipped
        # past the edge parsers: the client's input is at fault, so a 400 rather than a 500. The failed
        # statement was rolled back by autocommit or by the atomic block it propagated through.
        log.warning("database refused a value: %s", exc)
        return Response({"code": "invalid", "message": _("A value is out of range or too long.")}, status=400)
    log.exception("unhandled API error")
    return Response({"code": "server_error", "message": _("Something went wrong on our side; it has been logged.")}, status=500)


# ---------------------------------------------------------------- OpenAPI: what every operation really answers

class ErrorOutput(serializers.Serializer):
    """The body of every 4xx/5xx answer of the API (exception_handler above, core.middleware)."""

    code = serializers.CharField(help_text="Stable machine-readable code: invalid, not_found, permission_denied, "
                                           "not_authenticated, conflict, out_of_stock, invalid_transition, …")
    message = serializers.CharField(help_text="For people, in the request's language.")
    field = serializers.CharField(required=False, help_text="The field, parameter or header at fault, e.g. "
                                                            "lines.0.quantity or Idempotency-Key.")
    errors = serializers.JSONField(required=False, help_text="400 invalid: every field's messages, as DRF reports them.")
    details = serializers.JSONField(required=False, help_text="Extra facts of some domain errors.")


_ERROR_RESPONSES = {
    "400": "Invalid input (the field at fault is named).",
    "401": "No credentials, or an invalid, revoked or other host's API token.",
    "403": "Signed in, but the role, token scope or store does not allow it.",
    "404": "No such object here (or not visible to you).",
    "409": "Conflicts with the current state: a transition not allowed now, stock gone, a reused Idempotency-Key.",
    "413": "The request body is larger than the API accepts.",
    "429": "Too many requests with this API token: wait Retry-After seconds (see X-RateLimit-Limit / X-RateLimit-Remaining).",
}
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class MallardAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus what every Mallard endpoint really does: the error answers in
    the one error shape, and the `Idempotency-Key` header on the writes decorated with `core.idempotency.idempotent`."""

    def _get_parameters(self):
        params = super()._get_parameters()
        handler = getattr(self.view, self.method.lower(), None)
        declared = [p for p in params if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        if declared or getattr(handler, "idempotency_key_required", False):
            # one definition, with the bounds core.idempotency really checks, wherever a view declared its own
            params = [p for p in params if p not in declared] + [IDEMPOTENCY_KEY]
        return params

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        authenticated = any(self.get_auth())  # [{}] alone: anonymous access allowed
        for code, description in _ERROR_RESPONSES.items():
            if code in responses or (code in ("401", "429") and not authenticated) or (
                    code == "413" and self.method not in _BODY_METHODS):
                continue
            responses[code] = self._get_response_for_code(
                OpenApiResponse(response=ErrorOutput, description=description), code, direction=direction)
        return responses


IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[!-~]([ -~]*[!-~])?$"},
    "description": "1-200 printable characters (ASCII is safest in a header), unique per intended change: a retry "
                   "with the same key gets the first answer again (header Idempotent-Replayed: true); the same key "
                   "on another path is a 409."}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <token>`: a personal API token, scoped to one store's host or to the mall host."""

    target_class = "permissions.api_auth.ApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A personal API token (Account → API tokens). A store's token works only on that "
                               "store's host; a shopper's token only on the mall host."}


def not_found(request, exception=None):
    """handler404 of both URLconfs: an unknown API path (or an id that no route accepts) is a JSON 404 in
    the error shape; pages keep Django's 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "message": _("Not found.")}, status=404)
    return page_not_found(request, exception)


def results_of(serializer_class) -> serializers.Serializer:
    """The schema of `{"results": [...]}`, the answer of a list that is short enough not to be paged."""
    name = serializer_class.__name__.removesuffix("Output")
    return inline_serializer(name=f"{name}Results", fields={"results": serializer_class(many=True)})
