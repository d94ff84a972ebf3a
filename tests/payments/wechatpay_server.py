"""A local WeChat Pay API v3 server for the tests (threaded HTTP on 127.0.0.1).

Like api.mch.weixin.qq.com it checks each request's `Authorization: WECHATPAY2-SHA256-RSA2048 ...`
(merchant id, certificate serial, timestamp, and the RSA-SHA256 signature over
"METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY\\n" with the merchant's public key); answers Native pay,
close order and domestic refunds in WeChat's JSON, each answer signed with the platform key
(Wechatpay-Timestamp/Nonce/Signature/Serial headers); and builds notifications whose `resource`
is AES-256-GCM-encrypted with the APIv3 key and whose delivery headers are signed the same way.
It records every call it answers.
"""
from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHINA = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)
_AUTH = re.compile(r'WECHATPAY2-SHA256-RSA2048 (.+)')


def _sign(key: RSAPrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def _now() -> str:
    return datetime.now(CHINA).isoformat(timespec="seconds")


class WeChatPayServer:
    def __init__(self, *, mchid: str, appid: str, merchant_serial: str, merchant_public_key: RSAPublicKey,
                 platform_key: RSAPrivateKey, public_key_id: str, apiv3_key: str):
        self.mchid, self.appid, self.merchant_serial = mchid, appid, merchant_serial
        self.merchant_public_key, self.platform_key, self.public_key_id = merchant_public_key, platform_key, public_key_id
        self.apiv3_key = apiv3_key
        self.trades: dict[str, dict] = {}  # out_trade_no -> order
        self.refunds: dict[str, dict] = {}  # out_refund_no -> refund
        self.calls: list[tuple[str, str, dict]] = []  # (method, path, JSON body) of answered calls
        self.refused: list[str] = []  # requests refused for their Authorization
        self.refunds_made = 0  # refunds that moved money
        self.refund_outcome = "SUCCESS"  # what a new refund answers: SUCCESS or PROCESSING
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

            def _answer(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                status, data = server.answer(method, self.path, body, self.headers.get("Authorization", ""))
                text = "" if data is None else json.dumps(data, ensure_ascii=False)
                payload = text.encode()
                self.send_response(status)
                if 200 <= status < 300:  # WeChat Pay signs its successful answers, 204's empty body included
                    for k, v in server.sign_delivery(text.encode()).items():
                        self.send_header(k, v)
                self.send_header("Request-ID", uuid.uuid4().hex)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> WeChatPayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        with self._lock:
            self.trades.clear()
            self.refunds.clear()
            self.calls.clear()
            self.refused.clear()
            self.refunds_made = 0
            self.refund_outcome = "SUCCESS"

    def paths(self) -> list[str]:
        return [f"{m} {p}" for m, p, _b in self.calls]

    # --- the API ------------------------------------------------------------------------------------

    def answer(self, method: str, path: str, body: str, authorization: str) -> tuple[int, dict | None]:
        why = self._check(method, path, body, authorization)
        if why:
            self.refused.append(why)
            return 401, {"code": "SIGN_ERROR", "message": why}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, {"code": "PARAM_ERROR", "message": "body is not JSON"}
        with self._lock:
            self.calls.append((method, path, data))
            route = path.split("?")[0]
            if method == "POST" and route == "/v3/pay/transactions/native":
                return self._native(data)
            m = re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)/close", route)
            if method == "POST" and m:
                return self._close(m.group(1), data)
            if method == "POST" and route == "/v3/refund/domestic/refunds":
                return self._refund(data)
            m = re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", route)
            if method == "GET" and m and m.group(1) in self.refunds:
                return 200, self._refund_view(self.refunds[m.group(1)])
        return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "资源不存在"}

    def _check(self, method: str, path: str, body: str, authorization: str) -> str:
        m = _AUTH.fullmatch(authorization.strip())
        if not m:
            return "no WECHATPAY2-SHA256-RSA2048 Authorization"
        fields = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if fields.get("mchid") != self.mchid or fields.get("serial_no") != self.merchant_serial:
            return "unknown mchid or certificate serial"
        if not fields.get("timestamp", "").isdigit() or abs(time.time() - int(fields["timestamp"])) > 300:
            return "timestamp outside 5 minutes"
        message = f"{method}\n{path}\n{fields['timestamp']}\n{fields.get('nonce_str', '')}\n{body}\n"
        try:
            self.merchant_public_key.verify(base64.b64decode(fields.get("signature", "")), message.encode(),
                                            padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "bad signature"
        return ""

    def _native(self, data: dict) -> tuple[int, dict]:
        no, amount = data.get("out_trade_no", ""), data.get("amount") or {}
        if data.get("mchid") != self.mchid or data.get("appid") != self.appid:
            return 400, {"code": "PARAM_ERROR", "message": "mchid/appid 不匹配"}
        if not (6 <= len(no) <= 32) or not isinstance(amount.get("total"), int) or amount["total"] <= 0 \
                or not data.get("description") or not data.get("notify_url"):
            return 400, {"code": "PARAM_ERROR", "message": "参数错误"}
        trade = self.trades.get(no)
        asked = {k: data.get(k) for k in ("description", "amount", "time_expire", "attach", "notify_url")}
        if trade is not None:
            if trade["trade_state"] == "SUCCESS":
                return 400, {"code": "ORDERPAID", "message": "该订单已支付"}
            if trade["asked"] != asked:
                return 400, {"code": "INVALID_REQUEST", "message": "201 商户订单号重复"}
        else:
            trade = self.trades[no] = {"out_trade_no": no, "asked": asked, "total": amount["total"], "trade_state": "NOTPAY",
                                       "code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}",
                                       "transaction_id": "", "refunded": 0}
        return 200, {"code_url": trade["code_url"]}

    def _close(self, no: str, data: dict) -> tuple[int, dict | None]:
        trade = self.trades.get(no)
        if data.get("mchid") != self.mchid:
            return 400, {"code": "PARAM_ERROR", "message": "mchid 不匹配"}
        if trade is None:
            return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
        if trade["trade_state"] == "SUCCESS":
            return 400, {"code": "ORDERPAID", "message": "该订单已支付"}
        trade["trade_state"] = "CLOSED"
        return 204, None

    def _refund(self, data: dict) -> tuple[int, dict]:
        trade = self.trades.get(data.get("out_trade_no", ""))
        amount, no = data.get("amount") or {}, data.get("out_refund_no", "")
        if trade is None:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
        if trade["trade_state"] not in ("SUCCESS", "REFUND"):
            return 400, {"code": "INVALID_REQUEST", "message": "订单未支付"}
        refund_minor = amount.get("refund")
        if not no or not isinstance(refund_minor, int) or refund_minor <= 0 or amount.get("total") != trade["total"] \
                or amount.get("currency") != "CNY":
            return 400, {"code": "PARAM_ERROR", "message": "退款金额或订单金额错误"}
        done = self.refunds.get(no)
        if done is not None:  # the same out_refund_no again: the first refund, no money moves twice
            if done["refund"] != refund_minor:
                return 400, {"code": "INVALID_REQUEST", "message": "同一退款单号的退款金额不一致"}
            return 200, self._refund_view(done)
        if trade["refunded"] + refund_minor > trade["total"]:
            return 400, {"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"}
        refund = self.refunds[no] = {"out_refund_no": no, "refund_id": f"50300{next(_seq):027d}", "refund": refund_minor,
                                     "out_trade_no": trade["out_trade_no"], "status": self.refund_outcome,
                                     "reason": data.get("reason", ""), "notify_url": data.get("notify_url", ""),
                                     "create_time": _now(), "success_time": _now() if self.refund_outcome == "SUCCESS" else ""}
        trade["refunded"] += refund_minor
        trade["trade_state"] = "REFUND"
        self.refunds_made += 1
        return 200, self._refund_view(refund)

    def _refund_view(self, refund: dict) -> dict:
        trade = self.trades[refund["out_trade_no"]]
        view = {"refund_id": refund["refund_id"], "out_refund_no": refund["out_refund_no"],
                "transaction_id": trade["transaction_id"], "out_trade_no": trade["out_trade_no"], "channel": "ORIGINAL",
                "user_received_account": "支付用户零钱", "create_time": refund["create_time"], "status": refund["status"],
                "funds_account": "AVAILABLE",
                "amount": {"total": trade["total"], "refund": refund["refund"], "payer_total": trade["total"],
                           "payer_refund": refund["refund"], "settlement_total": trade["total"],
                           "settlement_refund": refund["refund"], "discount_refund": 0, "currency": "CNY", "refund_fee": 0}}
        if refund["success_time"]:
            view["success_time"] = refund["success_time"]
        return view

    # --- the shopper's side, and notifications -------------------------------------------------------

    def pay(self, out_trade_no: str) -> bytes:
        """The shopper scanned the code and paid: the TRANSACTION.SUCCESS notification body."""
        with self._lock:
            trade = self.trades[out_trade_no]
            trade.update(trade_state="SUCCESS", transaction_id=f"42000{next(_seq):023d}", success_time=_now())
        return self.notification("TRANSACTION.SUCCESS", "transaction", "支付成功", {
            "mchid": self.mchid, "appid": self.appid, "out_trade_no": out_trade_no, "transaction_id": trade["transaction_id"],
            "trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
            "attach": trade["asked"]["attach"] or "", "success_time": trade["success_time"],
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {"total": trade["total"], "payer_total": trade["total"], "currency": "CNY", "payer_currency": "CNY"}})

    def settle_refund(self, out_refund_no: str, status: str = "SUCCESS") -> bytes:
        """A PROCESSING refund ends (SUCCESS, CLOSED or ABNORMAL): its REFUND.<status> notification body."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            trade = self.trades[refund["out_trade_no"]]
            refund["status"] = status
            refund["success_time"] = _now() if status == "SUCCESS" else ""
            if status == "CLOSED":
                trade["refunded"] -= refund["refund"]
        resource = {"mchid": self.mchid, "out_trade_no": trade["out_trade_no"], "transaction_id": trade["transaction_id"],
                    "out_refund_no": out_refund_no, "refund_id": refund["refund_id"], "refund_status": status,
                    "user_received_account": "支付用户零钱",
                    "amount": {"total": trade["total"], "refund": refund["refund"], "payer_total": trade["total"],
                               "payer_refund": refund["refund"]}}
        if refund["success_time"]:
            resource["success_time"] = refund["success_time"]
        return self.notification(f"REFUND.{status}", "refund", {"SUCCESS": "退款成功"}.get(status, "退款异常"), resource)

    def notification(self, event_type: str, original_type: str, summary: str, resource: dict, *,
                     apiv3_key: str | None = None) -> bytes:
        """A notification body: `resource` AES-256-GCM-encrypted with the APIv3 key (12-byte nonce,
        associated_data = original_type). Its id stays the same on every delivery."""
        nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay sends
        plain = json.dumps(resource, ensure_ascii=False).encode()
        cipher = AESGCM((apiv3_key or self.apiv3_key).encode()).encrypt(nonce.encode(), plain, original_type.encode())
        return json.dumps({
            "id": str(uuid.uuid4()), "create_time": _now(), "resource_type": "encrypt-resource", "event_type": event_type,
            "summary": summary, "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                                             "ciphertext": base64.b64encode(cipher).decode(),
                                             "associated_data": original_type, "nonce": nonce}}, ensure_ascii=False).encode()

    def sign_delivery(self, body: bytes, *, key: RSAPrivateKey | None = None, timestamp: int | None = None,
                      serial: str | None = None) -> dict[str, str]:
        """The headers of one delivery (or answer): signed afresh each time, with the platform key unless `key`."""
        stamp, nonce = str(int(time.time()) if timestamp is None else timestamp), secrets.token_hex(16).upper()
        return {"Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": _sign(key or self.platform_key, f"{stamp}\n{nonce}\n{body.decode()}\n"),
                "Wechatpay-Serial": serial or self.public_key_id, "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}
