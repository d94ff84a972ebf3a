"""The sandbox gateway: a test gateway built into Mallard, for the demo and the tests.

It behaves like an outside gateway: the intent is a signed link to a hosted pay page on our own
site (/pay/sandbox/), whose buttons make the gateway side send notifications to our webhook
endpoint over HTTP, HMAC-signed with a timestamp (`X-Sandbox-Signature: t=<unix>,v1=<hex>`),
sometimes twice. Capture, void and refund answer at once.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings

from payments.gateways.base import IntentResult, Notification, NotificationRejected, OperationResult

SIGNATURE_HEADER = "X-Sandbox-Signature"
# sandbox event type -> payment status it moves to
EVENT_TARGETS = {"payment.requires_action": "requires_action", "payment.authorized": "authorized",
                 "payment.succeeded": "captured", "payment.failed": "failed", "payment.cancelled": "cancelled"}


def _mac(message: str) -> str:
    return hmac.new(settings.SANDBOX_WEBHOOK_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


def sign(body: bytes, *, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_mac(f'{t}.{body.decode()}')}"


def notification_body(*, event_id: str, kind: str, reference: str, order_number: str, amount_minor: int,
                      currency: str, refund_reference: str = "", created: int | None = None) -> bytes:
    return json.dumps({
        "id": event_id, "type": kind, "created": int(time.time()) if created is None else created,
        "data": {"reference": reference, "order_number": order_number, "amount_minor": amount_minor,
                 "currency": currency, "refund_reference": refund_reference},
    }, separators=(",", ":")).encode()


def page_params_sign(params: dict) -> str:
    return _mac("&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sig"))


class SandboxGateway:
    code = "sandbox"
    label = "Sandbox"

    def create_intent(self, *, payment, order, idempotency_key: str, return_url: str, notify_url: str) -> IntentResult:
        # The reference derives from the idempotency key: asking twice gives the same intent.
        reference = "sbx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
        params = {"ref": reference, "order": order.number, "amount": str(payment.amount_minor), "currency": payment.currency,
                  "capture": payment.capture_policy, "return": return_url, "notify": notify_url}
        params["sig"] = page_params_sign(params)
        return IntentResult(reference=reference, action_url="/pay/sandbox/?" + urlencode(params))

    def capture(self, *, payment, amount_minor: int, idempotency_key: str) -> OperationResult:
        return OperationResult(reference=payment.gateway_reference, status="succeeded")

    def void(self, *, payment, idempotency_key: str) -> OperationResult:
        return OperationResult(reference=payment.gateway_reference, status="succeeded")

    def refund(self, *, payment, refund, amount_minor: int, idempotency_key: str) -> OperationResult:
        # A refund reason starting with "[decline]" is refused: how tests and the demo show a failed refund.
        if refund is not None and refund.reason.startswith("[decline]"):
            return OperationResult(status="failed", failure="The sandbox declined this refund.")
        return OperationResult(reference="sbx_re_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16])

    def parse_notification(self, *, body: bytes, headers: dict[str, str]) -> Notification:
        header = headers.get(SIGNATURE_HEADER, "") or headers.get(SIGNATURE_HEADER.lower(), "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            t = int(parts.get("t", ""))
        except ValueError:
            raise NotificationRejected("Missing or malformed signature header.", field=SIGNATURE_HEADER) from None
        expected = _mac(f"{t}.{body.decode('utf-8', 'replace')}")
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise NotificationRejected("Bad signature.", field=SIGNATURE_HEADER)
        if abs(time.time() - t) > settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS:
            raise NotificationRejected("Stale notification: its timestamp is outside the tolerance.", field=SIGNATURE_HEADER)
        try:
            event = json.loads(body)
            data = event["data"]
            kind = str(event["type"])
            return Notification(
                event_id=str(event["id"]), kind=kind, reference=str(data.get("reference", "")),
                order_number=str(data.get("order_number", "")), target=EVENT_TARGETS.get(kind, ""),
                amount_minor=int(data["amount_minor"]) if data.get("amount_minor") is not None else None,
                currency=str(data.get("currency", "")),
                occurred_at=datetime.fromtimestamp(int(event.get("created", t)), UTC),
                refund_reference=str(data.get("refund_reference", "")),
                refund_status={"refund.succeeded": "succeeded", "refund.failed": "failed"}.get(kind, ""), raw=event,
            )
        except (ValueError, KeyError, TypeError):
            raise NotificationRejected("Malformed notification body.", field="body") from None

    def acknowledge(self, *, ok: bool) -> tuple[int, str, str]:
        return (200 if ok else 400), "application/json", json.dumps({"received": ok})
