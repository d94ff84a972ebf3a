"""Hand-written SQL of the suborders app, on hot paths where it is measured to pay (CONVENTIONS.md).

Each statement writes only this app's tables. tests/suborders/test_sql_columns.py fails when a column
list here drifts from the models: a model column a statement leaves out must be filled by the database
(a db_default, a nullable column without a Python default, or the id).
"""
from __future__ import annotations

from collections.abc import Iterable


def skus_of(skus: Iterable[str]) -> list[str]:
    """A suborder's `skus`: the distinct SKUs of its lines, sorted (what migration 0005 backfills)."""
    return sorted(set(skus))


# This merchant's suborders, their lines and their first events in ONE statement (checkout).
# Suborders and lines arrive as two JSON arrays (two parameters: cheap to bind), each item with
# its position i in the caller's order.
#   so     insert the suborders, each with the sorted distinct SKUs of its lines (`skus`, which the
#          SKU search reads; see skus_of); RETURNING gives each new id with its number (unique in the order);
#   ln     insert the lines, each joined to its suborder by number; RETURNING names each new id with
#          its suborder and variant (a variant appears once per merchant in an order), so ids are
#          matched to lines by key, never by the order PostgreSQL happened to insert them in;
#   ev     the "created" event of each suborder (from_status "" to its first status).
# The result: one row per suborder and one per line, tagged.
CREATE_FOR_CHECKOUT_SQL = """
    WITH so AS (
        INSERT INTO suborders_suborder (number, order_id, order_number, shopper_email, status, currency, warehouse_id,
                                        warehouse_name, warehouse_reason, shipping_method, shipping_address, subtotal_minor,
                                        shipping_minor, discount_minor, platform_discount_minor, total_minor, created_at,
                                        updated_at, accept_by, skus)
        SELECT t.number, %(order_id)s, %(order_number)s, %(email)s, %(status)s, %(currency)s, t.warehouse_id,
               t.warehouse_name, t.warehouse_reason, %(shipping_method)s, %(address)s::jsonb, t.subtotal_minor,
               t.shipping_minor, t.discount_minor, t.platform_discount_minor, t.total_minor, %(now)s, %(now)s, NULL, t.skus
        FROM jsonb_to_recordset(%(suborders)s::jsonb)
            AS t(i integer, number text, warehouse_id bigint, warehouse_name text, warehouse_reason text, subtotal_minor bigint,
                 shipping_minor bigint, discount_minor bigint, platform_discount_minor bigint, total_minor bigint,
                 skus varchar(64)[])
        ORDER BY t.i
        RETURNING id, number
    ), ln AS (
        INSERT INTO suborders_suborderline (suborder_id, variant_id, sku, name, unit_price_minor, quantity, discount_minor,
                                            line_total_minor)
        SELECT so.id, x.variant_id, x.sku, x.name, x.unit_price_minor, x.quantity, x.discount_minor, x.line_total_minor
        FROM jsonb_to_recordset(%(lines)s::jsonb)
            AS x(i integer, number text, variant_id bigint, sku text, name text, unit_price_minor bigint, quantity integer,
                 discount_minor bigint, line_total_minor bigint)
        JOIN so ON so.number = x.number
        ORDER BY x.i
        RETURNING id, suborder_id, variant_id
    ), ev AS (
        INSERT INTO suborders_suborderevent (suborder_id, from_status, to_status, actor_id, reason, at)
        SELECT so.id, '', %(status)s, %(actor_id)s, 'checkout', %(now)s FROM so ORDER BY so.id
    )
    SELECT 'suborder', id, number, NULL::bigint FROM so
    UNION ALL
    SELECT 'line', id, (SELECT so.number FROM so WHERE so.id = ln.suborder_id), variant_id FROM ln
"""


# Channel imports (orders.services.channel): many orders' suborders of this merchant, their lines and
# their first events in ONE statement per chunk of orders. Like CREATE_FOR_CHECKOUT_SQL, but each
# suborder carries its own order, shopper, address, channel and external order id, and starts at the
# status given (an imported order was paid on its channel: awaiting_acceptance, with its deadline).
CREATE_IMPORTED_SQL = """
    WITH so AS (
        INSERT INTO suborders_suborder (number, order_id, order_number, shopper_email, status, currency, warehouse_id,
                                        warehouse_name, warehouse_reason, shipping_method, shipping_address, subtotal_minor,
                                        shipping_minor, discount_minor, platform_discount_minor, total_minor, created_at,
                                        updated_at, accept_by, skus, channel, external_order_id)
        SELECT t.number, t.order_id, t.order_number, t.email, %(status)s, t.currency, t.warehouse_id,
               t.warehouse_name, t.warehouse_reason, t.shipping_method, t.address, t.subtotal_minor,
               t.shipping_minor, t.discount_minor, 0, t.total_minor, %(now)s, %(now)s, %(accept_by)s, t.skus,
               %(channel)s, t.external_order_id
        FROM jsonb_to_recordset(%(suborders)s::jsonb)
            AS t(i integer, number text, order_id bigint, order_number text, email text, currency text, warehouse_id bigint,
                 warehouse_name text, warehouse_reason text, shipping_method text, address jsonb, subtotal_minor bigint,
                 shipping_minor bigint, discount_minor bigint, total_minor bigint, skus varchar(64)[], external_order_id text)
        ORDER BY t.i
        RETURNING id, number
    ), ln AS (
        INSERT INTO suborders_suborderline (suborder_id, variant_id, sku, name, unit_price_minor, quantity, discount_minor,
                                            line_total_minor)
        SELECT so.id, x.variant_id, x.sku, x.name, x.unit_price_minor, x.quantity, x.discount_minor, x.line_total_minor
        FROM jsonb_to_recordset(%(lines)s::jsonb)
            AS x(i integer, number text, variant_id bigint, sku text, name text, unit_price_minor bigint, quantity integer,
                 discount_minor bigint, line_total_minor bigint)
        JOIN so ON so.number = x.number
        ORDER BY x.i
        RETURNING id, suborder_id, variant_id
    ), ev AS (
        INSERT INTO suborders_suborderevent (suborder_id, action, from_status, to_status, actor_id, reason, at)
        SELECT so.id, 'imported', '', %(status)s, %(actor_id)s, %(reason)s, %(now)s FROM so ORDER BY so.id
    )
    SELECT 'suborder', so.id, so.number, NULL::bigint FROM so
    UNION ALL
    SELECT 'line', ln.id, (SELECT so.number FROM so WHERE so.id = ln.suborder_id), ln.variant_id FROM ln
"""

# Which of these external order ids of a channel already have a suborder, in several merchant schemas at
# once (schema-qualified UNION ALL, like catalog.cross_schema): one round trip per chunk of an import.
EXISTING_EXTERNAL_BRANCH = """
SELECT %s::text, external_order_id FROM "{s}".suborders_suborder
WHERE channel = %s AND external_order_id = ANY(%s) AND external_order_id <> ''
"""
