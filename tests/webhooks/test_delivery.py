"""Merchant webhooks end to end against a real local HTTP receiver: every event of a suborder's lifecycle once
per delivery id, in order, signed as documented; a failing endpoint delays nobody else; the retry schedule,
the dead letter, auto-disable with one email; replays; timeouts and huge answers bounded."""
import itertools
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from fulfillment.shipments import shipment_create, suborder_confirm_receipt
from suborders import services as svc
from tests.webhooks.helpers import dispatch_round, dispatch_until_idle, fan_out, paid_suborder, relay
from webhooks import transport
from webhooks.dispatch import retry_delay
from webhooks.due_index.models import WebhookDueMerchant
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import deliveries_replay, endpoint_create

_n = itertools.count(1)


def _endpoint(mall, url, types=("*",), merchant=None):
    with in_merchant_schema(merchant or mall.acme):
        return endpoint_create(actor=mall.users["acme:owner"] if merchant in (None, mall.acme) else mall.users["globex:owner"],
                               url=url, event_types=list(types))


def test_a_suborder_lifecycle_reaches_the_receiver_once_per_delivery_in_order_and_signed(mall, receiver, verify_snippet):
    # the receiver fails its first request: the later events of the suborder must wait for that retry
    ep, secret = _endpoint(mall, receiver.url("/flaky"), ["suborder.paid", "suborder.accepted", "suborder.shipped",
                                                           "suborder.delivered"])
    order, so = paid_suborder(mall)
    relay()
    with in_merchant_schema(mall.acme):
        svc.suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
    relay()
    dispatch_round(mall.acme)  # paid goes out and fails; accepted waits behind it
    with in_merchant_schema(mall.acme):
        shipment_create(suborder_id=so.pk, actor=mall.users["acme:warehouse"], lines=None, carrier="sf",
                        tracking_number=f"SF1{next(_n):012d}")
    relay()
    with in_merchant_schema(mall.acme):
        suborder_confirm_receipt(suborder_id=so.pk, shopper_email=order.email)
    relay()
    dispatch_until_idle(mall.acme)  # nothing overtakes the failed paid delivery before its retry time
    assert [r.json["type"] for r in receiver.at("/flaky")] == ["suborder.paid"]
    later = timezone.now() + timedelta(minutes=2)
    dispatch_until_idle(mall.acme, now=later)
    dispatch_until_idle(mall.acme, now=later)  # nothing more is due: nothing is sent twice

    got = [r for r in receiver.at("/flaky") if r.json["data"]["suborder_id"] == so.pk]
    assert [r.json["type"] for r in got] == ["suborder.paid", "suborder.paid", "suborder.accepted", "suborder.shipped",
                                             "suborder.delivered"]
    assert [r.headers["Mallard-Event"] for r in got] == [r.json["type"] for r in got]
    ids = [r.headers["Mallard-Delivery"] for r in got]
    assert ids[0] == ids[1]  # the retry carries the same delivery id
    assert len(set(ids)) == 4
    got = got[1:]
    for r in got:
        assert verify_snippet(secret, r.headers["Mallard-Signature"], r.body) is True
        assert verify_snippet("whsec_wrong", r.headers["Mallard-Signature"], r.body) is False
        assert verify_snippet(secret, r.headers["Mallard-Signature"], r.body + b" ") is False
        assert r.json["merchant"] == "acme" and r.json["api_version"] == "2026-12-01"
        assert r.headers["Mallard-Event-Id"] == r.json["id"]
    assert got[2].json["data"]["from"] == "accepted" and got[2].json["data"]["to"] == "shipped"
    with in_merchant_schema(mall.acme):
        rows = list(WebhookDelivery.objects.filter(endpoint=ep).order_by("id"))
        mine = [d for d in rows if d.payload["data"]["suborder_id"] == so.pk]
        assert [d.status for d in mine] == ["succeeded"] * 4
        assert [d.delivery_id for d in mine] == ids[1:]
        assert all(d.response_code == 200 and d.response_body == '{"received": true}' and d.duration_ms is not None for d in mine)
        assert all(d.request_headers["Mallard-Delivery"] == d.delivery_id for d in mine)
    # the due index forgets a merchant with nothing left to send
    assert not WebhookDueMerchant.objects.filter(merchant_id=mall.acme.pk).exists()


def test_the_documented_node_snippet_verifies_a_real_delivery(mall, receiver, node_verify):
    ep, secret = _endpoint(mall, receiver.url("/node"), ["suborder.paid"])
    fan_out(mall.acme, suborder_id=6001, event_no=6001)
    dispatch_until_idle(mall.acme)
    [request] = receiver.at("/node")
    header = request.headers["Mallard-Signature"]
    assert node_verify(secret, header, request.body) is True
    assert node_verify("whsec_wrong", header, request.body) is False
    assert node_verify(secret, header, request.body.replace(b"6001", b"6002")) is False


def test_an_old_signature_fails_the_documented_tolerance(mall, verify_snippet):
    from webhooks.signing import signature_header

    old = int(time.time()) - 301
    assert verify_snippet("whsec_x", signature_header(secrets=["whsec_x"], timestamp=old, body="{}"), b"{}") is False
    fresh = int(time.time())
    assert verify_snippet("whsec_x", signature_header(secrets=["whsec_x"], timestamp=fresh, body="{}"), b"{}") is True


def test_a_failing_endpoint_does_not_delay_another_endpoint_or_other_suborders(mall, receiver):
    bad, _ = _endpoint(mall, receiver.url("/fail"))
    good, _ = _endpoint(mall, receiver.url("/ok"))
    for i, (kind, suborder) in enumerate([("suborder.paid", 7001), ("suborder.accepted", 7001), ("suborder.paid", 7002)]):
        fan_out(mall.acme, event_type=kind, suborder_id=suborder, event_no=9000 + i)
    started = time.monotonic()
    dispatch_until_idle(mall.acme)
    assert time.monotonic() - started < 5
    good_events = [(r.json["data"]["suborder_id"], r.json["type"]) for r in receiver.at("/ok")]
    assert sorted(good_events) == [(7001, "suborder.accepted"), (7001, "suborder.paid"), (7002, "suborder.paid")]
    assert good_events.index((7001, "suborder.paid")) < good_events.index((7001, "suborder.accepted"))
    with in_merchant_schema(mall.acme):
        assert set(WebhookDelivery.objects.filter(endpoint=good).values_list("status", flat=True)) == {"succeeded"}
        by_status = {d.payload["data"]["suborder_id"]: [] for d in WebhookDelivery.objects.filter(endpoint=bad)}
        for d in WebhookDelivery.objects.filter(endpoint=bad).order_by("id"):
            by_status[d.payload["data"]["suborder_id"]].append(d.status)
        # the failing endpoint: one probe at a time; its later event of suborder 7001 waits behind the first
        assert by_status[7001] == ["failed", "pending"]
        assert WebhookEndpoint.objects.get(pk=bad.pk).failing_since is not None
        assert WebhookEndpoint.objects.get(pk=good.pk).failing_since is None
    assert len(receiver.at("/fail")) <= 2


def test_a_failing_endpoint_of_one_merchant_does_not_hold_another_merchants_deliveries(mall, receiver):
    _endpoint(mall, receiver.url("/fail-acme"))
    _endpoint(mall, receiver.url("/globex"), merchant=mall.globex)
    fan_out(mall.acme, suborder_id=7101, event_no=9101)
    fan_out(mall.globex, suborder_id=7102, event_no=9102)
    dispatch_until_idle(mall.acme)
    dispatch_until_idle(mall.globex)
    assert [r.json["merchant"] for r in receiver.at("/globex")] == ["globex"]
    assert len(receiver.at("/fail-acme")) == 1


def test_retries_follow_the_backoff_schedule_and_die_after_the_window(mall, receiver):
    ep, _ = _endpoint(mall, receiver.url("/fail"))
    fan_out(mall.acme, suborder_id=7201, event_no=9201)
    with in_merchant_schema(mall.acme):
        delivery = WebhookDelivery.objects.get(endpoint=ep)
    now = timezone.now()
    gaps = []
    for _ in range(40):
        assert dispatch_round(mall.acme, now=now) == 1
        with in_merchant_schema(mall.acme):
            delivery.refresh_from_db()
        if delivery.status == "dead":
            break
        assert delivery.status == "failed"
        gaps.append(delivery.next_attempt_at - now)
        assert dispatch_round(mall.acme, now=delivery.next_attempt_at - timedelta(seconds=1)) == 0  # not before its time
        now = delivery.next_attempt_at
    minutes = [int(g.total_seconds() // 60) for g in gaps]
    assert minutes[:10] == [1, 2, 4, 8, 16, 32, 64, 128, 240, 240]
    assert all(m == 240 for m in minutes[8:])
    assert delivery.status == "dead" and delivery.next_attempt_at is None
    assert now + retry_delay(delivery.attempts) > delivery.give_up_at  # one more retry would pass 24 h
    assert now <= delivery.give_up_at
    with in_merchant_schema(mall.acme):
        assert WebhookAttempt.objects.filter(delivery=delivery).count() == delivery.attempts == len(gaps) + 1
    assert len(receiver.at("/fail")) == delivery.attempts


def test_an_endpoint_failing_for_three_days_is_disabled_and_the_owner_gets_one_email(mall, receiver):
    ep, _ = _endpoint(mall, receiver.url("/fail"))
    fan_out(mall.acme, suborder_id=7301, event_no=9301)
    now = timezone.now()
    dispatch_round(mall.acme, now=now)
    with in_merchant_schema(mall.acme):
        ep.refresh_from_db()
        assert ep.enabled and ep.failing_since == now
    fan_out(mall.acme, suborder_id=7302, event_no=9302)  # a new event two days later: still within the streak
    with in_merchant_schema(mall.acme):
        WebhookDelivery.objects.filter(endpoint=ep).update(next_attempt_at=now)
    dispatch_round(mall.acme, now=now + timedelta(days=2))
    with in_merchant_schema(mall.acme):
        ep.refresh_from_db()
        assert ep.enabled
        WebhookDelivery.objects.filter(endpoint=ep, status="failed").update(next_attempt_at=now)
    mail.outbox.clear()
    dispatch_round(mall.acme, now=now + timedelta(days=3, seconds=1))
    with in_merchant_schema(mall.acme):
        ep.refresh_from_db()
        assert not ep.enabled and "Failing since" in ep.disabled_reason
    relay()
    relay()
    outbox_relay_batch()
    sent = [m for m in mail.outbox if "webhook endpoint disabled" in m.subject]
    assert len(sent) == 1
    assert sent[0].to == ["owner@acme.test"]
    assert receiver.url("/fail") in sent[0].body
    assert sent[0].extra_headers["Message-ID"].startswith("<webhook-disabled.")
    # disabled: nothing more is sent to it
    before = len(receiver.at("/fail"))
    with in_merchant_schema(mall.acme):
        WebhookDelivery.objects.filter(endpoint=ep, status="failed").update(next_attempt_at=now)
    assert dispatch_round(mall.acme, now=now + timedelta(days=4)) == 0
    assert len(receiver.at("/fail")) == before


def test_a_success_ends_the_failing_streak(mall, receiver):
    ep, _ = _endpoint(mall, receiver.url("/fail"))
    fan_out(mall.acme, suborder_id=7401, event_no=9401)
    dispatch_round(mall.acme)
    with in_merchant_schema(mall.acme):
        assert WebhookEndpoint.objects.get(pk=ep.pk).failing_since is not None
        WebhookEndpoint.objects.filter(pk=ep.pk).update(url=receiver.url("/ok"))
        WebhookDelivery.objects.filter(endpoint=ep).update(next_attempt_at=timezone.now())
    dispatch_round(mall.acme)
    with in_merchant_schema(mall.acme):
        assert WebhookEndpoint.objects.get(pk=ep.pk).failing_since is None
        assert WebhookDelivery.objects.get(endpoint=ep).status == "succeeded"


def test_replaying_a_range_redelivers_exactly_those_events(mall, receiver):
    ep, _ = _endpoint(mall, receiver.url("/hooks"))
    base = timezone.now() - timedelta(hours=5)
    for i in range(5):  # events one hour apart
        fan_out(mall.acme, suborder_id=7500 + i, event_no=9500 + i, created=base + timedelta(hours=i))
    dispatch_until_idle(mall.acme)
    first = {r.headers["Mallard-Delivery"]: r.json["id"] for r in receiver.at("/hooks")}
    assert len(first) == 5
    with in_merchant_schema(mall.acme):
        replayed = deliveries_replay(actor=mall.users["acme:owner"], endpoint_id=ep.pk,
                                     since=(base + timedelta(hours=1)).isoformat(), until=(base + timedelta(hours=3)).isoformat())
    assert len(replayed) == 2
    dispatch_until_idle(mall.acme)
    again = receiver.at("/hooks")[5:]
    assert sorted(r.json["id"] for r in again) == ["evt_t9501", "evt_t9502"]
    assert all(r.headers["Mallard-Delivery"] not in first for r in again)  # new delivery ids, same event ids
    assert len({r.headers["Mallard-Delivery"] for r in again}) == 2
    dispatch_until_idle(mall.acme)
    assert len(receiver.at("/hooks")) == 7


def test_a_slow_endpoint_is_cut_at_the_deadline_and_recorded_as_a_failed_attempt(mall, receiver, monkeypatch):
    monkeypatch.setattr(transport, "TOTAL_TIMEOUT", 1.0)
    slow, _ = _endpoint(mall, receiver.url("/slow"))
    drip, _ = _endpoint(mall, receiver.url("/drip"))
    fan_out(mall.acme, suborder_id=7601, event_no=9601)
    started = time.monotonic()
    dispatch_round(mall.acme)
    assert time.monotonic() - started < 4
    with in_merchant_schema(mall.acme):
        for ep in (slow, drip):
            d = WebhookDelivery.objects.get(endpoint=ep)
            assert d.status == "failed" and "within 1.0 s" in d.last_error
            assert d.duration_ms < 2500


def test_a_five_megabyte_answer_is_read_only_up_to_the_limit(mall, receiver):
    ep, _ = _endpoint(mall, receiver.url("/big"))
    fan_out(mall.acme, suborder_id=7701, event_no=9701)
    started = time.monotonic()
    dispatch_round(mall.acme)
    assert time.monotonic() - started < 5
    with in_merchant_schema(mall.acme):
        d = WebhookDelivery.objects.get(endpoint=ep)
        assert d.status == "failed" and d.response_code == 502
        assert d.response_body == "E" * 4096 and d.response_truncated
    result = transport.post(receiver.url("/big"), body=b"{}", headers={})  # what was read: 64 KB, not 5 MB
    assert (result.status, len(result.body), result.truncated) == (502, transport.RESPONSE_READ_LIMIT, True)


def test_a_redirect_is_not_followed(mall, receiver):
    ep, _ = _endpoint(mall, receiver.url("/redirect"))
    fan_out(mall.acme, suborder_id=7801, event_no=9801)
    dispatch_round(mall.acme)
    with in_merchant_schema(mall.acme):
        d = WebhookDelivery.objects.get(endpoint=ep)
        assert d.status == "failed" and d.response_code == 302
    assert len(receiver.requests) == 1


def test_a_worker_killed_mid_send_leaves_a_claim_that_is_retried_with_the_same_delivery_id(mall, receiver):
    from webhooks.dispatch import CLAIM_LEASE, deliveries_claim_due

    ep, _ = _endpoint(mall, receiver.url("/hooks"))
    fan_out(mall.acme, suborder_id=7901, event_no=9901)
    now = timezone.now()
    with in_merchant_schema(mall.acme):
        claimed = deliveries_claim_due(now=now)  # ... and the worker dies before sending
        assert len(claimed) == 1
        assert deliveries_claim_due(now=now + timedelta(seconds=5)) == []  # its lease still holds
    dispatch_round(mall.acme, now=now + CLAIM_LEASE + timedelta(seconds=1))
    with in_merchant_schema(mall.acme):
        d = WebhookDelivery.objects.get(endpoint=ep)
        assert d.status == "succeeded" and d.attempts == 2
    assert [r.headers["Mallard-Delivery"] for r in receiver.at("/hooks")] == [d.delivery_id]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.1.2.3/hook", "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook", "http://0.0.0.0/hook", "http://224.0.0.1/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://100.64.0.1/hook",
])
def test_private_addresses_are_refused_at_registration_in_production(mall, settings, url):
    from core.errors import ValidationFailed

    settings.MALLARD_WEBHOOKS_ALLOW_PRIVATE = False
    with in_merchant_schema(mall.acme):
        with pytest.raises(ValidationFailed) as err:
            endpoint_create(actor=mall.users["acme:owner"], url=url, event_types=["*"])
        assert err.value.field == "url"
        assert WebhookEndpoint.objects.filter(url=url).count() == 0


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http://user:pw@example.com/", "example.com/hook", "http://",
                                 "http://exa mple.com/", "javascript:alert(1)"])
def test_malformed_urls_are_refused_naming_the_field(mall, url):
    from core.errors import ValidationFailed

    with in_merchant_schema(mall.acme):
        with pytest.raises(ValidationFailed) as err:
            endpoint_create(actor=mall.users["acme:owner"], url=url, event_types=["*"])
        assert err.value.field == "url"


def test_an_address_that_turned_private_is_refused_again_at_send_time(mall, receiver, settings):
    ep, _ = _endpoint(mall, receiver.url("/hooks"))  # registered while private addresses were allowed
    settings.MALLARD_WEBHOOKS_ALLOW_PRIVATE = False  # now production rules: the same address is private
    fan_out(mall.acme, suborder_id=8001, event_no=10001)
    dispatch_round(mall.acme)
    with in_merchant_schema(mall.acme):
        d = WebhookDelivery.objects.get(endpoint=ep)
        assert d.status == "failed" and "private" in d.last_error and d.response_code is None
    assert receiver.requests == []


def test_private_addresses_are_allowed_when_debug(mall, settings, receiver):
    settings.MALLARD_WEBHOOKS_ALLOW_PRIVATE = False
    settings.DEBUG = True
    ep, _ = _endpoint(mall, receiver.url("/hooks"))
    assert ep.pk


def test_a_low_stock_alert_reaches_a_subscribed_endpoint(mall, receiver):
    from catalog.services import product_create, stock_adjust, stock_receive, warehouse_create

    _endpoint(mall, receiver.url("/stock"), ["catalog.low_stock"])
    _endpoint(mall, receiver.url("/orders-only"), ["suborder.paid"])
    k = next(_n)
    with in_merchant_schema(mall.acme):
        wh = warehouse_create(code=f"WS{k}", name=f"Stock hooks {k}", region="SH", priority=5)
        variant = product_create(name=f"Low {k}", variants=[{"sku": f"LOWHOOK-{k}", "price_minor": 100, "currency": "CNY",
                                                            "low_stock_threshold": 2}]).variants.get()
        stock_receive(variant_id=variant.pk, warehouse_id=wh.pk, quantity=5, reason="test")
        stock_adjust(variant_id=variant.pk, warehouse_id=wh.pk, delta=-4, reason="breakage")
    relay()
    dispatch_until_idle(mall.acme)
    [alert] = [r for r in receiver.at("/stock") if r.json["data"]["sku"] == f"LOWHOOK-{k}"]
    assert alert.json["type"] == "catalog.low_stock"
    assert alert.json["data"] == {"sku": f"LOWHOOK-{k}", "variant_id": variant.pk, "warehouse": f"WS{k}",
                                  "warehouse_id": wh.pk, "available": 1, "threshold": 2}
    assert receiver.at("/orders-only") == []
