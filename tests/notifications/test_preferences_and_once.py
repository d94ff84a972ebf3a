"""Shopper preferences (which notifications, which channel, which language) on the mall host's account
page, and the message log's guarantee: one message per (event, recipient, channel) however often the
subscriber runs; a run interrupted between send and mark re-sends with the same Message-ID."""
import pytest

from core.outbox import outbox_emit
from notifications import channels, handlers
from notifications.models import Message, NotificationProfile
from notifications.services import Notice, notice_send, preferences_update
from permissions.services import user_create
from tests.notifications.helpers import FakeEvent, shipped_notice

PAGE = "/account/notifications/"


@pytest.fixture
def shopper(mall):
    return user_create(email="prefs@example.test", password="x-pass-123")


def test_the_shopper_sets_preferences_on_the_account_page(mall, client_at, shopper):
    client = client_at(None, shopper)
    body = client.get(PAGE).content.decode()
    assert 'data-kind="suborder_shipped"' in body and 'data-kind="merchant_welcome"' not in body  # shopper kinds only
    resp = client.post(PAGE, {"language": "zh-hans", "phone": "+86 138-0013-8000", "ch_suborder_shipped": ["email", "sms"],
                              "ch_suborder_accepted": ["email"]})
    assert resp.status_code == 302
    profile = NotificationProfile.objects.get(user=shopper)
    assert (profile.language, profile.phone) == ("zh-hans", "+8613800138000")
    assert profile.channels["suborder_shipped"] == ["email", "sms"] and profile.channels["suborder_accepted"] == ["email"]
    assert profile.channels["suborder_delivered"] == []  # unticked: not sent at all
    body = client.get(PAGE).content.decode()
    assert 'value="+8613800138000"' in body


@pytest.mark.parametrize("data,field", [
    ({"phone": "call me"}, "phone"),
    ({"phone": "", "ch_suborder_shipped": ["sms"]}, "phone"),
    ({"language": "fr"}, "language"),
    ({"ch_suborder_shipped": ["pigeon"]}, "channels.suborder_shipped"),
])
def test_bad_preferences_are_refused_naming_the_field_and_nothing_saved(mall, client_at, shopper, data, field):
    resp = client_at(None, shopper).post(PAGE, data)
    assert resp.status_code == 400 and f'data-field="{field}"' in resp.content.decode()
    assert not NotificationProfile.objects.filter(user=shopper).exists()


def test_the_page_needs_a_signed_in_user(mall, client_at):
    resp = client_at(None, None).get(PAGE)
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_a_notification_turned_off_sends_nothing_and_writes_no_message(mall, shopper, mailoutbox):
    preferences_update(user=shopper, language="", phone="", channels={"suborder_shipped": []})
    event = FakeEvent()
    assert notice_send(event=event, delivery_key="off", notice=shipped_notice(email=shopper.email, merchant_id=mall.acme.pk)) == []
    assert mailoutbox == [] and not Message.objects.filter(event_id=event.pk).exists()
    # other notifications still come by email, in the account's language
    event2 = FakeEvent()
    notice_send(event=event2, delivery_key="on", notice=Notice(
        kind="suborder_delivered", email=shopper.email, merchant_id=mall.acme.pk,
        context={"store": "Acme Outfitters", "number": "M-9", "mall_host": "localhost"}))
    assert [m.subject for m in mailoutbox] == ["Your order M-9 from Acme Outfitters was delivered"]


def test_the_preferred_language_applies_before_the_accounts(mall, shopper, mailoutbox):
    from permissions.models import User

    User.objects.filter(pk=shopper.pk).update(preferred_language="en")
    preferences_update(user=shopper, language="zh-hans", phone="", channels={})
    notice_send(event=FakeEvent(), delivery_key="lang", notice=shipped_notice(email=shopper.email, merchant_id=mall.acme.pk))
    assert mailoutbox[0].subject == "Acme Outfitters 已发货：您的订单 M-TEST-1"
    assert Message.objects.get(recipient=shopper.email).language == "zh-hans"


def _order_placed_event(email):
    return outbox_emit(topic="order.placed", aggregate_type="order", aggregate_id=str(FakeEvent().pk),
                       payload={"number": "M-ONCE-1", "email": email, "total_minor": 12800, "currency": "CNY",
                                "suborders": [{"merchant_id": 1}]})


def test_a_rerun_of_the_subscriber_sends_once_per_event_recipient_and_channel(mall, mailoutbox):
    event = _order_placed_event("once@example.test")
    handlers.send_order_placed(event)
    handlers.send_order_placed(event)
    mine = [m for m in mailoutbox if m.to == ["once@example.test"]]
    assert [m.subject for m in mine] == ["Mallard order M-ONCE-1"] and "CNY 128.00" in mine[0].body
    message = Message.objects.get(event_id=event.pk)
    assert (message.status, message.attempts, message.kind, message.topic) == ("sent", 1, "order_placed", "order.placed")
    assert message.provider_id == mine[0].extra_headers["Message-ID"] == mine[0].message()["Message-ID"]


def test_a_run_interrupted_between_send_and_mark_resends_with_the_same_message_id(mall, mailoutbox):
    event = _order_placed_event("crash@example.test")
    handlers.send_order_placed(event)
    first = mailoutbox[-1].extra_headers["Message-ID"]
    # as if the worker died after the SMTP server took the email but before the row was marked sent
    Message.objects.filter(event_id=event.pk).update(status="queued", provider_id="", sent_at=None)
    handlers.send_order_placed(event)
    mine = [m for m in mailoutbox if m.to == ["crash@example.test"]]
    assert len(mine) == 2 and mine[1].extra_headers["Message-ID"] == first  # the receiver can drop the repeat
    assert Message.objects.filter(event_id=event.pk).count() == 1
    # as if the row itself was rolled back with the relay's transaction: the id does not hang on the row
    Message.objects.filter(event_id=event.pk).delete()
    handlers.send_order_placed(event)
    assert mailoutbox[-1].to == ["crash@example.test"] and mailoutbox[-1].extra_headers["Message-ID"] == first
    assert first.startswith(f"<e{event.pk}-") and first.endswith("@mallard.localhost>")


def test_a_failed_send_is_recorded_and_the_retry_sends_once(mall, mailoutbox, monkeypatch):
    event = FakeEvent()
    real = channels.email_send

    def down(**kwargs):
        raise OSError("SMTP connection refused")

    monkeypatch.setattr(channels, "email_send", down)
    with pytest.raises(OSError):
        notice_send(event=event, delivery_key=event.delivery_key, notice=shipped_notice(email="retry@example.test", merchant_id=mall.acme.pk))
    failed = Message.objects.get(event_id=event.pk)
    assert (failed.status, failed.error) == ("failed", "OSError: SMTP connection refused")
    monkeypatch.setattr(channels, "email_send", real)
    notice_send(event=event, delivery_key=event.delivery_key, notice=shipped_notice(email="retry@example.test", merchant_id=mall.acme.pk))
    notice_send(event=event, delivery_key=event.delivery_key, notice=shipped_notice(email="retry@example.test", merchant_id=mall.acme.pk))
    sent = Message.objects.get(event_id=event.pk)
    assert (sent.status, sent.attempts, sent.error) == ("sent", 2, "")
    assert len([m for m in mailoutbox if m.to == ["retry@example.test"]]) == 1


def test_through_the_relay_a_lost_worker_resends_with_the_same_message_id_and_a_rerun_sends_nothing(mall, mailoutbox):
    """The real relay: the subscriber is external; the worker "dies" after the email left and before anything
    was recorded (message row queued, delivery sending, its lease run out): the relay makes the delivery
    again, the email goes again with the same Message-ID; once marked sent, a forced redelivery sends nothing."""
    from datetime import timedelta

    from django.utils import timezone

    from core.models import OutboxDelivery
    from core.outbox import outbox_relay_batch

    event = _order_placed_event("relay@example.test")
    while outbox_relay_batch(limit=500):
        pass
    mine = [m for m in mailoutbox if m.to == ["relay@example.test"]]
    assert len(mine) == 1
    first = mine[0].extra_headers["Message-ID"]
    delivery = OutboxDelivery.objects.get(event_id=event.pk, subscriber="notifications.order_placed")
    assert delivery.status == "delivered"
    Message.objects.filter(event_id=event.pk).update(status="queued", provider_id="", sent_at=None)
    OutboxDelivery.objects.filter(pk=delivery.pk).update(status="sending", delivered_at=None,
                                                         lease_until=timezone.now() - timedelta(seconds=1))
    while outbox_relay_batch(limit=500):
        pass
    mine = [m for m in mailoutbox if m.to == ["relay@example.test"]]
    assert [m.extra_headers["Message-ID"] for m in mine] == [first, first]
    assert Message.objects.get(event_id=event.pk).status == "sent"
    OutboxDelivery.objects.filter(pk=delivery.pk).update(status="pending", available_at=timezone.now())
    while outbox_relay_batch(limit=500):
        pass
    assert len([m for m in mailoutbox if m.to == ["relay@example.test"]]) == 2
    assert OutboxDelivery.objects.get(pk=delivery.pk).status == "delivered"
