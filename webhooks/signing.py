"""Webhook signatures: `Mallard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of f"{t}.{body}">` (one v1 per
active secret: two during a rotation's overlap), as Stripe's header. docs/api.md shows receivers how to check it."""
from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets

SIGNATURE_HEADER = "Mallard-Signature"
DELIVERY_HEADER = "Mallard-Delivery"
EVENT_HEADER = "Mallard-Event"
EVENT_ID_HEADER = "Mallard-Event-Id"
SECRET_PREFIX = "whsec_"


def secret_generate() -> str:
    return SECRET_PREFIX + _secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def signature_header(*, secrets: list[str], timestamp: int, body: str) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets)])
