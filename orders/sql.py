"""Hand-written SQL of the orders app for channel imports (orders.services.channel), where a chunk of
hundreds of orders is written with a few statements instead of a few per order (docs/benchmarks.md).

Each statement writes only this app's tables; tests/imports/test_sql_columns.py fails when a column
list here drifts from the models (a column left out must be filled by the database).
"""
from __future__ import annotations

# The orders of a chunk. An order already imported (same idempotency scope and key: the channel's
# order id) is skipped by the unique constraint, not written twice: RETURNING names those written.
IMPORT_ORDERS_SQL = """
    INSERT INTO orders_order (number, shopper_id, email, currency, subtotal_minor, shipping_minor, discount_minor, total_minor,
                              shipping_address, voucher_id, idempotency_scope, idempotency_key, request_hash, created_at,
                              expires_at, expired_at, channel, external_order_id)
    SELECT x.number, NULL, x.email, x.currency, x.subtotal_minor, x.shipping_minor, x.discount_minor, x.total_minor,
           x.address, NULL, %(scope)s, x.external_order_id, '', x.created_at, x.created_at, NULL, %(channel)s,
           x.external_order_id
    FROM jsonb_to_recordset(%(orders)s::jsonb)
        AS x(i integer, number text, email text, currency text, subtotal_minor bigint, shipping_minor bigint,
             discount_minor bigint, total_minor bigint, address jsonb, created_at timestamptz, external_order_id text)
    ORDER BY x.i
    ON CONFLICT ON CONSTRAINT order_idempotency_once DO NOTHING
    RETURNING id, external_order_id
"""

# The public rows of a chunk's orders in ONE statement: their lines (with the commission snapshot) and
# one mirror per suborder (status awaiting_acceptance and its deadline: the order is paid). The line ids
# come back keyed by (order, merchant, variant) for the ledger.
IMPORT_PUBLIC_ROWS_SQL = """
    WITH ol AS (
        INSERT INTO orders_orderline (order_id, merchant_id, variant_id, sku, name, unit_price_minor, quantity, discount_minor,
                                      line_total_minor, commission_bp, commission_minor, suborder_id)
        SELECT x.order_id, x.merchant_id, x.variant_id, x.sku, x.name, x.unit_price_minor, x.quantity, x.discount_minor,
               x.line_total_minor, x.commission_bp, x.commission_minor, x.suborder_id
        FROM jsonb_to_recordset(%(lines)s::jsonb)
            AS x(i integer, order_id bigint, merchant_id bigint, variant_id bigint, sku text, name text, unit_price_minor bigint,
                 quantity integer, discount_minor bigint, line_total_minor bigint, commission_bp integer, commission_minor bigint,
                 suborder_id bigint)
        ORDER BY x.i
        RETURNING id, order_id, merchant_id, variant_id
    ), mi AS (
        INSERT INTO orders_subordermirror (order_id, merchant_id, suborder_id, number, status, warehouse_name, shipping_method,
                                           subtotal_minor, shipping_minor, discount_minor, total_minor, updated_at, accept_by)
        SELECT x.order_id, x.merchant_id, x.suborder_id, x.number, x.status, x.warehouse_name, x.shipping_method,
               x.subtotal_minor, x.shipping_minor, x.discount_minor, x.total_minor, %(now)s, x.accept_by
        FROM jsonb_to_recordset(%(mirrors)s::jsonb)
            AS x(i integer, order_id bigint, merchant_id bigint, suborder_id bigint, number text, status text, warehouse_name text,
                 shipping_method text, subtotal_minor bigint, shipping_minor bigint, discount_minor bigint, total_minor bigint,
                 accept_by timestamptz)
        ORDER BY x.i
        RETURNING id
    )
    SELECT id, order_id, merchant_id, variant_id FROM ol
"""
