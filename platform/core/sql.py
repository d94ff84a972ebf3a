"""The outbox's hand-written batch INSERT (core.outbox.outbox_batch), used on checkout's hot path.

One statement for every event of a transaction, the rows passed as one JSON parameter: the ORM's
bulk_create compiled the INSERT and bound one array per column, ≈ 8 % of a checkout's Python time
(docs/benchmarks.md). tests/core/test_sql_columns.py fails if the column list drifts from the model.
"""

OUTBOX_BATCH_INSERT_COLUMNS = ("topic", "aggregate_type", "aggregate_id", "schema_name", "payload", "payload_version",
                               "status", "created_at", "routed_at")

# ORDER BY x.i: ids ascend in emit order (subscribers get an aggregate's events in id order).
OUTBOX_BATCH_INSERT_SQL = """
    INSERT INTO core_outboxevent (topic, aggregate_type, aggregate_id, schema_name, payload, payload_version, status,
                                  created_at, routed_at)
    SELECT x.topic, x.aggregate_type, x.aggregate_id, x.schema_name, x.payload, x.payload_version, x.status,
           x.created_at, x.routed_at
    FROM jsonb_to_recordset(%s::jsonb)
        AS x(i integer, topic text, aggregate_type text, aggregate_id text, schema_name text, payload jsonb,
             payload_version smallint, status text, created_at timestamptz, routed_at timestamptz)
    ORDER BY x.i
    RETURNING id
"""

OUTBOX_ROUTE_COLUMNS = ("event_id", "subscriber", "schema_name", "aggregate_type", "aggregate_id", "status", "attempts",
                        "last_error", "created_at", "available_at", "lease_until", "delivered_at")

# The relay's routing step (core.outbox.outbox_route): one delivery per (event, subscriber), then the
# events are marked routed, in one statement. Parameters: the deliveries as JSON, now, the event ids.
OUTBOX_ROUTE_SQL = """
    WITH routed AS (
        UPDATE public.core_outboxevent SET status = 'routed', routed_at = %(now)s
        WHERE id = ANY(%(ids)s) RETURNING id)
    INSERT INTO public.core_outboxdelivery (event_id, subscriber, schema_name, aggregate_type, aggregate_id, status,
                                            attempts, last_error, created_at, available_at, lease_until, delivered_at)
    SELECT x.event_id, x.subscriber, x.schema_name, x.aggregate_type, x.aggregate_id, 'pending', 0, '',
           %(now)s, %(now)s, NULL, NULL
    FROM jsonb_to_recordset(%(rows)s::jsonb)
        AS x(event_id bigint, subscriber text, schema_name text, aggregate_type text, aggregate_id text)
    ORDER BY x.event_id
    ON CONFLICT (event_id, subscriber) DO NOTHING
"""
