"""A local Alipay open-API gateway for the tests (threaded HTTP on 127.0.0.1).

Like openapi.alipay.com/gateway.do it checks each request's RSA2 signature with the app's public
key (sorted non-empty parameters except `sign`), its app id and its GMT+8 timestamp; answers
alipay.trade.precreate / close / refund / fastpay.refund.query in Alipay's JSON, signed with
"Alipay's" private key over the exact `*_response` object; and builds the signed form-encoded
async notifications Alipay POSTs to the notify_url. It records every call it answers.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

BEIJING = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def rsa2_sign(key: RSAPrivateKey, content: str) -> str:
    return base64.b64encode(key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def _beijing(at: datetime | None = None) -> str:
    return (at or datetime.now(BEIJING)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _yuan(text: str) -> Decimal:
    value = Decimal(text)
    if value <= 0 or value != value.quantize(Decimal("0.01")):
        raise ValueError(text)
    return value


class AlipayServer:
    def __init__(self, *, app_id: str, app_public_key: RSAPublicKey, alipay_key: RSAPrivateKey):
        self.app_id, self.app_public_key, self.alipay_key = app_id, app_public_key, alipay_key
        self.trades: dict[str, dict] = {}  # out_trade_no -> trade
        self.calls: list[tuple[str, dict, dict]] = []  # (method, biz_content, other parameters) of answered calls
        self.refused: list[str] = []  # why requests were refused before any business (signature, app id, time)
        self.refunds_made = 0  # refunds that moved money
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # python-alipay-sdk sends everything in the query string
                self._answer(urlsplit(self.path).query)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self._answer(self.rfile.read(length).decode())

            def _answer(self, query: str):
                raw = server.answer(dict(parse_qsl(query, keep_blank_values=True)))
                data = raw.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/gateway.do"

    def start(self) -> AlipayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        with self._lock:
            self.trades.clear()
            self.calls.clear()
            self.refused.clear()
            self.refunds_made = 0

    def methods(self) -> list[str]:
        return [m for m, _b, _p in self.calls]

    # --- the open API -------------------------------------------------------------------------------

    def answer(self, params: dict) -> str:
        method = params.get("method", "")
        response_type = method.replace(".", "_") + "_response"
        why = self._check(params)
        if why:
            self.refused.append(why)
            # Alipay answers a bad signature or app id unsigned: the SDK raises on it.
            return json.dumps({response_type: {"code": "40002", "msg": "Invalid Arguments", "sub_code": why}})
        biz = json.loads(params.get("biz_content") or "{}")
        handler = {"alipay.trade.precreate": self._precreate, "alipay.trade.close": self._close,
                   "alipay.trade.refund": self._refund, "alipay.trade.fastpay.refund.query": self._refund_query}.get(method)
        with self._lock:
            self.calls.append((method, biz, {k: v for k, v in params.items() if k not in ("biz_content", "sign")}))
            body = handler(biz, params) if handler else {"code": "40004", "msg": "Business Failed",
                                                          "sub_code": "isv.invalid-method", "sub_msg": "不存在的方法名"}
        inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        # The signature covers the exact text of the *_response object, as Alipay signs it.
        return f'{{"{response_type}":{inner},"sign":"{rsa2_sign(self.alipay_key, inner)}"}}'

    def _check(self, params: dict) -> str:
        params = dict(params)
        sign = params.pop("sign", "")
        content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v != "")
        try:
            self.app_public_key.verify(base64.b64decode(sign), content.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "isv.invalid-signature"
        if params.get("app_id") != self.app_id:
            return "isv.invalid-app-id"
        if params.get("sign_type") != "RSA2" or params.get("charset") != "utf-8" or params.get("version") != "1.0":
            return "isv.invalid-parameter"
        try:
            sent = datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        except ValueError:
            return "isv.invalid-timestamp"
        if abs(datetime.now(BEIJING) - sent) > timedelta(minutes=15):
            return "isv.invalid-timestamp"
        return ""

    @staticmethod
    def _refused(sub_code: str, sub_msg: str) -> dict:
        return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}

    def _precreate(self, biz: dict, params: dict) -> dict:
        no = biz.get("out_trade_no", "")
        try:
            amount = _yuan(biz.get("total_amount", ""))
        except (ArithmeticError, ValueError):
            return {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-parameter", "sub_msg": "total_amount"}
        if not no or not biz.get("subject"):
            return {"code": "40001", "msg": "Missing Required Arguments", "sub_code": "isv.missing-parameter"}
        trade = self.trades.get(no)
        if trade is not None:
            if trade["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                return self._refused("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if (trade["total_amount"], trade["subject"]) != (amount, biz["subject"]):
                return self._refused("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
        else:
            trade = self.trades[no] = {
                "out_trade_no": no, "total_amount": amount, "subject": biz["subject"], "body": biz.get("body", ""),
                "notify_url": params.get("notify_url", ""), "status": "CREATED", "trade_no": "",
                "qr_code": "https://qr.alipay.com/bax0" + hashlib.sha256(no.encode()).hexdigest()[:20],
                "refunds": {}, "refunded": Decimal("0.00")}
        return {"code": "10000", "msg": "Success", "out_trade_no": no, "qr_code": trade["qr_code"]}

    def _close(self, biz: dict, params: dict) -> dict:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None or trade["status"] == "CREATED":  # a precreated trade exists once scanned
            return self._refused("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade["status"] != "WAIT_BUYER_PAY":
            return self._refused("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade["status"] = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"]}

    def _refund(self, biz: dict, params: dict) -> dict:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None or trade["status"] == "CREATED":
            return self._refused("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade["status"] not in ("TRADE_SUCCESS", "TRADE_CLOSED") or (trade["status"] == "TRADE_CLOSED" and not trade["refunds"]):
            return self._refused("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        try:
            amount = _yuan(biz.get("refund_amount", ""))
        except (ArithmeticError, ValueError):
            return {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-parameter", "sub_msg": "refund_amount"}
        request_no = biz.get("out_request_no") or trade["out_trade_no"]
        done = trade["refunds"].get(request_no)
        if done is not None:
            if done["amount"] != amount:
                return self._refused("ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致")
            fund_change = "N"  # the same out_request_no again: answered, no money moves a second time
        else:
            if trade["refunded"] + amount > trade["total_amount"]:
                return self._refused("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            trade["refunds"][request_no] = {"amount": amount, "at": _beijing(), "reason": biz.get("refund_reason", "")}
            trade["refunded"] += amount
            self.refunds_made += 1
            if trade["refunded"] == trade["total_amount"]:
                trade["status"] = "TRADE_CLOSED"
            fund_change = "Y"
        return {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"],
                "buyer_logon_id": "sho***@example.com", "fund_change": fund_change, "refund_fee": str(trade["refunded"]),
                "gmt_refund_pay": trade["refunds"][request_no]["at"], "buyer_user_id": "2088102177846880"}

    def _refund_query(self, biz: dict, params: dict) -> dict:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        done = trade["refunds"].get(biz.get("out_request_no", "")) if trade else None
        if done is None:  # Alipay: a refund it does not know is answered with no refund fields
            return {"code": "10000", "msg": "Success"}
        return {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"],
                "out_request_no": biz["out_request_no"], "total_amount": str(trade["total_amount"]),
                "refund_amount": str(done["amount"]), "refund_status": "REFUND_SUCCESS"}

    # --- the shopper's side, and the async notifications ------------------------------------------------

    def scan(self, out_trade_no: str) -> bytes:
        """The shopper scanned the code: the trade now exists at Alipay, waiting for payment."""
        with self._lock:
            trade = self.trades[out_trade_no]
            trade["status"], trade["trade_no"] = "WAIT_BUYER_PAY", f"2026{next(_seq):024d}"
            trade["gmt_create"] = _beijing()
        return self.notification(out_trade_no)

    def pay(self, out_trade_no: str) -> bytes:
        """The shopper paid: TRADE_SUCCESS, and its notification (form body)."""
        if self.trades[out_trade_no]["status"] == "CREATED":
            self.scan(out_trade_no)
        with self._lock:
            trade = self.trades[out_trade_no]
            trade["status"], trade["gmt_payment"] = "TRADE_SUCCESS", _beijing()
        return self.notification(out_trade_no)

    def finish(self, out_trade_no: str) -> bytes:
        """The refund window passed: TRADE_FINISHED."""
        with self._lock:
            self.trades[out_trade_no]["status"] = "TRADE_FINISHED"
        return self.notification(out_trade_no)

    def notification(self, out_trade_no: str, *, key: RSAPrivateKey | None = None, refund: str = "", **override) -> bytes:
        """The trade's async notification in its current status (or for refund `refund`), signed with
        Alipay's key unless `key` is given. `override` replaces fields AFTER signing, as a forger would."""
        trade = self.trades[out_trade_no]
        total = str(trade["total_amount"])
        params = {
            "notify_time": _beijing(), "notify_type": "trade_status_sync", "notify_id": uuid.uuid4().hex + "0",
            "charset": "utf-8", "version": "1.0", "sign_type": "RSA2", "app_id": self.app_id, "auth_app_id": self.app_id,
            "trade_no": trade["trade_no"], "out_trade_no": out_trade_no, "trade_status": trade["status"],
            "total_amount": total, "subject": trade["subject"], "body": trade["body"], "gmt_create": trade.get("gmt_create", _beijing()),
            "buyer_id": "2088102177846880", "buyer_logon_id": "sho***@example.com", "seller_id": "2088101106499364",
            "seller_email": "mall@example.com",
        }
        if trade.get("gmt_payment"):
            params.update({"gmt_payment": trade["gmt_payment"], "receipt_amount": total, "invoice_amount": total,
                           "buyer_pay_amount": total, "point_amount": "0.00",
                           "fund_bill_list": json.dumps([{"amount": total, "fundChannel": "ALIPAYACCOUNT"}])})
        if refund:
            params.update({"out_biz_no": refund, "refund_fee": str(trade["refunded"]),
                           "gmt_refund": trade["refunds"][refund]["at"] + ".123"})
        content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type"))
        params["sign"] = rsa2_sign(key or self.alipay_key, content)
        params.update(override)
        return urlencode(params).encode()
