"""SMS: the Aliyun adapter's HMAC-SHA1 signature (the official SDK's signer) matches Aliyun's documented
example and is verified by a local SendSms endpoint that recomputes it independently; the provider is
chosen by settings; the console provider writes the demo file; a shopper who chose SMS gets one."""
import json

import pytest
from aliyunsdkcore.auth.algorithm import sha_hmac1
from aliyunsdkcore.auth.composer import rpc_signature_composer

from notifications.models import Message
from notifications.services import message_stable_id, notice_send, preferences_update
from notifications.sms import SmsError, SmsRequest, sms_provider_get
from notifications.sms.aliyun import AliyunSmsProvider
from tests.notifications.aliyun_server import AliyunSmsServer, rpc_signature, rpc_string_to_sign
from tests.notifications.helpers import FakeEvent, shipped_notice

# Aliyun SMS "HTTP protocol and signature" documentation, its worked example.
DOC_PARAMS = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123", "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
}
DOC_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers%3D15300000001"
    "%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF"
    "%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1"
    "%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007"
    "%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z"
    "%26Version%3D2017-05-25")
DOC_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="

KEY_ID, SECRET = "LTAI-test-key", "test-secret-123"
CODES = {"suborder_shipped": "SMS_900001", "order_placed": "SMS_900002"}


def test_the_sdk_signer_and_the_test_servers_check_reproduce_the_documented_example():
    sdk_string = getattr(rpc_signature_composer, "__compose_string_to_sign")("GET", dict(DOC_PARAMS))
    assert sdk_string == DOC_STRING_TO_SIGN
    assert sha_hmac1.get_sign_string(sdk_string, "testSecret&") == DOC_SIGNATURE
    assert rpc_string_to_sign("GET", DOC_PARAMS) == DOC_STRING_TO_SIGN  # the server's own implementation
    assert rpc_signature("GET", DOC_PARAMS, "testSecret") == DOC_SIGNATURE
    assert rpc_signature("GET", DOC_PARAMS, "wrongSecret") != DOC_SIGNATURE


def _provider(url, secret=SECRET):
    return AliyunSmsProvider(endpoint=url, access_key_id=KEY_ID, access_key_secret=secret, sign_name="Mallard商城",
                             template_codes=CODES)


def _request(**over):
    fields = {"to": "+8613800138000", "body": "Acme shipped your order", "kind": "suborder_shipped",
              "params": {"store": "Acme 极致户外", "number": "M-1"}, "idempotency_key": "m42-abc"}
    fields.update(over)
    return SmsRequest(**fields)


def test_send_sms_is_signed_and_accepted_by_the_local_endpoint():
    with AliyunSmsServer(access_key_id=KEY_ID, access_key_secret=SECRET) as server:
        biz_id = _provider(server.url).send(_request())
    assert server.refused == [] and len(server.sent) == 1
    sent = server.sent[0]
    assert biz_id == "900001^0"
    assert (sent["PhoneNumbers"], sent["SignName"], sent["TemplateCode"], sent["OutId"]) == (
        "8613800138000", "Mallard商城", "SMS_900001", "m42-abc")
    assert json.loads(sent["TemplateParam"]) == {"store": "Acme 极致户外", "number": "M-1"}
    assert sent["Format"] == "JSON" and sent["AccessKeyId"] == KEY_ID


def test_a_wrong_secret_is_refused_by_the_signature_check_and_raises():
    with AliyunSmsServer(access_key_id=KEY_ID, access_key_secret=SECRET) as server:
        with pytest.raises(SmsError, match="SignatureDoesNotMatch"):
            _provider(server.url, secret="not-the-secret").send(_request())
    assert server.refused == ["signature"] and server.sent == []


def test_provider_errors_and_an_unmapped_kind_raise_without_sending():
    with AliyunSmsServer(access_key_id=KEY_ID, access_key_secret=SECRET) as server:
        with pytest.raises(SmsError, match="isv.MOBILE_NUMBER_ILLEGAL"):
            _provider(server.url).send(_request(to="12ab"))
        with pytest.raises(SmsError, match="no Aliyun template code"):
            _provider(server.url).send(_request(kind="order_expired"))
    assert server.sent == []
    with pytest.raises(SmsError, match="unreachable"):
        _provider("http://127.0.0.1:9/").send(_request())


def test_settings_choose_the_provider(settings, tmp_path):
    settings.SMS_PROVIDER = "console"
    assert sms_provider_get().name == "console"
    settings.SMS_PROVIDER = "aliyun"
    settings.ALIYUN_SMS = {"endpoint": "http://127.0.0.1:1/", "access_key_id": KEY_ID, "access_key_secret": SECRET,
                           "sign_name": "S", "template_codes": json.dumps(CODES)}
    provider = sms_provider_get()
    assert provider.name == "aliyun" and provider.template_codes == CODES
    settings.ALIYUN_SMS = {**settings.ALIYUN_SMS, "access_key_secret": ""}
    with pytest.raises(SmsError, match="ACCESS_KEY_SECRET"):
        sms_provider_get()
    settings.SMS_PROVIDER = "carrier-pigeon"
    with pytest.raises(SmsError, match="unknown SMS provider"):
        sms_provider_get()


def _sms_shopper(mall, email):
    from permissions.services import user_create

    user = user_create(email=email, password="x-pass-123")
    preferences_update(user=user, language="zh-hans", phone="+8613800138001",
                       channels={"suborder_shipped": ["email", "sms"]})
    return user


def test_a_shopper_who_chose_sms_gets_one_through_aliyun_with_the_messages_stable_out_id(mall, settings, mailoutbox):
    _sms_shopper(mall, "sms-a@example.test")
    with AliyunSmsServer(access_key_id=KEY_ID, access_key_secret=SECRET) as server:
        settings.SMS_PROVIDER = "aliyun"
        settings.ALIYUN_SMS = {"endpoint": server.url, "access_key_id": KEY_ID, "access_key_secret": SECRET,
                               "sign_name": "Mallard", "template_codes": json.dumps(CODES)}
        event = FakeEvent()
        notice_send(event=event, delivery_key=event.delivery_key, notice=shipped_notice(email="sms-a@example.test", merchant_id=mall.acme.pk))
        notice_send(event=event, delivery_key=event.delivery_key, notice=shipped_notice(email="sms-a@example.test", merchant_id=mall.acme.pk))
    sms = Message.objects.get(event_id=event.pk, channel="sms")
    assert (sms.recipient, sms.status, sms.language, sms.provider_id) == ("+8613800138001", "sent", "zh-hans", "900001^0")
    assert len(server.sent) == 1 and server.sent[0]["OutId"] == message_stable_id(sms)
    assert json.loads(server.sent[0]["TemplateParam"])["number"] == "M-TEST-1"
    email = Message.objects.get(event_id=event.pk, channel="email")
    assert email.status == "sent" and len([m for m in mailoutbox if m.to == ["sms-a@example.test"]]) == 1


def test_the_console_provider_writes_the_demo_file(mall, settings, tmp_path):
    _sms_shopper(mall, "sms-b@example.test")
    settings.SMS_PROVIDER, settings.SMS_FILE_PATH = "console", tmp_path
    event = FakeEvent()
    notice_send(event=event, delivery_key=event.delivery_key, notice=shipped_notice(email="sms-b@example.test", merchant_id=mall.acme.pk))
    lines = [json.loads(x) for x in (tmp_path / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    sms = Message.objects.get(event_id=event.pk, channel="sms")
    assert [(x["to"], x["id"]) for x in lines] == [("+8613800138001", sms.provider_id)]
    assert lines[0]["body"] == "【Acme Outfitters】已发货：订单 M-TEST-1，SF Express 运单号 SF1234567890123。"
