"""core/sql.py's hand-written outbox INSERT keeps up with the model (CONVENTIONS.md: raw SQL on a hot
path), and writes exactly what the ORM wrote for the same events."""
from __future__ import annotations

import re

from django.db import transaction

from core.events import topic as declare
from core.models import OutboxDelivery, OutboxEvent
from core.outbox import outbox_batch, outbox_emit
from core.sql import OUTBOX_BATCH_INSERT_COLUMNS, OUTBOX_BATCH_INSERT_SQL, OUTBOX_ROUTE_COLUMNS, OUTBOX_ROUTE_SQL
from core.tenancy import in_merchant_schema


def test_the_batch_insert_lists_every_column_of_the_model():
    """A new OutboxEvent column (with a Python default the raw INSERT would not write) fails here."""
    listed = re.search(r"INSERT INTO\s+core_outboxevent\s*\(([^)]*)\)", OUTBOX_BATCH_INSERT_SQL).group(1)
    listed = tuple(c.strip() for c in listed.split(","))
    columns = tuple(f.column for f in OutboxEvent._meta.concrete_fields if not f.primary_key)
    assert listed == OUTBOX_BATCH_INSERT_COLUMNS
    assert set(listed) == set(columns), f"missing {set(columns) - set(listed)}, unknown {set(listed) - set(columns)}"


def test_the_routing_insert_lists_every_column_of_the_delivery_model():
    listed = re.search(r"INSERT INTO\s+public\.core_outboxdelivery\s*\(([^)]*)\)", OUTBOX_ROUTE_SQL).group(1)
    listed = tuple(c.strip() for c in listed.split(","))
    columns = tuple(f.column for f in OutboxDelivery._meta.concrete_fields if not f.primary_key)
    assert listed == OUTBOX_ROUTE_COLUMNS
    assert set(listed) == set(columns), f"missing {set(columns) - set(listed)}, unknown {set(listed) - set(columns)}"


def _fields(event) -> dict:
    return {f.attname: getattr(event, f.attname) for f in OutboxEvent._meta.concrete_fields}


def test_a_batch_writes_the_events_as_outbox_emit_alone_would(mall, unique):
    topic = declare(unique("test.sql."), app="tests", fires="test", payload={"n": "", "nested": "", "text": ""}, version=3).name
    payload = {"n": 1, "nested": {"list": [1, "二", None]}, "text": "a'b\"c\\d"}
    with transaction.atomic():
        single = outbox_emit(topic=topic, aggregate_type="order", aggregate_id=7, payload=payload)
        with outbox_batch() as buffered:
            first = outbox_emit(topic=topic, aggregate_type="order", aggregate_id=7, payload=payload)
            with in_merchant_schema(mall.acme):
                second = outbox_emit(topic=topic, aggregate_type="suborder", aggregate_id="acme-1", payload={})
            assert first.pk is None and buffered == [first, second]  # nothing written before the batch ends
        assert first.pk is not None and second.pk > first.pk > single.pk  # ids in emit order
    stored = {e.pk: e for e in OutboxEvent.objects.filter(topic=topic)}
    assert set(stored) == {single.pk, first.pk, second.pk}
    for event in (first, second):
        assert _fields(event) == _fields(stored[event.pk])
        assert event._state.adding is False
    differs = {"id", "created_at"}
    assert {k: v for k, v in _fields(stored[first.pk]).items() if k not in differs} == \
           {k: v for k, v in _fields(stored[single.pk]).items() if k not in differs}
    assert (stored[second.pk].schema_name, stored[second.pk].status, stored[second.pk].payload_version) == ("m_acme", "pending", 3)


def test_a_batch_that_raises_writes_nothing(mall, unique):
    topic = declare(unique("test.sql."), app="tests", fires="test", payload={}).name
    try:
        with transaction.atomic(), outbox_batch():
            outbox_emit(topic=topic, aggregate_type="order", aggregate_id=1)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert not OutboxEvent.objects.filter(topic=topic).exists()
