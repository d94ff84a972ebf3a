"""Typed domain errors. Each carries a stable `code`, a message for people, and the field at fault."""
from __future__ import annotations


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}
        if code:
            self.code = code

    def as_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class ValidationFailed(DomainError):
    code = "invalid"


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidTransition(Conflict):
    code = "invalid_transition"


class OutOfStock(DomainError):
    code = "out_of_stock"
    status = 409


class MerchantSuspended(DomainError):
    code = "merchant_suspended"
    status = 403


class WrongSchema(RuntimeError):
    """Programming error: code ran in the wrong schema. Never caught, never shown to users."""
