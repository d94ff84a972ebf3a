"""The Alipay (支付宝) adapter: 当面付 QR codes (alipay.trade.precreate), close, refunds, and the RSA2-signed
async notifications Alipay POSTs to /webhooks/payments/alipay/. Signing and verification are
python-alipay-sdk's (AliPay.server_api / AliPay.verify); this module only speaks our terms.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import math
import re
from datetime import datetime
from http.client import HTTPException
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from django.conf import settings
from django.utils import timezone

from core.money import Money
from payments.gateways.base import GatewayError, IntentResult, Notification, NotificationRejected, OperationResult

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"
ALIPAY_TZ = ZoneInfo("Asia/Shanghai")  # every Alipay time (request timestamp, notify_time) is Beijing time
# trade_status -> our payment status. WAIT_BUYER_PAY arrives when the shopper has scanned the code.
TARGETS = {"WAIT_BUYER_PAY": "requires_action", "TRADE_SUCCESS": "captured", "TRADE_FINISHED": "captured",
           "TRADE_CLOSED": "failed"}
RETRYABLE_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR", "isp.unknow-error"})
_YUAN = re.compile(r"(0|[1-9]\d{0,11})(\.\d{1,2})?")


def yuan(minor: int) -> str:
    """Minor units -> Alipay's decimal yuan string: 3998 -> "39.98" (exact, no floats)."""
    return str(Money(minor, "CNY").to_decimal())


def minor_from_yuan(text: str) -> int:
    if not _YUAN.fullmatch(text or ""):
        raise ValueError(f"not a yuan amount: {text!r}")
    return Money.parse(text, "CNY", field="total_amount").minor


def out_no(key: str, *, underscores: bool = False) -> str:
    """A gateway-side number from our idempotency key (the same key always gives the same number).
    At most 64 characters; out_trade_no allows only letters, digits and underscores."""
    text = key.replace("-", "_") if underscores else key
    if len(text) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", text):
        return text
    return "mallard_" + hashlib.sha256(key.encode()).hexdigest()[:40]


def _key(text: str) -> str | bytes:
    # Alipay's console hands out bare base64 keys; pycryptodome imports those as DER.
    if "-----BEGIN" in text:
        return text
    return base64.b64decode("".join(text.split()))


@functools.lru_cache(maxsize=4)  # loading the private key takes pycryptodome ~0.2 s (its consistency check)
def _cached_client(app_id: str, private_key: str, public_key: str, gateway_url: str) -> AliPay:
    client = AliPay(appid=app_id, app_private_key_string=_key(private_key), alipay_public_key_string=_key(public_key),
                    sign_type="RSA2", config=AliPayConfig(timeout=15))
    # The SDK only knows production and its own sandbox (debug=True); tests and staging set the URL.
    client._gateway = gateway_url
    return client


def _client() -> AliPay:
    return _cached_client(settings.ALIPAY_APP_ID, settings.ALIPAY_APP_PRIVATE_KEY, settings.ALIPAY_PUBLIC_KEY,
                          settings.ALIPAY_GATEWAY_URL or PRODUCTION_GATEWAY)


def _beijing_now() -> str:
    # The SDK stamps requests with datetime.now() in the process's zone (UTC here); Alipay wants GMT+8.
    return timezone.now().astimezone(ALIPAY_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _failure(resp: dict) -> str:
    return f"{resp.get('sub_msg') or resp.get('msg') or 'refused'} ({resp.get('sub_code') or resp.get('code')})"


def _retryable(resp: dict) -> bool:
    return resp.get("code") == "20000" or resp.get("sub_code") in RETRYABLE_SUB_CODES


def _call(method: str, biz: dict, **params) -> dict:
    """One signed call; returns Alipay's verified answer (code "10000" = success, "40004" = refused)."""
    try:
        return _client().server_api(method, biz_content=biz, timestamp=_beijing_now(), **params)
    except AliPayValidationError:
        raise GatewayError(f"Alipay's answer to {method} failed signature verification.", retryable=True) from None
    except AliPayException as exc:  # an unsigned error answer: bad app id, key, or parameters
        code = getattr(exc, "_AliPayException__code", None)
        raise GatewayError(f"Alipay refused {method}: {exc}", retryable=code == "20000") from None
    except (OSError, HTTPException) as exc:  # unreachable or timed out
        raise GatewayError(f"Alipay could not be reached for {method}: {exc}", retryable=True) from None
    except (ValueError, KeyError, AttributeError, TypeError) as exc:  # not JSON, or not Alipay's answer shape
        raise GatewayError(f"Alipay's answer to {method} was not understood: {exc}", retryable=True) from None


class AlipayGateway:
    code = "alipay"
    label = "Alipay"

    def create_intent(self, *, payment, order, idempotency_key: str, return_url: str, notify_url: str) -> IntentResult:
        # Precreate (扫码支付), not page pay: it answers with a short qr_code made to be shown as a QR code
        # (our pay page encodes action_url), and the answer is signed, so the trade is known to exist.
        if payment.currency != "CNY":
            raise GatewayError(f"Alipay takes CNY only; this order is in {payment.currency}.", retryable=False)
        trade_no = out_no(idempotency_key, underscores=True)
        # Deterministic parameters: a retried precreate for the same out_trade_no must match the first.
        # Alipay counts timeout_express from the scan; a payment after our deadline is refunded as late.
        ttl = max(1, math.ceil((order.expires_at - order.created_at).total_seconds() / 60))
        biz = {"out_trade_no": trade_no, "total_amount": yuan(payment.amount_minor), "subject": f"Mallard {order.number}",
               "body": order.number, "timeout_express": f"{ttl}m"}
        resp = _call("alipay.trade.precreate", biz, notify_url=notify_url)
        if resp.get("code") != "10000" or not resp.get("qr_code"):
            raise GatewayError(f"Alipay refused the payment: {_failure(resp)}", retryable=_retryable(resp))
        return IntentResult(reference=trade_no, action_url=resp["qr_code"], action_kind="qr")

    def capture(self, *, payment, amount_minor: int, idempotency_key: str) -> OperationResult:
        return OperationResult(reference=payment.gateway_reference, status="succeeded")  # Alipay captures at once

    def void(self, *, payment, idempotency_key: str) -> OperationResult:
        resp = _call("alipay.trade.close", {"out_trade_no": payment.gateway_reference})
        if resp.get("code") == "10000":
            return OperationResult(reference=payment.gateway_reference, status="succeeded")
        if resp.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            # A precreated trade exists at Alipay only once scanned: nothing to close yet. Its code lapses
            # at timeout_express; a payment made on it later is refunded as a late payment.
            return OperationResult(reference=payment.gateway_reference, status="succeeded")
        if _retryable(resp):
            raise GatewayError(f"Alipay could not close the trade: {_failure(resp)}", retryable=True)
        return OperationResult(reference=payment.gateway_reference, status="failed", failure=_failure(resp))

    def refund(self, *, payment, refund, amount_minor: int, idempotency_key: str) -> OperationResult:
        # out_request_no is our refund key as it is ("mallard-refund-<pk>-<attempt>"): Alipay refunds once
        # per out_request_no, and the refund notification's out_biz_no maps back to the refund.
        request_no = out_no(idempotency_key)
        biz = {"out_trade_no": payment.gateway_reference, "refund_amount": yuan(amount_minor), "out_request_no": request_no,
               "refund_reason": (refund.reason if refund is not None else "paid after the order was cancelled")[:256]}
        resp = _call("alipay.trade.refund", biz)
        if resp.get("code") != "10000":
            if _retryable(resp):
                raise GatewayError(f"Alipay could not refund: {_failure(resp)}", retryable=True)
            return OperationResult(reference=request_no, status="failed", failure=_failure(resp))
        if resp.get("fund_change") == "Y":
            return OperationResult(reference=request_no, status="succeeded")
        # fund_change=N: no money moved by THIS call (a retry of a refund already made, or still in
        # progress). Alipay's advice: ask the refund query; REFUND_SUCCESS settles it, else keep waiting.
        query = _call("alipay.trade.fastpay.refund.query", {"out_trade_no": payment.gateway_reference,
                                                            "out_request_no": request_no})
        if query.get("code") == "10000" and query.get("refund_status") == "REFUND_SUCCESS":
            return OperationResult(reference=request_no, status="succeeded")
        return OperationResult(reference=request_no, status="pending")

    def parse_notification(self, *, body: bytes, headers: dict[str, str]) -> Notification:
        params = _form(body)
        sign = params.pop("sign", "")
        if not sign or params.get("sign_type") != "RSA2":
            raise NotificationRejected("Missing sign or sign_type is not RSA2.", field="sign")
        if params.get("app_id") != settings.ALIPAY_APP_ID:
            raise NotificationRejected("The notification is for another Alipay app.", field="app_id")
        try:
            verified = _client().verify(dict(params), sign)  # the SDK drops sign_type, sorts, checks RSA2
        except Exception:  # noqa: BLE001 - undecodable signature, bad key: refused, never a 500
            verified = False
        if not verified:
            raise NotificationRejected("Bad signature.", field="sign")
        # Alipay retries a notification for 25 hours with the same notify_id and notify_time: there is no
        # freshness to check; the notify_id is the dedupe key.
        try:
            event_id, trade_no = params["notify_id"], params["out_trade_no"]
            at = datetime.strptime(params["notify_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=ALIPAY_TZ)
            status = params.get("trade_status", "")
            if params.get("out_biz_no") and (params.get("refund_fee") or params.get("gmt_refund")):
                # A refund made (Alipay notifies refunds on the trade, TRADE_SUCCESS or TRADE_CLOSED when all is back).
                return Notification(event_id=event_id, kind=f"refund:{status}", reference=trade_no,
                                    order_number=params.get("body", ""), occurred_at=at,
                                    refund_reference=params["out_biz_no"], refund_status="succeeded", raw=params)
            amount = minor_from_yuan(params["total_amount"]) if params.get("total_amount") else None
        except (KeyError, ValueError):
            raise NotificationRejected("Malformed notification.", field="body") from None
        return Notification(event_id=event_id, kind=status or params.get("notify_type", ""), reference=trade_no,
                            order_number=params.get("body", ""), target=TARGETS.get(status, ""), amount_minor=amount,
                            currency="CNY", occurred_at=at, raw=params)

    def acknowledge(self, *, ok: bool) -> tuple[int, str, str]:
        # Alipay stops retrying only on the exact text "success".
        return (200, "text/plain", "success") if ok else (400, "text/plain", "fail")


def _form(body: bytes) -> dict[str, str]:
    """The notification's form fields, refused when not a well-formed UTF-8 form with each field once."""
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True, encoding="utf-8",
                          errors="strict", max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise NotificationRejected("The notification is not a form.", field="body") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise NotificationRejected("A field appears twice.", field="body")
    return params
