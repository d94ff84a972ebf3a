"""Hand-written statements of the webhook dispatcher. Each carries an invariant the ORM cannot say in one
statement: "only the head of each (endpoint, suborder) chain", "at most N in flight per endpoint", "the
earliest time, never a later one". tests/webhooks/test_sql_columns.py fails when their columns drift."""

OPEN_STATUSES = ("pending", "failed", "sending")

# A delivery can go when it is due, its endpoint is enabled, and no earlier delivery of the same endpoint and
# aggregate (suborder) is still open. A `sending` row is due again only when its claim lease ran out (the
# worker died mid-send); it is then retried with the same delivery id.
_HEAD = """
    d.status IN ('pending', 'failed', 'sending') AND e.enabled
    AND NOT EXISTS (
        SELECT 1 FROM webhooks_webhookdelivery p
        WHERE p.endpoint_id = d.endpoint_id AND p.aggregate_key = d.aggregate_key AND d.aggregate_key <> ''
          AND p.id < d.id AND p.status IN ('pending', 'failed', 'sending'))
"""

# Candidates to claim: chain heads that are due, at most `cap` per endpoint counting those already in
# flight (a failing endpoint gets `failing_cap`, usually 1: it cannot tie up the workers).
DUE_CANDIDATES_SQL = f"""
    WITH in_flight AS (
        SELECT endpoint_id, count(*) AS n FROM webhooks_webhookdelivery
        WHERE status = 'sending' AND next_attempt_at > %(now)s GROUP BY endpoint_id
    ), heads AS (
        SELECT d.id, d.next_attempt_at, e.failing_since IS NOT NULL AS failing, COALESCE(f.n, 0) AS in_flight,
               row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.id) AS rn
        FROM webhooks_webhookdelivery d
        JOIN webhooks_webhookendpoint e ON e.id = d.endpoint_id
        LEFT JOIN in_flight f ON f.endpoint_id = d.endpoint_id
        WHERE d.next_attempt_at <= %(now)s AND {_HEAD}
    )
    SELECT id FROM heads
    WHERE rn + in_flight <= CASE WHEN failing THEN %(failing_cap)s ELSE %(cap)s END
    ORDER BY next_attempt_at, id
    LIMIT %(limit)s
"""

# The claim: committed before any HTTP call. Re-checks the status so two dispatchers never both claim one row.
CLAIM_SQL = """
    UPDATE webhooks_webhookdelivery
    SET status = 'sending', claimed_at = %(now)s, next_attempt_at = %(lease_until)s, attempts = attempts + 1
    WHERE id = ANY(%(ids)s) AND status IN ('pending', 'failed', 'sending') AND next_attempt_at <= %(now)s
    RETURNING id
"""

# When this merchant next has something to send (the earliest due chain head), for the public due index.
NEXT_DUE_SQL = f"""
    SELECT min(d.next_attempt_at) FROM webhooks_webhookdelivery d
    JOIN webhooks_webhookendpoint e ON e.id = d.endpoint_id
    WHERE {_HEAD}
"""

# The public due index: never move a merchant's due time later (a concurrent dispatcher may have just
# computed it from rows that did not include ours yet).
DUE_NOTE_SQL = """
    INSERT INTO public.webhooks_due_webhookduemerchant (merchant_id, schema_name, due_at)
    VALUES (%s, %s, %s)
    ON CONFLICT (merchant_id) DO UPDATE
    SET due_at = LEAST(public.webhooks_due_webhookduemerchant.due_at, EXCLUDED.due_at)
"""

DUE_NOTE_COLUMNS = ("merchant_id", "schema_name", "due_at")
