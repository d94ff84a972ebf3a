"""The transactional outbox: events routed to one delivery per subscriber; at least once, exactly one DB
effect, a stable key for outside effects, order per (aggregate, subscriber), dead letters per subscriber.

Test subscribers live under test-only topics and are unsubscribed after each test. The relay also sees
events other tests committed (e.g. the session's merchant.created events), so assertions only ever look
at this test's own events, deliveries and effects.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import outbox
from core.events import UndeclaredTopic
from core.events import topic as declare
from core.models import OutboxDelivery, OutboxEffect, OutboxEvent
from core.outbox import (
    MAX_ATTEMPTS,
    outbox_emit,
    outbox_relay_batch,
    outbox_requeue_dead,
    outbox_sweep_history,
)
from core.tenancy import current_schema, in_merchant_schema

KEYS = {"n": "", "step": "", "fail": "", "key": ""}


@pytest.fixture
def topic(unique):
    """`topic(handler, ...)` declares a fresh test-only topic, subscribes `handler` to it and returns the
    topic; `topic(h1, h2)` subscribes several handlers (subscriber names `<topic>.0`, `<topic>.1`...)."""
    registered: list[str] = []

    def register(*handlers, external: bool = False) -> str:
        name = declare(unique("test.outbox."), app="tests", fires="test", payload=KEYS).name
        for i, handler in enumerate(handlers):
            sub = f"{name}.{i}"
            outbox.outbox_handler(name, name=sub, external=external)(handler)
            registered.append(sub)
        return name

    yield register
    for sub in registered:
        outbox.outbox_unsubscribe(sub)


@pytest.fixture
def kicks(monkeypatch):
    """Record relay kicks instead of queueing a Celery task (the broker is exercised in test_celery_worker)."""
    calls: list[int] = []
    monkeypatch.setattr(outbox, "_kick_relay", lambda: calls.append(1))
    return calls


def _deliveries(event) -> list[OutboxDelivery]:
    return list(OutboxDelivery.objects.filter(event_id=event.pk).order_by("subscriber"))


def _delivery(event) -> OutboxDelivery:
    (d,) = _deliveries(event)
    return d


def _make_due(*events: OutboxEvent) -> None:
    """Advance the clock for these events' deliveries: their backoff is over."""
    OutboxDelivery.objects.filter(event_id__in=[e.pk for e in events]).update(available_at=timezone.now() - timedelta(seconds=1))


def _relay_until_idle() -> int:
    total = 0
    while True:
        n = outbox_relay_batch(limit=500)
        total += n
        if n == 0:
            return total


# --- declarations ------------------------------------------------------------------------------

def test_an_undeclared_topic_is_refused_in_the_producers_transaction(mall):
    with pytest.raises(UndeclaredTopic, match="not declared"):
        outbox_emit(topic="test.never.declared", aggregate_type="t", aggregate_id=1)


def test_a_payload_key_the_declaration_does_not_list_is_refused(mall, topic):
    name = topic()
    assert settings.OUTBOX_CHECK_PAYLOADS
    with pytest.raises(ValueError, match="not declared"):
        outbox_emit(topic=name, aggregate_type="t", aggregate_id=1, payload={"n": 1, "surprise": 2})


def test_the_event_carries_its_topics_payload_version(mall, unique):
    name = declare(unique("test.version."), app="tests", fires="test", payload={}, version=4).name
    assert outbox_emit(topic=name, aggregate_type="t", aggregate_id=1).payload_version == 4


# --- at least once, exactly one effect ---------------------------------------------------------

def test_event_is_written_in_the_callers_transaction_and_kicks_the_relay_on_commit(committed, topic, kicks, unique):
    name = topic(lambda event: None)
    agg = unique("agg")
    with transaction.atomic():
        event = outbox_emit(topic=name, aggregate_type="test", aggregate_id=agg, payload={"n": 1})
        assert kicks == []  # not before commit
    assert kicks == [1]
    event.refresh_from_db()
    assert (event.status, event.schema_name, event.payload, event.payload_version) == ("pending", "public", {"n": 1}, 1)
    assert _relay_until_idle() >= 1
    event.refresh_from_db()
    assert event.status == "routed" and event.routed_at is not None
    d = _delivery(event)
    assert (d.subscriber, d.status, d.attempts) == (f"{name}.0", "delivered", 1) and d.delivered_at is not None
    OutboxEvent.objects.filter(pk=event.pk).delete()


def test_an_event_without_subscribers_is_routed_with_no_delivery(mall, topic):
    event = outbox_emit(topic=topic(), aggregate_type="test", aggregate_id="none")
    outbox_relay_batch()
    event.refresh_from_db()
    assert event.status == "routed" and _deliveries(event) == []


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
    """Two threads, each with its own connection, route and relay the same 40 events at the same time."""
    lock = threading.Lock()
    calls: list[tuple[int, str]] = []
    # Each relay's first handler call waits for the other relay to be inside a handler too:
    # this proves the two relays really hold different deliveries at the same moment.
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
    _route_concurrently()  # both relays then find the deliveries there (a relay finding none goes idle)
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
    assert OutboxDelivery.objects.filter(event_id__in=ids).count() == 40  # routed once each
    assert set(OutboxDelivery.objects.filter(event_id__in=ids).values_list("status", "attempts")) == {("delivered", 1)}
    OutboxEvent.objects.filter(pk__in=ids).delete()


def _route_concurrently() -> None:
    """Two threads route at once, ten events a step, until nothing is left."""
    errors: list[BaseException] = []
    start = threading.Barrier(2, timeout=20)

    def route():
        try:
            start.wait()
            while outbox.outbox_route(limit=10):
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=route) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and not any(t.is_alive() for t in threads)


def test_handler_failing_once_is_retried_with_backoff_and_its_db_effect_happens_once(mall, topic):
    attempts = []

    def flaky(event):
        attempts.append(timezone.now())
        OutboxEffect.objects.create(event_id=event.pk, handler="flaky-effect")  # rolled back with the failure
        if len(attempts) == 1:
            raise ConnectionError("smtp down")

    name = topic(flaky)
    event = outbox_emit(topic=name, aggregate_type="test", aggregate_id="f1")
    before = timezone.now()
    outbox_relay_batch()
    d = _delivery(event)
    assert (d.status, d.attempts) == ("pending", 1)
    assert d.last_error == "ConnectionError: smtp down"
    assert d.available_at >= before + timedelta(seconds=outbox.BACKOFF_BASE_SECONDS)
    assert not OutboxEffect.objects.filter(event=event).exists()  # nothing half-done survives

    outbox_relay_batch()  # not due yet: nothing happens
    assert len(attempts) == 1

    _make_due(event)
    outbox_relay_batch()
    d.refresh_from_db()
    assert (d.status, d.attempts) == ("delivered", 2)
    assert list(OutboxEffect.objects.filter(event=event).values_list("handler", flat=True)) == ["flaky-effect"]
    outbox_relay_batch()  # a delivered delivery is never made again
    assert len(attempts) == 2


def test_backoff_doubles(mall, topic):
    def always_fails(event):
        raise RuntimeError("nope")

    event = outbox_emit(topic=topic(always_fails), aggregate_type="test", aggregate_id="b1")
    outbox.outbox_route()
    delays = []
    for _ in range(3):
        _make_due(event)
        started = timezone.now()
        outbox_relay_batch()
        delays.append(round((_delivery(event).available_at - started).total_seconds()))
    b = outbox.BACKOFF_BASE_SECONDS
    assert delays == [b, 2 * b, 4 * b]


def test_dead_letter_after_max_attempts_and_operator_requeue(mall, topic):
    calls = []
    fail = {"on": True}

    def handler(event):
        calls.append(event.pk)
        if fail["on"]:
            raise ValueError("bad payload")

    event = outbox_emit(topic=topic(handler), aggregate_type="test", aggregate_id="d1")
    outbox.outbox_route()
    for i in range(MAX_ATTEMPTS):
        _make_due(event)
        outbox_relay_batch()
        d = _delivery(event)
        assert d.attempts == i + 1
        assert d.status == ("dead" if i + 1 == MAX_ATTEMPTS else "pending")
    assert len(calls) == MAX_ATTEMPTS
    _make_due(event)
    outbox_relay_batch()
    assert len(calls) == MAX_ATTEMPTS  # dead letters are not retried
    assert d.last_error == "ValueError: bad payload"

    assert outbox_requeue_dead(delivery_ids=[d.pk]) == 1
    d.refresh_from_db()
    assert (d.status, d.attempts) == ("pending", 0)
    fail["on"] = False
    outbox_relay_batch()
    d.refresh_from_db()
    assert d.status == "delivered" and len(calls) == MAX_ATTEMPTS + 1
    assert outbox_requeue_dead(delivery_ids=[d.pk]) == 0  # only dead letters are requeued


def test_one_failing_subscriber_neither_repeats_nor_delays_the_others_and_dead_letters_alone(mall, topic):
    """The issue's case: a dead webhook endpoint beside an email sender. The email is sent once, the
    aggregate's next event reaches the healthy subscriber at once, and only the broken one dead-letters."""
    healthy, broken_calls = [], []
    fail = {"on": True}

    def email(event):
        healthy.append(event.payload["n"])

    def webhook(event):
        broken_calls.append(event.payload["n"])
        if fail["on"]:
            raise ConnectionError("endpoint down")

    name = topic(email, webhook)
    first = outbox_emit(topic=name, aggregate_type="suborder", aggregate_id="W", payload={"n": 1})
    second = outbox_emit(topic=name, aggregate_type="suborder", aggregate_id="W", payload={"n": 2})
    outbox_relay_batch()
    assert healthy == [1, 2]  # not held back by the failing subscriber's first event
    assert broken_calls == [1]  # its second event waits behind its first (order per subscriber)
    for _ in range(MAX_ATTEMPTS + 2):
        _make_due(first, second)
        outbox_relay_batch()
    assert healthy == [1, 2]  # never repeated by the other subscriber's retries
    dead = OutboxDelivery.objects.get(event=first, subscriber=f"{name}.1")
    assert dead.status == "dead" and dead.attempts == MAX_ATTEMPTS
    assert OutboxDelivery.objects.get(event=first, subscriber=f"{name}.0").status == "delivered"
    # the dead letter stopped blocking: the broken subscriber's second event was tried on its own account
    later = OutboxDelivery.objects.get(event=second, subscriber=f"{name}.1")
    assert later.attempts >= 1 and later.status in ("pending", "dead")
    fail["on"] = False
    calls_before = len(broken_calls)
    assert outbox_requeue_dead(delivery_ids=[dead.pk]) == 1
    _make_due(first, second)
    _relay_until_idle()
    assert broken_calls[calls_before:].count(1) == 1  # requeued: delivered once
    assert healthy == [1, 2]
    assert set(OutboxDelivery.objects.filter(event__in=[first, second]).values_list("status", flat=True)) == {"delivered"}


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
    outbox_emit(topic=name, aggregate_type="order", aggregate_id="Y", payload={"step": "y1"})
    # Same aggregate id, other aggregate type: a different aggregate.
    outbox_emit(topic=name, aggregate_type="shipment", aggregate_id="X", payload={"step": "z1"})
    outbox_relay_batch()
    assert seen == ["y1", "z1"]
    assert (_delivery(x2).status, _delivery(x2).attempts) == ("pending", 0)  # never tried while x1 is undelivered

    broken.clear()
    outbox_relay_batch()  # x1 still backing off: x2 still waits
    assert seen == ["y1", "z1"]
    _make_due(x1)
    outbox_relay_batch()
    assert seen == ["y1", "z1", "x1", "x2"]


def test_an_unrouted_earlier_event_holds_back_the_aggregates_later_deliveries(mall, topic):
    """A concurrent router may still hold an earlier event of the aggregate: its later deliveries wait."""
    seen = []
    name = topic(lambda e: seen.append(e.payload["n"]))
    first = outbox_emit(topic=name, aggregate_type="order", aggregate_id="R", payload={"n": 1})
    second = outbox_emit(topic=name, aggregate_type="order", aggregate_id="R", payload={"n": 2})
    outbox.outbox_route()
    OutboxDelivery.objects.filter(event=first).delete()
    OutboxEvent.objects.filter(pk=first.pk).update(status="pending")  # as if routed by another, not committed yet
    while outbox._deliver_one() is not None:  # everything that may go now (other tests' leftovers too)
        pass
    assert seen == []
    outbox_relay_batch()
    assert seen == [1, 2]
    assert _delivery(second).status == "delivered"


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


def test_a_dead_letter_stops_blocking_its_aggregate(mall, topic):
    """Documented choice (docs/architecture.md): after its attempts are spent the aggregate moves on for
    that subscriber; the dead letter waits for the operator, who can requeue it."""
    seen = []

    def handler(event):
        if event.payload["step"] == 1:
            raise RuntimeError("poison")
        seen.append(event.payload["step"])

    name = topic(handler)
    first = outbox_emit(topic=name, aggregate_type="order", aggregate_id="P", payload={"step": 1})
    outbox_emit(topic=name, aggregate_type="order", aggregate_id="P", payload={"step": 2})
    outbox.outbox_route()
    for _ in range(MAX_ATTEMPTS - 1):
        _make_due(first)
        outbox_relay_batch()
        assert seen == []  # still blocked while the first event is retried
    _make_due(first)
    outbox_relay_batch()
    assert _delivery(first).status == "dead"
    assert seen == [2]


# --- outside effects: claim first, then the effect, with a stable key --------------------------

def test_an_outside_effect_runs_after_its_claim_committed_and_retries_with_the_same_key(committed, topic, kicks, unique):
    seen: list[tuple[str, str]] = []

    def send(event):
        with connection.cursor() as cur:  # what another connection sees: the claim is committed already
            cur.execute("SELECT 1")
        assert not connection.in_atomic_block  # no transaction (and no row lock) is open during the effect
        status = OutboxDelivery.objects.get(event_id=event.pk).status
        seen.append((event.delivery_key, status))
        if len(seen) == 1:
            raise TimeoutError("provider timed out")

    name = topic(send, external=True)
    with transaction.atomic():
        event = outbox_emit(topic=name, aggregate_type="t", aggregate_id=unique("x"))
    try:
        outbox_relay_batch()
        d = _delivery(event)
        assert (d.status, d.attempts, d.last_error) == ("pending", 1, "TimeoutError: provider timed out")
        _make_due(event)
        outbox_relay_batch()
        d.refresh_from_db()
        assert (d.status, d.attempts, d.lease_until) == ("delivered", 2, None)
        key = f"evt{event.pk}.{name}.0"
        assert seen == [(key, "sending"), (key, "sending")]
    finally:
        OutboxEvent.objects.filter(pk=event.pk).delete()


class _Receiver(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append(self.headers["Idempotency-Key"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


KILL_WORKER = """
import os, signal, sys, urllib.request
sys.path[:0] = [{root!r}, {platform!r}]
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
django.setup()
from core.events import topic
from core.outbox import outbox_handler, outbox_relay_batch
topic({topic!r}, app="tests", fires="kill test", payload={{}})

@outbox_handler({topic!r}, name="tests.kill_probe", external=True)
def send(event):
    req = urllib.request.Request({url!r}, data=b"{{}}", method="POST", headers={{"Idempotency-Key": event.delivery_key}})
    urllib.request.urlopen(req, timeout=10).read()
    if os.environ.get("KILL_AFTER_SEND") == "1":
        os.kill(os.getpid(), signal.SIGKILL)  # between the effect and the commit of its outcome

while outbox_relay_batch(limit=500):
    pass
"""


def test_a_worker_killed_between_send_and_commit_repeats_the_effect_with_the_same_id(committed, kicks, unique, tmp_path):
    """kill -9 after the HTTP call, before the delivery's outcome commits: the delivery stays "sending";
    once its lease runs out the next relay makes it again, and the receiver sees the same id twice."""
    name = declare(unique("test.kill."), app="tests", fires="kill test", payload={}).name
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    s = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}",
           "DB_CONN_MAX_AGE": "0", "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
           "CELERY_BROKER_URL": "memory://"}
    root = Path(settings.BASE_DIR)
    script = tmp_path / "worker.py"
    script.write_text(KILL_WORKER.format(root=str(root), platform=str(root / "platform"), topic=name,
                                         url=f"http://127.0.0.1:{server.server_address[1]}/hook"))
    with transaction.atomic():
        event = outbox_emit(topic=name, aggregate_type="t", aggregate_id=unique("k"))
    try:
        first = subprocess.run([sys.executable, str(script)], env={**env, "KILL_AFTER_SEND": "1"}, cwd=root,
                               capture_output=True, timeout=120)
        assert first.returncode == -signal.SIGKILL, first.stderr.decode()[-2000:]
        d = OutboxDelivery.objects.get(event=event, subscriber="tests.kill_probe")
        assert (d.status, d.attempts) == ("sending", 1) and d.lease_until > timezone.now()
        assert _Receiver.received == [f"evt{event.pk}.tests.kill_probe"]

        OutboxDelivery.objects.filter(pk=d.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # lease over
        second = subprocess.run([sys.executable, str(script)], env={**env, "KILL_AFTER_SEND": "0"}, cwd=root,
                                capture_output=True, timeout=120)
        assert second.returncode == 0, second.stderr.decode()[-2000:]
        d.refresh_from_db()
        assert (d.status, d.attempts) == ("delivered", 2)
        assert "interrupted" in d.last_error
        assert _Receiver.received == [f"evt{event.pk}.tests.kill_probe"] * 2  # the repeat carries the same id
    finally:
        server.shutdown()
        OutboxEvent.objects.filter(pk=event.pk).delete()


# --- history -----------------------------------------------------------------------------------

def test_the_history_sweep_deletes_old_delivered_events_only(mall, topic):
    fail = {"on": True}

    def handler(event):
        if event.payload.get("fail") and fail["on"]:
            raise RuntimeError("dead")

    name = topic(handler)
    done = outbox_emit(topic=name, aggregate_type="h", aggregate_id="1", payload={"n": 1})
    dead = outbox_emit(topic=name, aggregate_type="h", aggregate_id="2", payload={"fail": True})
    recent = outbox_emit(topic=name, aggregate_type="h", aggregate_id="3", payload={"n": 3})
    outbox.outbox_route()
    OutboxDelivery.objects.filter(event=dead).update(attempts=MAX_ATTEMPTS - 1)
    outbox_relay_batch()
    assert _delivery(dead).status == "dead"
    old = timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS + 1)
    OutboxEvent.objects.filter(pk__in=[done.pk, dead.pk]).update(created_at=old)
    unrouted = outbox_emit(topic=name, aggregate_type="h", aggregate_id="4", payload={"n": 4})
    OutboxEvent.objects.filter(pk=unrouted.pk).update(created_at=old)
    outbox_sweep_history()
    left = set(OutboxEvent.objects.filter(pk__in=[done.pk, dead.pk, recent.pk, unrouted.pk]).values_list("pk", flat=True))
    assert left == {dead.pk, recent.pk, unrouted.pk}  # the dead letter and unfinished work are kept
    assert not OutboxDelivery.objects.filter(event_id=done.pk).exists()


# --- the real event: merchant.created -> welcome email ------------------------------------------

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
    assert {d.status for d in _deliveries(event)} == {"delivered"}
    # Forced redelivery (at least once): the message log's row (sent) stops a second email.
    from notifications.models import Message

    OutboxDelivery.objects.filter(event_id=event.pk).update(status="pending")
    outbox_relay_batch()
    assert len([m for m in mailoutbox if to in m.to]) == 1
    assert list(Message.objects.filter(event_id=event.pk).values_list("recipient", "kind", "status")) == [
        (to, "merchant_welcome", "sent")]


def test_welcome_email_failure_is_retried_and_sent_once(mall, mailoutbox, monkeypatch, unique):
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
    welcome = [d for d in _deliveries(event) if d.subscriber.startswith("notifications.")]
    assert [(d.status, d.attempts) for d in welcome] == [("pending", 1)]
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


