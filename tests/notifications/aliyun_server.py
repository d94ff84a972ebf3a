"""A local Aliyun SMS endpoint (Dysmsapi 2017-05-25 SendSms, RPC style) for the tests: threaded HTTP on
127.0.0.1. It recomputes each request's HMAC-SHA1 signature by the documented algorithm (written here
independently of the SDK: sorted parameters, RFC 3986 percent-encoding, METHOD&%2F&encoded-query, key
secret + "&", base64) and answers in Aliyun's JSON: {"Code": "OK", "BizId": ...} or the documented error
codes (SignatureDoesNotMatch, InvalidAccessKeyId.NotFound, isv.*)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

_seq = itertools.count(1)


def percent_encode(text: str) -> str:
    return quote(text, safe="~")


def rpc_string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def rpc_signature(method: str, params: dict[str, str], secret: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), rpc_string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsServer:
    def __init__(self, *, access_key_id: str, access_key_secret: str):
        self.keys = {access_key_id: access_key_secret}
        self.sent: list[dict] = []  # the parameters of every accepted SendSms
        self.refused: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                params.update(dict(parse_qsl(body, keep_blank_values=True)))
                status, answer = server.answer("POST", params)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, method: str, params: dict[str, str]) -> tuple[int, dict]:
        request_id = f"REQ-{next(_seq):06d}"
        secret = self.keys.get(params.get("AccessKeyId", ""))
        if secret is None:
            self.refused.append("key")
            return 404, {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found.",
                         "RequestId": request_id}
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            self.refused.append("method")
            return 400, {"Code": "InvalidParameter", "Message": "SignatureMethod", "RequestId": request_id}
        if not hmac.compare_digest(params.get("Signature", ""), rpc_signature(method, params, secret)):
            self.refused.append("signature")
            return 400, {"Code": "SignatureDoesNotMatch",
                         "Message": "Specified signature is not matched with our calculation.", "RequestId": request_id}
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return 400, {"Code": "InvalidAction.NotFound", "Message": "Specified api is not found", "RequestId": request_id}
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return 400, {"Code": "MissingParameter", "Message": name, "RequestId": request_id}
        if not params["PhoneNumbers"].isdigit():
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "invalid mobile number", "RequestId": request_id}
        try:
            json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return 200, {"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON format error", "RequestId": request_id}
        with self._lock:
            self.sent.append(params)
            biz_id = f"{900000 + len(self.sent)}^0"
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
