"""The transactional outbox: write events with the change, relay them at least once, in order per aggregate.

Producers call `outbox_emit` inside their own transaction. The relay (`outbox_relay_batch`, run by
a Celery task on commit and by beat) takes due events with `FOR UPDATE SKIP LOCKED`, skipping any
event whose aggregate still has an earlier undelivered event, runs the handlers for its topic in
the event's schema, and marks it delivered. A failing handler is retried with exponential backoff;
after MAX_ATTEMPTS the event becomes a dead letter, visible in the super-admin.
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
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from core.models import OutboxEffect, OutboxEvent
from core.sql import OUTBOX_BATCH_INSERT_SQL
from core.tenancy import current_schema, in_merchant_schema, in_public_schema

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2
Handler = Callable[[OutboxEvent], None]
_HANDLERS: dict[str, list[Handler]] = defaultdict(list)


def outbox_handler(topic: str) -> Callable[[Handler], Handler]:
    """Register an idempotent handler for a topic. Handlers run in the event's schema."""

    def register(func: Handler) -> Handler:
        if func not in _HANDLERS[topic]:
            _HANDLERS[topic].append(func)
        return func

    return register


def handlers_for(topic: str) -> list[Handler]:
    return list(_HANDLERS.get(topic, []))


_batch = threading.local()


def outbox_emit(*, topic: str, aggregate_type: str, aggregate_id: object, payload: dict | None = None) -> OutboxEvent:
    """Write an event in the caller's transaction; kick the relay once that transaction commits.

    Inside `outbox_batch()` the event is buffered and written with the batch's single INSERT.
    """
    event = OutboxEvent(
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        schema_name=current_schema(),
        payload=payload or {},
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
         "schema_name": e.schema_name, "payload": e.payload, "status": e.status, "attempts": e.attempts,
         "last_error": e.last_error, "created_at": e.created_at.isoformat(), "available_at": e.available_at.isoformat(),
         "delivered_at": e.delivered_at.isoformat() if e.delivered_at else None}
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


_DUE_SQL = """
    SELECT e.id FROM public.core_outboxevent e
    WHERE e.status = 'pending' AND e.available_at <= %s
      AND NOT EXISTS (
        SELECT 1 FROM public.core_outboxevent p
        WHERE p.schema_name = e.schema_name AND p.aggregate_type = e.aggregate_type
          AND p.aggregate_id = e.aggregate_id
          AND p.id < e.id AND p.status = 'pending')
    ORDER BY e.id
    LIMIT %s
    FOR UPDATE SKIP LOCKED
"""


def outbox_relay_batch(*, limit: int = 100) -> int:
    """Deliver up to `limit` due events; returns how many were delivered. Safe to run concurrently."""
    delivered = 0
    for _ in range(limit):
        outcome = _relay_one()
        if outcome is None:
            break
        delivered += outcome
    return delivered


def _relay_one() -> int | None:
    """Take one due event under its row lock, handle it, record the outcome. None when nothing is due."""
    with in_public_schema(), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(_DUE_SQL, [timezone.now(), 1])
            row = cur.fetchone()
        if row is None:
            return None
        event = OutboxEvent.objects.get(pk=row[0])
        try:
            with transaction.atomic():
                _dispatch(event)
        except Exception as exc:  # the handler's own writes were rolled back by the savepoint
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:4000]
            if event.attempts >= MAX_ATTEMPTS:
                event.status = OutboxEvent.Status.DEAD
                log.error("outbox event %s is a dead letter after %s attempts", event.pk, event.attempts)
            else:
                delay = BACKOFF_BASE_SECONDS * (2 ** (event.attempts - 1))
                event.available_at = timezone.now() + timedelta(seconds=delay)
                log.warning("outbox event %s failed (attempt %s), retry in %ss", event.pk, event.attempts, delay)
            event.save(update_fields=["attempts", "last_error", "status", "available_at"])
            return 0
        event.status = OutboxEvent.Status.DELIVERED
        event.delivered_at = timezone.now()
        event.attempts += 1
        event.save(update_fields=["status", "delivered_at", "attempts"])
        return 1


def _dispatch(event: OutboxEvent) -> None:
    handlers = handlers_for(event.topic)
    if event.schema_name == "public":
        for handler in handlers:
            handler(event)
        return
    from tenants.selectors import merchant_get_by_schema

    merchant = merchant_get_by_schema(event.schema_name)
    with in_merchant_schema(merchant):
        for handler in handlers:
            handler(event)


def effect_claim(*, event: OutboxEvent, handler: str) -> bool:
    """Claim a once-only external effect for (event, handler). False when it was already done."""
    with in_public_schema():
        _, created = OutboxEffect.objects.get_or_create(event_id=event.pk, handler=handler)
    return created


def outbox_requeue_dead(*, event_ids: list[int]) -> int:
    """Operator action: give dead letters another round of attempts."""
    with in_public_schema():
        return OutboxEvent.objects.filter(pk__in=event_ids, status=OutboxEvent.Status.DEAD).update(
            status=OutboxEvent.Status.PENDING, attempts=0, available_at=timezone.now()
        )
