"""Aliyun SMS (Dysmsapi 2017-05-25) SendSms over its RPC API, signed HMAC-SHA1 by the official SDK's signer
(aliyun-python-sdk-core: the string-to-sign of sorted, percent-encoded parameters, keyed with secret + "&").

Aliyun sends only pre-approved templates: each notification kind maps to a TemplateCode
(settings.ALIYUN_SMS["template_codes"], JSON), and the kind's variables go as TemplateParam. OutId carries the
message's stable id, so a retried send is recognisable in Aliyun's receipts."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from aliyunsdkcore.auth.composer import rpc_signature_composer
from django.conf import settings

from notifications.sms import SmsError, SmsRequest

TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 64 * 1024


class AliyunSmsProvider:
    name = "aliyun"

    def __init__(self, *, endpoint: str, access_key_id: str, access_key_secret: str, sign_name: str,
                 template_codes: dict[str, str]):
        self.endpoint = endpoint.rstrip("/") + "/"
        self.access_key_id, self.access_key_secret = access_key_id, access_key_secret
        self.sign_name, self.template_codes = sign_name, template_codes

    @classmethod
    def from_settings(cls) -> AliyunSmsProvider:
        conf = settings.ALIYUN_SMS
        codes = conf.get("template_codes") or {}
        if isinstance(codes, str):
            try:
                codes = json.loads(codes or "{}")
            except ValueError as err:
                raise SmsError(f"ALIYUN_SMS_TEMPLATE_CODES is not JSON: {err}") from None
        if not (conf.get("access_key_id") and conf.get("access_key_secret") and conf.get("sign_name")):
            raise SmsError("Aliyun SMS needs ALIYUN_SMS_ACCESS_KEY_ID, ALIYUN_SMS_ACCESS_KEY_SECRET and ALIYUN_SMS_SIGN_NAME")
        return cls(endpoint=conf.get("endpoint") or "https://dysmsapi.aliyuncs.com/", access_key_id=conf["access_key_id"],
                   access_key_secret=conf["access_key_secret"], sign_name=conf["sign_name"], template_codes=codes)

    def signed_query(self, request: SmsRequest) -> str:
        code = self.template_codes.get(request.kind)
        if not code:
            raise SmsError(f"no Aliyun template code for {request.kind!r} (ALIYUN_SMS_TEMPLATE_CODES)")
        params = {
            "Action": "SendSms", "Version": "2017-05-25", "RegionId": "cn-hangzhou",
            "PhoneNumbers": request.to.lstrip("+"), "SignName": self.sign_name, "TemplateCode": code,
            "TemplateParam": json.dumps({k: str(v)[:35] for k, v in request.params.items()}, ensure_ascii=False,
                                        sort_keys=True),
            "OutId": request.idempotency_key[:64],
        }
        # The SDK adds AccessKeyId, Format, SignatureMethod/Version/Nonce and Timestamp, then signs.
        url, _string_to_sign = rpc_signature_composer.get_signed_url(
            params, self.access_key_id, self.access_key_secret, "JSON", "POST", {})
        return url  # "/?<query with Signature>"

    def send(self, request: SmsRequest) -> str:
        url = self.endpoint + "?" + self.signed_query(request)[2:]  # signed_query starts with "/?"
        http_request = urllib.request.Request(url, data=b"", method="POST",
                                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(http_request, timeout=TIMEOUT_SECONDS) as resp:  # noqa: S310 (https endpoint from settings)
                raw = resp.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as err:
            raw = err.read(MAX_RESPONSE_BYTES)
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise SmsError(f"Aliyun SMS unreachable: {err}") from None
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise SmsError(f"Aliyun SMS answered something that is not JSON: {raw[:200]!r}") from None
        if body.get("Code") != "OK":
            raise SmsError(f"Aliyun SMS refused: {body.get('Code')}: {body.get('Message')}")
        return str(body.get("BizId") or body.get("RequestId") or "")
