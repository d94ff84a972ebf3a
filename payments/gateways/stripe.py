"""The Stripe adapter: card payments on Stripe Checkout's hosted page, through the official SDK's StripeClient.

One Checkout Session per payment (its idempotency key derives from our payment id); the session id
is our reference. Stripe creates the session's PaymentIntent only when the shopper pays, so capture,
void and refund find it through the session, and a payment_intent.* webhook is named by its session
again (one lookup), so the payment services see the same reference for every event of one payment.
"""
from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from payments.gateways.base import GatewayError, IntentResult, Notification, NotificationRejected, OperationResult

SIGNATURE_HEADER = "Stripe-Signature"
# Three tries of at most 8 s (plus the SDK's backoff) stay under payments.CLAIM_SECONDS (30 s), so a
# slow Stripe never lets a second request take over an intent claim that is still being served.
REQUEST_TIMEOUT_SECONDS = 8
NETWORK_RETRIES = 2

# payment_intent event -> our payment status. checkout.session.* events are stored but not acted on:
# the PaymentIntent events say exactly what happened to the money (a session "completes" when a card
# is only authorized, too).
INTENT_TARGETS = {"payment_intent.succeeded": "captured", "payment_intent.amount_capturable_updated": "authorized",
                  "payment_intent.requires_action": "requires_action", "payment_intent.payment_failed": "failed"}
# Events whose data.object is a Refund (charge.refund.updated is the older name of refund.updated).
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})
REFUND_STATUS = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}  # pending, requires_action: wait
OPERATION_STATUS = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending", "processing": "pending",
                    "failed": "failed", "canceled": "failed"}
LATE_PAYMENT_KEY = "late_payment"  # metadata of refunds that give back a payment made after the order was cancelled


@functools.lru_cache(maxsize=4)
def _client_for(api_key: str, api_base: str, api_version: str) -> stripe.StripeClient:
    bases = {"api": api_base, "files": api_base, "connect": api_base, "meter_events": api_base} if api_base else {}
    return stripe.StripeClient(api_key, stripe_version=api_version, base_addresses=bases, max_network_retries=NETWORK_RETRIES,
                               http_client=stripe.RequestsClient(timeout=REQUEST_TIMEOUT_SECONDS))


def _client() -> stripe.StripeClient:
    # Built from settings at call time (tests point STRIPE_API_BASE at a local server); one client per
    # configuration, its HTTP sessions kept per thread by the SDK.
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE.rstrip("/"), settings.STRIPE_API_VERSION)


def _gateway_error(exc: stripe.StripeError, doing: str) -> GatewayError:
    status = exc.http_status or 0
    # Connection trouble, rate limits, Stripe's own 5xx and 409 (the same key still in flight) may
    # succeed later with the same idempotency key; anything else Stripe refused for good.
    retryable = isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or status >= 500 or status == 409
    if retryable:
        return GatewayError(_("Stripe could not be reached to %(doing)s; try again in a moment.") % {"doing": doing},
                            retryable=True, details={"stripe_request_id": exc.request_id or ""})
    why = exc.user_message or str(exc) or type(exc).__name__
    return GatewayError(_("Stripe refused to %(doing)s: %(why)s") % {"doing": doing, "why": why[:200]}, retryable=False,
                        details={"stripe_code": exc.code or "", "stripe_request_id": exc.request_id or ""})


def _call(doing: str, request):
    try:
        return request(_client())
    except stripe.StripeError as exc:
        raise _gateway_error(exc, doing) from exc


def _id(value) -> str:
    """An expandable field: an id string, an object, or None."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value["id"])


class StripeGateway:
    code = "stripe"
    label = "Stripe"

    # --- outgoing calls ---------------------------------------------------------------------------

    def create_intent(self, *, payment, order, idempotency_key: str, return_url: str, notify_url: str) -> IntentResult:
        # Every parameter derives from stored rows only, never from the clock or the request's language:
        # Stripe refuses a reused idempotency key whose parameters differ, and a retried claim must get
        # the first session back.
        # No expires_at (Checkout needs at least 30 minutes): our order expiry expires the session (void).
        # notify_url is unused: Stripe sends events to the endpoint set in its dashboard.
        meta = {"order_number": order.number, "payment_id": str(payment.pk)}
        intent_data: dict = {"transfer_group": order.number, "metadata": meta}
        if payment.capture_policy == "on_accept":
            intent_data["capture_method"] = "manual"
        params: dict = {
            "mode": "payment", "client_reference_id": order.number, "metadata": meta, "payment_intent_data": intent_data,
            "line_items": [{"quantity": 1, "price_data": {"currency": payment.currency.lower(), "unit_amount": payment.amount_minor,
                                                          "product_data": {"name": f"Order {order.number}"}}}],
            "success_url": return_url, "cancel_url": return_url,
        }
        if order.email:
            params["customer_email"] = order.email
        session = _call(_("start the payment"),
                        lambda c: c.v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key}))
        return IntentResult(reference=session.id, action_url=session.url or "", action_kind="redirect")

    def _intent_of(self, reference: str) -> str:
        """The PaymentIntent behind a reference: a session's (once the shopper paid), or the reference itself."""
        if not reference.startswith("cs_"):
            return reference
        session = _call(_("look up the payment"), lambda c: c.v1.checkout.sessions.retrieve(reference))
        return _id(session.payment_intent)

    def capture(self, *, payment, amount_minor: int, idempotency_key: str) -> OperationResult:
        intent_id = self._intent_of(payment.gateway_reference)
        if not intent_id:
            return OperationResult(status="failed", failure=_("The shopper has not paid at Stripe yet."))
        intent = _call(_("capture the payment"), lambda c: c.v1.payment_intents.capture(
            intent_id, {"amount_to_capture": amount_minor}, {"idempotency_key": idempotency_key}))
        return OperationResult(reference=intent.id, status=OPERATION_STATUS.get(intent.status, "failed"),
                               failure="" if intent.status == "succeeded" else f"PaymentIntent {intent.status}")

    def void(self, *, payment, idempotency_key: str) -> OperationResult:
        reference = payment.gateway_reference
        intent_id = reference
        if reference.startswith("cs_"):
            session = _call(_("cancel the payment"), lambda c: c.v1.checkout.sessions.retrieve(reference))
            if session.status == "open":  # not paid yet: close the hosted page
                _call(_("cancel the payment"), lambda c: c.v1.checkout.sessions.expire(reference, None,
                                                                                   {"idempotency_key": idempotency_key}))
                return OperationResult(reference=reference)
            intent_id = _id(session.payment_intent)
            if not intent_id:  # expired without a payment: nothing to cancel
                return OperationResult(reference=reference)
        intent = _call(_("cancel the payment"), lambda c: c.v1.payment_intents.cancel(intent_id, None,
                                                                                  {"idempotency_key": idempotency_key}))
        return OperationResult(reference=intent.id, status="succeeded" if intent.status == "canceled" else "failed",
                               failure="" if intent.status == "canceled" else f"PaymentIntent {intent.status}")

    def refund(self, *, payment, refund, amount_minor: int, idempotency_key: str) -> OperationResult:
        intent_id = self._intent_of(payment.gateway_reference)
        if not intent_id:
            return OperationResult(status="failed", failure=_("Stripe holds no payment for this order to refund."))
        # The refund's metadata names our refund, so refund.* webhooks can settle it.
        meta = {"payment_id": str(payment.pk)}
        if refund is None:
            meta[LATE_PAYMENT_KEY] = "1"
        else:
            meta.update(refund_reference=f"mallard-refund-{refund.pk}", reason=refund.reason[:500])
        made = _call(_("refund"), lambda c: c.v1.refunds.create(
            {"payment_intent": intent_id, "amount": amount_minor, "metadata": meta}, {"idempotency_key": idempotency_key}))
        status = OPERATION_STATUS.get(made.status or "", "pending")
        return OperationResult(reference=made.id, status=status,
                               failure=_refund_failure(made.get("failure_reason")) if status == "failed" else "")

    # --- incoming events ----------------------------------------------------------------------------

    def parse_notification(self, *, body: bytes, headers: dict[str, str]) -> Notification:
        signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
        try:
            # The SDK checks the HMAC over "<t>.<body>" and that t is within the tolerance.
            _client().construct_event(body, signature, settings.STRIPE_WEBHOOK_SECRET,
                                      tolerance=settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as exc:
            raise NotificationRejected(_("Bad or stale Stripe signature: %(why)s") % {"why": str(exc)[:200]},
                                       field=SIGNATURE_HEADER) from None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise NotificationRejected(_("Malformed Stripe event."), field="body") from None
        try:
            event = json.loads(body)
            return self._note(event)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise NotificationRejected(_("Malformed Stripe event."), field="body") from None

    def _note(self, event: dict) -> Notification:
        kind = str(event["type"])
        obj = event["data"]["object"]
        common = {"event_id": str(event["id"]), "kind": kind, "occurred_at": datetime.fromtimestamp(int(event["created"]), UTC),
                  "raw": event}
        meta = obj.get("metadata") or {}
        if kind.startswith("payment_intent."):
            target = INTENT_TARGETS.get(kind, "")
            amount = obj.get("amount")
            if kind == "payment_intent.succeeded":
                amount = obj.get("amount_received")
            elif kind == "payment_intent.amount_capturable_updated":
                amount = obj.get("amount_capturable")
                if obj.get("status") != "requires_capture" or not amount:
                    target = ""  # the capturable amount went back to 0 (captured or cancelled): nothing new
            reference = str(obj["id"])
            if target and meta.get("payment_id"):
                reference = self._session_of(reference) or reference
            return Notification(**common, reference=reference, order_number=str(meta.get("order_number", "")), target=target,
                                amount_minor=int(amount) if amount is not None else None, currency=str(obj.get("currency", "")).upper())
        if kind in REFUND_EVENTS and obj.get("object") == "refund":
            status = "" if meta.get(LATE_PAYMENT_KEY) else REFUND_STATUS.get(str(obj.get("status", "")), "")
            if status == "failed":  # refunds.refund_apply_notification reads the failure from raw
                common["raw"] = {**event, "failure": _refund_failure(obj.get("failure_reason"))}
            return Notification(**common, reference=str(obj["id"]), refund_reference=str(meta.get("refund_reference") or obj["id"]),
                                refund_status=status, amount_minor=int(obj["amount"]) if obj.get("amount") is not None else None,
                                currency=str(obj.get("currency", "")).upper())
        return Notification(**common, reference=str(obj.get("id", "")), order_number=str(meta.get("order_number", "")))

    def _session_of(self, intent_id: str) -> str:
        """The Checkout Session that created a PaymentIntent (our reference), or "" if none did."""
        page = _call(_("look up the payment"), lambda c: c.v1.checkout.sessions.list({"payment_intent": intent_id, "limit": 1}))
        return str(page.data[0].id) if page.data else ""

    def acknowledge(self, *, ok: bool) -> tuple[int, str, str]:
        return (200 if ok else 400), "application/json", json.dumps({"received": ok})


def _refund_failure(reason) -> str:
    reasons = {"expired_or_canceled_card": _("the card was cancelled or has expired"),
               "lost_or_stolen_card": _("the card was reported lost or stolen"),
               "charge_for_pending_refund_disputed": _("the payment is disputed")}
    return _("Stripe could not refund: %(why)s.") % {"why": reasons.get(reason or "", reason or _("no reason given"))}
