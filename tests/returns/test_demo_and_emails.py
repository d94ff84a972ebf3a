"""The demo seeder leaves acme's returns in several states; each step of a return emails the shopper
(notifications, once per event) in their language."""
from __future__ import annotations

from django.test import TestCase

from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from permissions.services import membership_grant, user_create
from returns.models import ReturnRequest
from tests.orders.factories import stock_item
from tests.returns.helpers import delivered_suborder, lines_of


def test_the_demo_seeder_leaves_returns_in_several_states(mall):
    from returns.demo import seed_returns

    for _ in range(2):
        stock_item(mall.acme, stock=(50,))
    for role in ("owner", "warehouse", "finance"):
        membership_grant(user=user_create(email=f"{role}@acme.localhost", password=None), merchant=mall.acme, roles=[role])
    user_create(email="shopper2@example.com", password=None)
    with in_merchant_schema(mall.acme):
        ReturnRequest.objects.all().delete()
    seed_returns([mall.acme])
    with in_merchant_schema(mall.acme):
        got = sorted(ReturnRequest.objects.values_list("kind", "status"))
    assert got == sorted([("return", "requested"), ("return", "awaiting_return_shipment"), ("return", "received"),
                          ("return", "refunded"), ("return", "refused"), ("exchange", "exchanged"),
                          ("refund_only", "refunded")])
    seed_returns([mall.acme])  # idempotent
    with in_merchant_schema(mall.acme):
        assert ReturnRequest.objects.count() == 7


def test_each_step_emails_the_shopper_once_in_their_language(mall):
    from notifications.models import Message
    from returns import services as rsvc

    _order, so, _ = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        ret = rsvc.return_request_create(suborder_id=so.pk, shopper_email=so.shopper_email, kind="return",
                                         lines=[(lines_of(so)[0].pk, 1)], reason_code="damaged")
        rsvc.return_refuse(return_id=ret.pk, actor=mall.users["acme:owner"], reason="Photos show normal wear")
    with TestCase.captureOnCommitCallbacks(execute=True):
        outbox_relay_batch(limit=500)
    with TestCase.captureOnCommitCallbacks(execute=True):
        outbox_relay_batch(limit=500)  # a second relay sends nothing again
    sent = list(Message.objects.filter(kind="return_updated", recipient=so.shopper_email).order_by("pk")
                .values_list("subject", "status"))
    assert [s for s, _ in sent if ret.number in s] == [f"Your return {ret.number} at Acme Outfitters: Requested",
                                                      f"Your return {ret.number} at Acme Outfitters: Refused"]
    assert {st for _, st in sent} == {"sent"}


def test_a_shopper_who_reads_chinese_gets_the_chinese_email(mall):
    import uuid

    from notifications.models import Message
    from returns import services as rsvc

    zh = user_create(email=f"zh-{uuid.uuid4().hex[:10]}@example.test", password=None)
    zh.preferred_language = "zh-hans"
    zh.save(update_fields=["preferred_language"])
    _order, so, _ = delivered_suborder(mall, qty=1, shopper=zh)
    with in_merchant_schema(mall.acme):
        ret = rsvc.return_request_create(suborder_id=so.pk, shopper_email=so.shopper_email, kind="return",
                                         lines=[(lines_of(so)[0].pk, 1)], reason_code="damaged")
    with TestCase.captureOnCommitCallbacks(execute=True):
        outbox_relay_batch(limit=500)
    message = Message.objects.get(kind="return_updated", recipient=so.shopper_email)
    assert (message.language, message.subject.startswith(f"您在 Acme Outfitters 的售后单 {ret.number}")) == ("zh-hans", True)
