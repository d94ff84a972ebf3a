"""The outbox's hand-written batch INSERT (core.outbox.outbox_batch), used on checkout's hot path.

One statement for every event of a transaction, the rows passed as one JSON parameter: the ORM's
bulk_create compiled the INSERT and bound one array per column, ≈ 8 % of a checkout's Python time
(docs/benchmarks.md). tests/core/test_sql_columns.py fails if the column list drifts from the model.
"""

OUTBOX_BATCH_INSERT_COLUMNS = ("topic", "aggregate_type", "aggregate_id", "schema_name", "payload", "status", "attempts",
                               "last_error", "created_at", "available_at", "delivered_at")

# ORDER BY x.i: ids ascend in emit order (the relay delivers an aggregate's events in id order).
OUTBOX_BATCH_INSERT_SQL = """
    INSERT INTO core_outboxevent (topic, aggregate_type, aggregate_id, schema_name, payload, status, attempts,
                                  last_error, created_at, available_at, delivered_at)
    SELECT x.topic, x.aggregate_type, x.aggregate_id, x.schema_name, x.payload, x.status, x.attempts,
           x.last_error, x.created_at, x.available_at, x.delivered_at
    FROM jsonb_to_recordset(%s::jsonb)
        AS x(i integer, topic text, aggregate_type text, aggregate_id text, schema_name text, payload jsonb, status text,
             attempts integer, last_error text, created_at timestamptz, available_at timestamptz, delivered_at timestamptz)
    ORDER BY x.i
    RETURNING id
"""
