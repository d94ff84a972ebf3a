"""The WeChat Pay (微信支付) API v3 adapter: Native pay (a code_url shown as a QR code), close order,
domestic refunds, and the signed, AES-256-GCM-encrypted notifications WeChat Pay POSTs to
/webhooks/payments/wechatpay/. Request signing, answer and notification verification and
decryption are wechatpayv3's; it runs in platform-public-key mode, so it never downloads
platform certificates.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.urls import reverse
from wechatpayv3 import WeChatPay, WeChatPayType

from payments.gateways.base import GatewayError, IntentResult, Notification, NotificationRejected, OperationResult

PRODUCTION_API = "https://api.mch.weixin.qq.com"
CHINA_TZ = ZoneInfo("Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# trade_state -> our payment status. Native pay notifies SUCCESS; the others come from a query.
TARGETS = {"SUCCESS": "captured", "USERPAYING": "requires_action", "PAYERROR": "failed", "CLOSED": "failed",
           "REVOKED": "failed"}
REFUND_STATUSES = {"SUCCESS": "succeeded", "PROCESSING": "pending", "CLOSED": "failed", "ABNORMAL": "failed"}
RETRYABLE_CODES = frozenset({"SYSTEM_ERROR", "SYSTEMERROR", "FREQUENCY_LIMITED", "BANK_ERROR"})


def out_no(key: str, *, limit: int) -> str:
    """A WeChat-side number from our idempotency key (the same key always gives the same number):
    out_trade_no is 6-32 characters, out_refund_no at most 64, both letters, digits, _ and -."""
    if 6 <= len(key) <= limit and re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    return "m" + hashlib.sha256(key.encode()).hexdigest()[: limit - 1]


@functools.lru_cache(maxsize=4)
def _cached_client(mchid: str, appid: str, private_key: str, serial: str, apiv3_key: str, public_key: str,
                   public_key_id: str, api_base: str) -> WeChatPay:
    client = WeChatPay(wechatpay_type=WeChatPayType.NATIVE, mchid=mchid, private_key=private_key, cert_serial_no=serial,
                       appid=appid, apiv3_key=apiv3_key, public_key=public_key, public_key_id=public_key_id, timeout=(5, 15))
    # The SDK has no option for its API host (it is api.mch.weixin.qq.com); tests point it at a local server.
    client._core._gate_way = api_base.rstrip("/")
    return client


def _client() -> WeChatPay:
    s = settings
    return _cached_client(s.WECHATPAY_MCHID, s.WECHATPAY_APPID, s.WECHATPAY_PRIVATE_KEY, s.WECHATPAY_CERT_SERIAL,
                          s.WECHATPAY_APIV3_KEY, s.WECHATPAY_PUBLIC_KEY, s.WECHATPAY_PUBLIC_KEY_ID,
                          s.WECHATPAY_API_BASE or PRODUCTION_API)


def _call(what: str, fn, **kw) -> tuple[int, dict]:
    """One signed call; returns (HTTP status, the JSON answer). A 2xx answer's signature is verified."""
    try:
        status, text = fn(**kw)
    except requests.RequestException as exc:
        raise GatewayError(f"WeChat Pay could not be reached ({what}): {exc}", retryable=True) from None
    except Exception as exc:  # noqa: BLE001 - the SDK raises a bare Exception when the answer's signature is bad
        raise GatewayError(f"WeChat Pay's answer ({what}) was refused: {exc}", retryable=True) from None
    try:
        data = json.loads(text) if text else {}
    except (TypeError, ValueError):
        data = {}
    return status, data if isinstance(data, dict) else {}


def _failure(status: int, data: dict) -> str:
    return f"{data.get('message') or 'refused'} ({data.get('code') or status})"


def _retryable(status: int, data: dict) -> bool:
    return status >= 500 or status == 429 or data.get("code") in RETRYABLE_CODES


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


class WeChatPayGateway:
    code = "wechatpay"
    label = "WeChat Pay"

    def create_intent(self, *, payment, order, idempotency_key: str, return_url: str, notify_url: str) -> IntentResult:
        if payment.currency != "CNY":
            raise GatewayError(f"WeChat Pay takes CNY only; this order is in {payment.currency}.", retryable=False)
        trade_no = out_no(idempotency_key, limit=32)
        # The same out_trade_no with the same parameters gives the same code_url, so everything here is
        # derived from the order (time_expire is its own deadline), never from the clock.
        status, data = _call("native order", _client().pay, description=f"Mallard {order.number}", out_trade_no=trade_no,
                             amount={"total": payment.amount_minor, "currency": "CNY"}, notify_url=notify_url,
                             time_expire=order.expires_at.astimezone(CHINA_TZ).isoformat(timespec="seconds"),
                             attach=order.number, pay_type=WeChatPayType.NATIVE)
        if status != 200 or not data.get("code_url"):
            raise GatewayError(f"WeChat Pay refused the payment: {_failure(status, data)}", retryable=_retryable(status, data))
        return IntentResult(reference=trade_no, action_url=data["code_url"], action_kind="qr")

    def capture(self, *, payment, amount_minor: int, idempotency_key: str) -> OperationResult:
        return OperationResult(reference=payment.gateway_reference, status="succeeded")  # Native pay captures at once

    def void(self, *, payment, idempotency_key: str) -> OperationResult:
        status, data = _call("close order", _client().close, out_trade_no=payment.gateway_reference)
        if status in (200, 204) or data.get("code") == "ORDER_NOT_EXIST":  # nothing to close is closed enough
            return OperationResult(reference=payment.gateway_reference, status="succeeded")
        if _retryable(status, data):
            raise GatewayError(f"WeChat Pay could not close the order: {_failure(status, data)}", retryable=True)
        return OperationResult(reference=payment.gateway_reference, status="failed", failure=_failure(status, data))

    def refund(self, *, payment, refund, amount_minor: int, idempotency_key: str) -> OperationResult:
        # out_refund_no is our refund key ("mallard-refund-<pk>-<attempt>"): WeChat Pay makes one refund per
        # out_refund_no, and REFUND.* notifications carry it back to refund_apply_notification.
        refund_no = out_no(idempotency_key, limit=64)
        # The mall host's webhook (refunds run outside any request, so name its URLconf); without a
        # MALL_BASE_URL WeChat Pay uses the refund URL set in its merchant platform.
        notify_url = (settings.MALL_BASE_URL.rstrip("/") + reverse("payments-webhook", args=[self.code],
                                                                   urlconf=settings.PUBLIC_SCHEMA_URLCONF)
                      if settings.MALL_BASE_URL else None)
        reason = (refund.reason if refund is not None else "paid after the order was cancelled")[:80]
        status, data = _call("refund", _client().refund, out_refund_no=refund_no, out_trade_no=payment.gateway_reference,
                             amount={"refund": amount_minor, "total": payment.amount_minor, "currency": payment.currency},
                             reason=reason, notify_url=notify_url)
        if status != 200:
            if _retryable(status, data):
                raise GatewayError(f"WeChat Pay could not refund: {_failure(status, data)}", retryable=True)
            return OperationResult(status="failed", failure=_failure(status, data))
        result = REFUND_STATUSES.get(data.get("status", ""), "pending")
        failure = "" if result != "failed" else f"WeChat Pay closed the refund ({data.get('status')})."
        return OperationResult(reference=str(data.get("refund_id", "")), status=result, failure=failure)

    def parse_notification(self, *, body: bytes, headers: dict[str, str]) -> Notification:
        h = {k.lower(): v for k, v in headers.items()}
        signature, stamp, nonce, serial = (h.get(f"wechatpay-{n}", "") for n in ("signature", "timestamp", "nonce", "serial"))
        if not (signature and stamp and nonce and serial):
            raise NotificationRejected("Missing Wechatpay-Signature/Timestamp/Nonce/Serial.", field="Wechatpay-Signature")
        # An unknown serial would make the SDK fetch platform certificates from the API: refuse it here.
        if serial != settings.WECHATPAY_PUBLIC_KEY_ID:
            raise NotificationRejected("Signed with a key we do not know (Wechatpay-Serial).", field="Wechatpay-Serial")
        if not stamp.isascii() or not stamp.isdigit() or abs(time.time() - int(stamp)) > settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS:
            raise NotificationRejected("Stale notification: its timestamp is outside the tolerance.", field="Wechatpay-Timestamp")
        sdk_headers = {"Wechatpay-Signature": signature, "Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce,
                       "Wechatpay-Serial": serial, "Wechatpay-Signature-Type": h.get("wechatpay-signature-type") or SIGNATURE_TYPE}
        try:
            event = _client().callback(sdk_headers, body.decode("utf-8"))  # verifies, then decrypts `resource`
        except Exception:  # noqa: BLE001 - not UTF-8, not JSON, unknown algorithm: refused, never a 500
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("resource"), dict):
            raise NotificationRejected("Bad signature, or the resource does not decrypt with our APIv3 key.", field="Wechatpay-Signature")
        resource, kind = event["resource"], str(event.get("event_type", ""))
        if resource.get("mchid", settings.WECHATPAY_MCHID) != settings.WECHATPAY_MCHID:
            raise NotificationRejected("The notification is for another merchant id.", field="mchid")
        raw = {k: event.get(k) for k in ("id", "create_time", "event_type", "summary")} | {"resource": resource}
        try:
            event_id, at = str(event["id"]), _time(resource.get("success_time")) or _time(event.get("create_time"))
            if kind.startswith("REFUND."):
                outcome = REFUND_STATUSES.get(resource["refund_status"], "")
                if outcome == "failed":  # read by refund_apply_notification
                    raw["failure"] = f"WeChat Pay: refund {resource['refund_status']} ({resource.get('user_received_account', '')})"
                return Notification(event_id=event_id, kind=kind, reference=str(resource.get("out_trade_no", "")),
                                    occurred_at=at, refund_reference=str(resource["out_refund_no"]),
                                    refund_status=outcome if outcome != "pending" else "", raw=raw)
            amount = resource.get("amount") or {}
            total = amount.get("total")
            if total is not None and (not isinstance(total, int) or isinstance(total, bool)):
                raise ValueError("amount.total")
            return Notification(event_id=event_id, kind=kind, reference=str(resource.get("out_trade_no", "")),
                                order_number=str(resource.get("attach", "")),
                                target=TARGETS.get(str(resource.get("trade_state", "")), "") if kind.startswith("TRANSACTION.") else "",
                                amount_minor=total, currency=str(amount.get("currency", "")), occurred_at=at, raw=raw)
        except (KeyError, ValueError, TypeError, AttributeError):
            raise NotificationRejected("Malformed notification.", field="body") from None

    def acknowledge(self, *, ok: bool) -> tuple[int, str, str]:
        if ok:
            return 204, "application/json", ""
        return 400, "application/json", json.dumps({"code": "FAIL", "message": "not accepted"})
