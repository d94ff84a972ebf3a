"""The transactional outbox: at-least-once relay, exactly-once effects, order per aggregate, dead letters.

Test handlers live under test-only topics and are removed from `core.outbox._HANDLERS` after each
test. The relay also sees events other tests committed (e.g. the session's merchant.created
events), so assertions only ever look at this test's own events, effects and recipients.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core import outbox
from core.models import OutboxEffect, OutboxEvent
from core.outbox import (
    MAX_ATTEMPTS,
    effect_claim,
    outbox_emit,
    outbox_relay_batch,
    outbox_requeue_dead,
)
from core.tenancy import current_schema, in_merchant_schema


@pytest.fixture
def topic(unique):
    """`topic(handler)` registers `handler` under a fresh test-only topic and returns the topic."""
    registered: list[str] = []

    def register(handler) -> str:
        name = unique("test.outbox.")
        outbox.outbox_handler(name)(handler)
        registered.append(name)
        return name

    yield register
    for name in registered:
        outbox._HANDLERS.pop(name, None)


@pytest.fixture
def kicks(monkeypatch):
    """Record relay kicks instead of queueing a Celery task (the broker is exercised in test_celery_worker)."""
    calls: list[int] = []
    monkeypatch.setattr(outbox, "_kick_relay", lambda: calls.append(1))
    return calls


def _make_due(*events: OutboxEvent) -> None:
    """Advance the clock for these events: their backoff is over."""
    OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(available_at=timezone.now() - timedelta(seconds=1))


def _relay_until_idle() -> int:
    total = 0
    while True:
        n = outbox_relay_batch(limit=500)
        total += n
        if n == 0:
            return total


# --- at least once, exactly one effect ---------------------------------------------------------

def test_event_is_written_in_the_callers_transaction_and_kicks_the_relay_on_commit(committed, topic, kicks, unique):
    name = topic(lambda event: None)
    agg = unique("agg")
    with transaction.atomic():
        event = outbox_emit(topic=name, aggregate_type="test", aggregate_id=agg, payload={"n": 1})
        assert kicks == []  # not before commit
    assert kicks == [1]
    event.refresh_from_db()
    assert (event.status, event.attempts, event.schema_name, event.payload) == ("pending", 0, "public", {"n": 1})
    assert _relay_until_idle() >= 1
    event.refresh_from_db()
    assert event.status == "delivered" and event.attempts == 1 and event.delivered_at is not None
    OutboxEvent.objects.filter(pk=event.pk).delete()


def test_rolled_back_event_is_never_delivered(committed, topic, kicks, unique):
    calls = []
    name = topic(lambda event: calls.append(event.pk))
    agg = unique("agg")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        outbox_emit(topic=name, aggregate_type="test", aggregate_id=agg)
        raise Boom
    assert kicks == []
    assert not OutboxEvent.objects.filter(topic=name).exists()
    _relay_until_idle()
    assert calls == []
    assert not OutboxEvent.objects.filter(topic=name).exists()


def test_two_concurrent_relays_deliver_each_event_exactly_once(committed, topic, kicks, unique):
    """Two threads, each with its own connection, relay the same 40 events at the same time."""
    lock = threading.Lock()
    calls: list[tuple[int, str]] = []
    # Each relay's first handler call waits for the other relay to be inside a handler too:
    # this proves the two relays really hold different events at the same moment.
    both_inside = threading.Barrier(2, timeout=20)
    first_call_seen: set[str] = set()

    def handler(event):
        me = threading.current_thread().name
        with lock:
            calls.append((event.pk, me))
            first = me not in first_call_seen
            first_call_seen.add(me)
        if first:
            both_inside.wait()
        # A database effect in the relay's transaction: counts only deliveries that committed.
        OutboxEffect.objects.create(event_id=event.pk, handler=f"count-{me}")

    name = topic(handler)
    events = [outbox_emit(topic=name, aggregate_type="test", aggregate_id=unique("agg")) for _ in range(40)]
    errors: list[BaseException] = []

    def relay():
        try:
            _relay_until_idle()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay, name=f"relay-{i}") for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    ids = [e.pk for e in events]
    delivered = [pk for pk, _ in calls if pk in ids]
    assert sorted(delivered) == sorted(ids)  # every event handled once, none twice
    assert {who for _, who in calls} == {"relay-1", "relay-2"}
    assert OutboxEffect.objects.filter(event_id__in=ids).count() == 40
    assert set(OutboxEvent.objects.filter(pk__in=ids).values_list("status", "attempts")) == {("delivered", 1)}
    OutboxEvent.objects.filter(pk__in=ids).delete()


def test_handler_failing_once_is_retried_with_backoff_and_its_effect_happens_once(mall, topic):
    attempts = []

    def flaky(event):
        attempts.append(timezone.now())
        if effect_claim(event=event, handler="flaky-effect") and len(attempts) == 1:
            raise ConnectionError("smtp down")  # the claim above rolls back with the failure

    name = topic(flaky)
    event = outbox_emit(topic=name, aggregate_type="test", aggregate_id="f1")
    before = timezone.now()
    outbox_relay_batch()
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("pending", 1)
    assert event.last_error == "ConnectionError: smtp down"
    assert event.available_at >= before + timedelta(seconds=outbox.BACKOFF_BASE_SECONDS)
    assert not OutboxEffect.objects.filter(event=event).exists()  # nothing half-done survives

    outbox_relay_batch()  # not due yet: nothing happens
    assert len(attempts) == 1

    _make_due(event)
    outbox_relay_batch()
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("delivered", 2)
    assert list(OutboxEffect.objects.filter(event=event).values_list("handler", flat=True)) == ["flaky-effect"]

    # A redelivery (at least once) finds the claim and does nothing.
    OutboxEvent.objects.filter(pk=event.pk).update(status="pending")
    outbox_relay_batch()
    assert len(attempts) == 3
    assert OutboxEffect.objects.filter(event=event).count() == 1


def test_backoff_doubles(mall, topic):
    def always_fails(event):
        raise RuntimeError("nope")

    event = outbox_emit(topic=topic(always_fails), aggregate_type="test", aggregate_id="b1")
    delays = []
    for _ in range(3):
        _make_due(event)
        started = timezone.now()
        outbox_relay_batch()
        event.refresh_from_db()
        delays.append(round((event.available_at - started).total_seconds()))
    b = outbox.BACKOFF_BASE_SECONDS
    assert delays == [b, 2 * b, 4 * b]


def test_dead_letter_after_max_attempts_and_operator_requeue(mall, topic):
    calls = []

    def always_fails(event):
        calls.append(event.pk)
        raise ValueError("bad payload")

    name = topic(always_fails)
    event = outbox_emit(topic=name, aggregate_type="test", aggregate_id="d1")
    for i in range(MAX_ATTEMPTS):
        _make_due(event)
        outbox_relay_batch()
        event.refresh_from_db()
        assert event.attempts == i + 1
        assert event.status == ("dead" if i + 1 == MAX_ATTEMPTS else "pending")
    assert len(calls) == MAX_ATTEMPTS
    _make_due(event)
    outbox_relay_batch()
    assert len(calls) == MAX_ATTEMPTS  # dead letters are not retried
    assert event.last_error == "ValueError: bad payload"

    assert outbox_requeue_dead(event_ids=[event.pk]) == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("pending", 0)
    outbox._HANDLERS[name] = [lambda e: calls.append(("ok", e.pk))]
    outbox_relay_batch()
    event.refresh_from_db()
    assert event.status == "delivered" and calls[-1] == ("ok", event.pk)
    assert outbox_requeue_dead(event_ids=[event.pk]) == 0  # only dead letters are requeued


def test_order_per_aggregate_a_failing_event_blocks_its_successors_only(mall, topic):
    seen = []
    broken = {"x1"}

    def handler(event):
        if event.payload["step"] in broken:
            raise RuntimeError("not yet")
        seen.append(event.payload["step"])

    name = topic(handler)
    x1 = outbox_emit(topic=name, aggregate_type="order", aggregate_id="X", payload={"step": "x1"})
    x2 = outbox_emit(topic=name, aggregate_type="order", aggregate_id="X", payload={"step": "x2"})
    y1 = outbox_emit(topic=name, aggregate_type="order", aggregate_id="Y", payload={"step": "y1"})
    # Same aggregate id, other aggregate type: a different aggregate.
    z1 = outbox_emit(topic=name, aggregate_type="shipment", aggregate_id="X", payload={"step": "z1"})
    outbox_relay_batch()
    assert seen == ["y1", "z1"]
    assert OutboxEvent.objects.get(pk=x2.pk).status == "pending"
    assert OutboxEvent.objects.get(pk=x2.pk).attempts == 0  # never tried while x1 is undelivered

    broken.clear()
    outbox_relay_batch()  # x1 still backing off: x2 still waits
    assert seen == ["y1", "z1"]
    _make_due(x1)
    outbox_relay_batch()
    assert seen == ["y1", "z1", "x1", "x2"]
    statuses = dict(OutboxEvent.objects.filter(pk__in=[x1.pk, x2.pk, y1.pk, z1.pk]).values_list("pk", "status"))
    assert set(statuses.values()) == {"delivered"}


def test_order_is_per_schema(mall, topic):
    """The same aggregate id in two merchants' books is two aggregates."""
    seen = []

    def handler(event):
        if event.payload.get("fail"):
            raise RuntimeError("acme's event fails")
        seen.append((current_schema(), event.payload["n"]))

    name = topic(handler)
    with in_merchant_schema(mall.acme):
        outbox_emit(topic=name, aggregate_type="suborder", aggregate_id="1", payload={"n": 1, "fail": True})
        outbox_emit(topic=name, aggregate_type="suborder", aggregate_id="1", payload={"n": 2})
    with in_merchant_schema(mall.globex):
        outbox_emit(topic=name, aggregate_type="suborder", aggregate_id="1", payload={"n": 3})
    outbox_relay_batch()
    assert seen == [("m_globex", 3)]  # handlers run in the event's schema


def test_handler_runs_in_the_events_schema_and_relay_restores_public(mall, topic):
    seen = []
    name = topic(lambda event: seen.append(current_schema()))
    with in_merchant_schema(mall.acme):
        event = outbox_emit(topic=name, aggregate_type="t", aggregate_id="s1")
        assert current_schema() == "m_acme"
    assert event.schema_name == "m_acme"
    outbox_relay_batch()
    assert seen == ["m_acme"]
    assert current_schema() == "public"


# --- the real event: merchant.created → welcome email ------------------------------------------

def test_merchant_created_sends_one_welcome_email_even_when_relayed_twice(mall, mailoutbox, unique):
    from merchants.services import merchant_create

    slug = unique("welcome").replace("_", "-")
    to = f"boss@{slug}.test"
    merchant = merchant_create(slug=slug, name="Welcome Wares", contact_email=to)
    assert [m for m in mailoutbox if to in m.to] == []  # nothing before the relay runs

    outbox_relay_batch()
    outbox_relay_batch()
    mine = [m for m in mailoutbox if to in m.to]
    assert len(mine) == 1
    assert mine[0].subject == "Welcome to Mallard, Welcome Wares"
    assert f"{slug}.localhost" in mine[0].body

    event = OutboxEvent.objects.get(topic="merchant.created", aggregate_id=str(merchant.pk))
    assert event.status == "delivered"
    # Forced redelivery (the relay is at-least-once): the message log's row (sent) stops a second email.
    from notifications.models import Message

    OutboxEvent.objects.filter(pk=event.pk).update(status="pending")
    outbox_relay_batch()
    assert len([m for m in mailoutbox if to in m.to]) == 1
    assert list(Message.objects.filter(event_id=event.pk).values_list("recipient", "kind", "status")) == [
        (to, "merchant_welcome", "sent")]


def test_welcome_email_failure_rolls_back_the_claim_so_the_retry_sends(mall, mailoutbox, monkeypatch, unique):
    from merchants.services import merchant_create
    from notifications import channels
    from notifications.models import Message

    slug = unique("retry").replace("_", "-")
    to = f"boss@{slug}.test"
    merchant = merchant_create(slug=slug, name="Retry Retail", contact_email=to)
    real_send = channels.email_send

    def broken_send(**kwargs):
        if kwargs["to"] == to:
            raise OSError("mail server unreachable")
        return real_send(**kwargs)

    monkeypatch.setattr(channels, "email_send", broken_send)
    outbox_relay_batch()
    event = OutboxEvent.objects.get(topic="merchant.created", aggregate_id=str(merchant.pk))
    assert (event.status, event.attempts) == ("pending", 1)
    assert not Message.objects.filter(event_id=event.pk, status="sent").exists()
    monkeypatch.setattr(channels, "email_send", real_send)
    _make_due(event)
    outbox_relay_batch()
    assert len([m for m in mailoutbox if to in m.to]) == 1


# --- relay kicks ------------------------------------------------------------------------------

def test_a_burst_of_commits_shares_relay_tasks_and_the_last_commit_is_still_covered(monkeypatch):
    """50 commits in a burst publish the relay task about twice, and one publish comes after the last commit."""
    import time as _time

    pending = outbox._kick_state.get("timer")
    if pending is not None:  # a deferred kick left by an earlier test: let it finish first
        pending.join(timeout=5)
    published: list[float] = []
    monkeypatch.setattr(outbox, "_publish_relay", lambda: published.append(_time.monotonic()))
    monkeypatch.setattr(outbox, "_kick_state", {"pid": None, "last": 0.0, "timer": None})
    for _ in range(50):
        outbox._kick_relay()
    last_commit = _time.monotonic()
    deadline = last_commit + 5
    while len(published) < 2 and _time.monotonic() < deadline:
        _time.sleep(0.01)  # waiting for the deferred publish, with a deadline
    assert len(published) == 2
    assert published[1] >= last_commit  # nothing emitted in the burst waits for the beat sweep
    assert published[1] - published[0] >= outbox.KICK_COALESCE_SECONDS * 0.9
    # Once the window is over a kick publishes at once again (the clock is moved, not waited for).
    outbox._kick_state["last"] -= outbox.KICK_COALESCE_SECONDS
    outbox._kick_relay()
    assert len(published) == 3


def test_a_dead_letter_stops_blocking_its_aggregate(mall, topic):
    """Documented choice (docs/architecture.md): after MAX_ATTEMPTS the aggregate moves on; the
    dead letter waits for the operator, who can requeue it."""
    seen = []

    def handler(event):
        if event.payload["step"] == 1:
            raise RuntimeError("poison")
        seen.append(event.payload["step"])

    name = topic(handler)
    first = outbox_emit(topic=name, aggregate_type="order", aggregate_id="P", payload={"step": 1})
    outbox_emit(topic=name, aggregate_type="order", aggregate_id="P", payload={"step": 2})
    for _ in range(MAX_ATTEMPTS - 1):
        _make_due(first)
        outbox_relay_batch()
        assert seen == []  # still blocked while the first event is retried
    _make_due(first)
    outbox_relay_batch()
    first.refresh_from_db()
    assert first.status == "dead"
    assert seen == [2]
