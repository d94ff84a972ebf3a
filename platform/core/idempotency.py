"""`Idempotency-Key` for API writes: the first successful answer is stored and replayed for a retry
with the same key (same user, same schema); the same key on another path is refused (409)."""
from __future__ import annotations

import functools

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from core.errors import Conflict, ValidationFailed
from core.models import IdempotentRequest
from core.tenancy import current_schema


def _key(request) -> str:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 200 or not key.isprintable():
        raise ValidationFailed("An Idempotency-Key (1–200 printable characters) is required.", field="Idempotency-Key")
    return key


def idempotent(view_method):
    """Decorate an APIView's post(): require the header; replay the stored answer of a retry."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = _key(request)
        scope = f"user:{request.user.pk}@{current_schema()}"
        done = IdempotentRequest.objects.filter(scope=scope, key=key).first()
        if done is not None:
            if done.path != request.path:
                raise Conflict("This Idempotency-Key was already used for another request.", field="Idempotency-Key",
                               code="idempotency_key_reused")
            return Response(done.body, status=done.status, headers={"Idempotent-Replayed": "true"})
        response = view_method(self, request, *args, **kwargs)
        if 200 <= response.status_code < 300:
            try:
                with transaction.atomic():
                    IdempotentRequest.objects.create(scope=scope, key=key, path=request.path[:300],
                                                     status=response.status_code, body=response.data)
            except IntegrityError:
                pass  # a concurrent retry stored first; both answers describe the same change
        return response

    wrapper.idempotency_key_required = True  # core.api.MallardAutoSchema documents the header
    return wrapper
