"""The transactional outbox: events written with the change; one delivery per (event, subscriber).

Producers call `outbox_emit` inside their own transaction. The relay (`outbox_relay_batch`, run by a
Celery task on commit and by beat) first *routes* new events - one OutboxDelivery per subscriber of
the topic - then makes due deliveries, each with its own attempts, exponential backoff and dead letter,
so one failing subscriber never repeats or delays the others. A subscriber's deliveries are made in
event order per aggregate (a delivery waits while an earlier one of the same subscriber and aggregate
is pending or sending; a dead letter does not block).

Two kinds of subscriber:
* DB-only (default): runs inside the relay's transaction, in the event's schema; its writes and the
  delivery's "delivered" commit together, so its effect happens exactly once.
* `external=True` (an email, an SMS, an HTTP call): the claim ("sending", with a lease) is committed
  first, then the handler runs outside any transaction; success is recorded in a second transaction.
  A worker killed between the effect and that commit leaves the delivery "sending"; when the lease
  runs out it is made again with the same `event.delivery_key`, which the handler puts on the effect
  (Message-ID, webhook delivery id, SMS idempotency key) so the receiver can drop the repeat:
  at least once, with a stable id.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.events import payload_check, topic_get
from core.models import OutboxDelivery, OutboxEffect, OutboxEvent
from core.sql import OUTBOX_BATCH_INSERT_SQL, OUTBOX_ROUTE_SQL
from core.tenancy import current_schema, in_merchant_schema, in_public_schema

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2
ROUTE_BATCH = 500
Handler = Callable[[OutboxEvent], None]


@dataclass(frozen=True)
class Subscriber:
    name: str  # stable: deliveries name their subscriber by it
    func: Handler
    external: bool
    max_attempts: int


_SUBSCRIBERS: dict[str, Subscriber] = {}
_BY_TOPIC: dict[str, list[str]] = defaultdict(list)


def outbox_handler(topic: str, *, name: str | None = None, external: bool = False,
                   max_attempts: int = MAX_ATTEMPTS) -> Callable[[Handler], Handler]:
    """Subscribe a handler to a topic. It runs in the event's schema, once per event (see the module doc
    for DB-only and `external` subscribers). `name` identifies the subscriber in its deliveries: never
    rename a shipped one. One name may subscribe to several topics with the same function."""

    def register(func: Handler) -> Handler:
        sub = Subscriber(name=name or f"{func.__module__}.{func.__qualname__}", func=func, external=external,
                         max_attempts=max_attempts)
        existing = _SUBSCRIBERS.get(sub.name)
        if existing is not None and (existing.func is not func or existing.external != external):
            raise ValueError(f"outbox subscriber {sub.name!r} is registered twice with different handlers")
        _SUBSCRIBERS[sub.name] = sub
        if sub.name not in _BY_TOPIC[topic]:
            _BY_TOPIC[topic].append(sub.name)
        return func

    return register


def outbox_unsubscribe(name: str) -> None:
    """Forget a subscriber (tests). Its pending deliveries will dead-letter with "no such subscriber"."""
    _SUBSCRIBERS.pop(name, None)
    for names in _BY_TOPIC.values():
        if name in names:
            names.remove(name)


def subscribers_for(topic: str) -> list[Subscriber]:
    return [_SUBSCRIBERS[n] for n in _BY_TOPIC.get(topic, []) if n in _SUBSCRIBERS]


def delivery_key(event_id: int, subscriber: str) -> str:
    """The stable id of one subscriber's effect for one event: the same on every retry."""
    return f"evt{event_id}.{subscriber}"


_batch = threading.local()


def outbox_emit(*, topic: str, aggregate_type: str, aggregate_id: object, payload: dict | None = None) -> OutboxEvent:
    """Write an event in the caller's transaction; kick the relay once that transaction commits.

    Inside `outbox_batch()` the event is buffered and written with the batch's single INSERT.
    """
    payload = payload or {}
    declared = topic_get(topic)  # an undeclared topic fails here, in the producer's transaction
    if settings.OUTBOX_CHECK_PAYLOADS:
        payload_check(topic, payload)
    event = OutboxEvent(
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        schema_name=current_schema(),
        payload=payload,
        payload_version=declared.version,
    )
    buffer = getattr(_batch, "events", None)
    if buffer is not None:
        buffer.append(event)
        return event
    # The table exists only in public, which is on every merchant's search_path: no switch needed.
    event.save()
    transaction.on_commit(_kick_relay)
    return event


@contextmanager
def outbox_batch() -> Iterator[list[OutboxEvent]]:
    """Buffer the events emitted in this block and write them in one INSERT at its end.

    For hot paths (checkout) that emit several events in one transaction. Must be used inside
    the transaction the events belong to; on an exception nothing is written.
    """
    if getattr(_batch, "events", None) is not None:  # nested: the outer batch writes
        yield _batch.events
        return
    _batch.events = []
    try:
        yield _batch.events
        events = _batch.events
    finally:
        _batch.events = None
    if events:
        _insert_batch(events)
        transaction.on_commit(_kick_relay)


def _insert_batch(events: list[OutboxEvent]) -> None:
    """Write buffered events with one hand-written INSERT (core.sql); sets each event's pk, as
    bulk_create did."""
    rows = json.dumps([
        {"i": i, "topic": e.topic, "aggregate_type": e.aggregate_type, "aggregate_id": e.aggregate_id,
         "schema_name": e.schema_name, "payload": e.payload, "payload_version": e.payload_version, "status": e.status,
         "created_at": e.created_at.isoformat(), "routed_at": e.routed_at.isoformat() if e.routed_at else None}
        for i, e in enumerate(events)
    ])  # plain json, as the model's JSONField: a payload it would refuse is refused here too
    with connection.cursor() as cur:
        cur.execute(OUTBOX_BATCH_INSERT_SQL, [rows])
        ids = [row[0] for row in cur.fetchall()]
    for event, pk in zip(events, ids, strict=True):  # the rows were written: mark them saved, as bulk_create does
        event.pk = pk
        event._state.adding = False
        event._state.db = connection.alias


# A burst of commits in one process (a bulk import, a busy web worker) shares relay tasks: the
# first kick publishes at once, later kicks inside the window are folded into one deferred publish
# at its end. Publishing costs a broker round trip (~3 ms on Redis, ~15-30 ms on the PostgreSQL
# transport), which would otherwise be paid by every write transaction.
KICK_COALESCE_SECONDS = 0.25
_kick_lock = threading.Lock()
_kick_state: dict = {"pid": None, "last": 0.0, "timer": None}


def _kick_relay() -> None:
    """Make sure a relay task is queued soon after this commit (never later than the window)."""
    now = time.monotonic()
    with _kick_lock:
        if _kick_state["pid"] != os.getpid():  # forked (prefork pool, gunicorn): timers did not survive
            _kick_state.update(pid=os.getpid(), last=0.0, timer=None)
        wait = _kick_state["last"] + KICK_COALESCE_SECONDS - now
        if wait <= 0:
            _kick_state["last"] = now
            send_now = True
        else:
            send_now = False
            if _kick_state["timer"] is None:
                timer = threading.Timer(wait, _deferred_kick)
                timer.daemon = True  # if the process exits first, the beat sweep delivers
                _kick_state["timer"] = timer
                timer.start()
    if send_now:
        _publish_relay()


def _deferred_kick() -> None:
    with _kick_lock:
        _kick_state["timer"] = None
        _kick_state["last"] = time.monotonic()
    _publish_relay()


def _publish_relay() -> None:
    from core.tasks import outbox_relay

    try:
        outbox_relay.apply_async(ignore_result=True)
    except Exception:  # broker down: the beat sweep delivers later
        log.warning("outbox relay could not be queued; beat will pick the events up", exc_info=True)


# A pending delivery is due when its backoff is over, no earlier delivery of the same subscriber and
# aggregate is still pending or sending, and no earlier event of the aggregate is still unrouted (a
# concurrent router may hold it): the per-(aggregate, subscriber) order.
_DUE_SQL = """
    SELECT d.id FROM public.core_outboxdelivery d
    WHERE d.status = 'pending' AND d.available_at <= %s
      AND NOT EXISTS (
        SELECT 1 FROM public.core_outboxdelivery p
        WHERE p.subscriber = d.subscriber AND p.schema_name = d.schema_name
          AND p.aggregate_type = d.aggregate_type AND p.aggregate_id = d.aggregate_id
          AND p.event_id < d.event_id AND p.status IN ('pending', 'sending'))
      AND NOT EXISTS (
        SELECT 1 FROM public.core_outboxevent e
        WHERE e.status = 'pending' AND e.schema_name = d.schema_name
          AND e.aggregate_type = d.aggregate_type AND e.aggregate_id = d.aggregate_id AND e.id < d.event_id)
    ORDER BY d.id
    LIMIT 1
    FOR UPDATE OF d SKIP LOCKED
"""


def outbox_relay_batch(*, limit: int = 100) -> int:
    """Route new events, then make up to `limit` due deliveries; returns how many were delivered.
    Safe to run concurrently (rows are taken with SKIP LOCKED)."""
    _reclaim_expired_leases()
    while outbox_route(limit=ROUTE_BATCH) == ROUTE_BATCH:
        pass
    delivered = 0
    for _ in range(limit):
        outcome = _deliver_one()
        if outcome is None:
            break
        delivered += outcome
    return delivered


def outbox_route(*, limit: int = ROUTE_BATCH) -> int:
    """Write one delivery per subscriber for up to `limit` unrouted events, oldest first; returns how many
    events were routed. An event whose topic has no subscriber is routed with no delivery."""
    with in_public_schema(), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT id, topic, schema_name, aggregate_type, aggregate_id FROM public.core_outboxevent "
                        "WHERE status = 'pending' ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", [limit])
            events = cur.fetchall()
            if not events:
                return 0
            rows = [{"event_id": eid, "subscriber": sub.name, "schema_name": schema, "aggregate_type": atype,
                     "aggregate_id": aid}
                    for eid, topic, schema, atype, aid in events for sub in subscribers_for(topic)]
            cur.execute(OUTBOX_ROUTE_SQL, {"rows": json.dumps(rows), "now": timezone.now(), "ids": [e[0] for e in events]})
    return len(events)


def _deliver_one() -> int | None:
    """Make one due delivery. None when nothing is due; 1 when delivered; 0 when it failed."""
    with in_public_schema(), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(_DUE_SQL, [timezone.now()])
            row = cur.fetchone()
        if row is None:
            return None
        delivery = OutboxDelivery.objects.select_related("event").get(pk=row[0])
        sub = _SUBSCRIBERS.get(delivery.subscriber)
        if sub is None or not sub.external:
            try:
                with transaction.atomic():
                    _dispatch(delivery, sub)
            except Exception as exc:  # the handler's own writes were rolled back by the savepoint
                _record_failure(delivery, exc, sub)
                return 0
            delivery.status, delivery.delivered_at = OutboxDelivery.Status.DELIVERED, timezone.now()
            delivery.attempts += 1
            delivery.save(update_fields=["status", "delivered_at", "attempts"])
            return 1
        # An outside effect: commit the claim first; the effect happens after this block.
        delivery.status, delivery.attempts = OutboxDelivery.Status.SENDING, delivery.attempts + 1
        delivery.lease_until = timezone.now() + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        delivery.save(update_fields=["status", "attempts", "lease_until"])
    try:
        _dispatch(delivery, sub)
    except Exception as exc:
        with in_public_schema(), transaction.atomic():
            _record_failure(delivery, exc, sub, claimed=True)
        return 0
    with in_public_schema():
        OutboxDelivery.objects.filter(pk=delivery.pk, status=OutboxDelivery.Status.SENDING).update(
            status=OutboxDelivery.Status.DELIVERED, delivered_at=timezone.now(), lease_until=None)
    return 1


def _record_failure(delivery: OutboxDelivery, exc: Exception, sub: Subscriber | None, *, claimed: bool = False) -> None:
    delivery.last_error = f"{type(exc).__name__}: {exc}"[:4000]
    if not claimed:
        delivery.attempts += 1
    delivery.lease_until = None
    if delivery.attempts >= (sub.max_attempts if sub else MAX_ATTEMPTS):
        delivery.status = OutboxDelivery.Status.DEAD
        log.error("outbox delivery %s (%s, event %s) is a dead letter after %s attempts",
                  delivery.pk, delivery.subscriber, delivery.event_id, delivery.attempts)
    else:
        delivery.status = OutboxDelivery.Status.PENDING
        delay = BACKOFF_BASE_SECONDS * (2 ** (delivery.attempts - 1))
        delivery.available_at = timezone.now() + timedelta(seconds=delay)
        log.warning("outbox delivery %s (%s, event %s) failed (attempt %s), retry in %ss",
                    delivery.pk, delivery.subscriber, delivery.event_id, delivery.attempts, delay)
    delivery.save(update_fields=["attempts", "last_error", "status", "available_at", "lease_until"])


def _reclaim_expired_leases() -> int:
    """A "sending" delivery whose lease ran out was interrupted (worker killed, machine lost) between its
    claim and its outcome: make it again, with the same key; a dead letter once its attempts are spent."""
    with in_public_schema():
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE public.core_outboxdelivery SET status = CASE WHEN attempts >= %s THEN 'dead' ELSE 'pending' END, "
                "available_at = %s, lease_until = NULL, "
                "last_error = 'interrupted: no outcome was recorded before the lease ran out' "
                "WHERE status = 'sending' AND lease_until < %s",
                [MAX_ATTEMPTS, timezone.now(), timezone.now()])
            return cur.rowcount


def _dispatch(delivery: OutboxDelivery, sub: Subscriber | None) -> None:
    if sub is None:
        raise LookupError(f"no outbox subscriber {delivery.subscriber!r} is registered in this process")
    event = delivery.event
    event.delivery_key = delivery_key(event.pk, sub.name)
    event.delivery_attempt = delivery.attempts
    if event.schema_name == "public":
        sub.func(event)
        return
    from tenants.selectors import merchant_get_by_schema

    merchant = merchant_get_by_schema(event.schema_name)
    with in_merchant_schema(merchant):
        sub.func(event)


def effect_claim(*, event: OutboxEvent, handler: str) -> bool:
    """Record, in the relay's transaction, that a DB-only subscriber did something for this event.
    False when it was recorded before. (Outside effects use `external=True` instead.)"""
    with in_public_schema():
        _, created = OutboxEffect.objects.get_or_create(event_id=event.pk, handler=handler)
    return created


def outbox_requeue_dead(*, delivery_ids: list[int]) -> int:
    """Operator action: give dead letters another round of attempts."""
    with in_public_schema():
        return OutboxDelivery.objects.filter(pk__in=delivery_ids, status=OutboxDelivery.Status.DEAD).update(
            status=OutboxDelivery.Status.PENDING, attempts=0, available_at=timezone.now(), last_error="")


def outbox_sweep_history(*, older_than_days: int | None = None, batch: int = 5000) -> int:
    """Delete routed events older than the retention whose every delivery was made (dead letters and
    unfinished deliveries keep their event); their deliveries go with them. Returns events deleted."""
    days = settings.OUTBOX_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    total = 0
    with in_public_schema():
        while True:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(
                    """
                    WITH old AS (
                        SELECT e.id FROM public.core_outboxevent e
                        WHERE e.status = 'routed' AND e.created_at < %s
                          AND NOT EXISTS (SELECT 1 FROM public.core_outboxdelivery d
                                          WHERE d.event_id = e.id AND d.status <> 'delivered')
                        ORDER BY e.created_at LIMIT %s FOR UPDATE SKIP LOCKED),
                    gone_deliveries AS (DELETE FROM public.core_outboxdelivery d USING old WHERE d.event_id = old.id),
                    gone_effects AS (DELETE FROM public.core_outboxeffect f USING old WHERE f.event_id = old.id)
                    DELETE FROM public.core_outboxevent e USING old WHERE e.id = old.id
                    """, [cutoff, batch])
                n = cur.rowcount
            total += n
            if n < batch:
                return total
