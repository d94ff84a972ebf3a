"""Payments' part of checkout's public-rows statement (orders.services.checkout._PUBLIC_ROWS_SQL).

Checkout writes the order's Payment in its own transaction, in the same statement as the order's
lines and mirrors (one round trip), but the SQL and its parameters are owned here: the pending
payment and its "created" event. tests/payments/test_sql_columns.py fails if these column lists
drift from the models.
"""
from payments.states import PaymentStatus

# Two data-modifying CTEs, to be placed in a WITH list; yields `pay(id)`.
CHECKOUT_PAYMENT_CTES = """
    pay AS (
        INSERT INTO payments_payment (order_id, gateway, amount_minor, currency, status, gateway_reference, action_url,
                                      capture_policy, authorized_minor, captured_minor, refunded_minor, created_at, updated_at)
        VALUES (%(order_id)s, %(pay_gateway)s, %(pay_amount)s, %(pay_currency)s, %(pay_status)s, '', '',
                COALESCE((SELECT capture_policy FROM payments_paymentsettings ORDER BY id LIMIT 1), 'immediate'),
                0, 0, 0, %(now)s, %(now)s)
        RETURNING id
    ), pay_ev AS (
        INSERT INTO payments_paymentevent (payment_id, from_status, to_status, amount_minor, gateway_event_id, reason, at)
        SELECT id, '', %(pay_status)s, %(pay_amount)s, '', 'checkout', %(now)s FROM pay
    )"""

PAYMENT_INSERT_COLUMNS = ("order_id", "gateway", "amount_minor", "currency", "status", "gateway_reference", "action_url",
                          "capture_policy", "authorized_minor", "captured_minor", "refunded_minor", "created_at", "updated_at")
PAYMENT_EVENT_INSERT_COLUMNS = ("payment_id", "from_status", "to_status", "amount_minor", "gateway_event_id", "reason", "at")


def checkout_payment_params(*, amount_minor: int, currency: str, gateway: str = "") -> dict:
    """Parameters of CHECKOUT_PAYMENT_CTES (the statement supplies order_id and now). The capture policy
    is read from the operator's settings inside the statement itself: no extra round trip."""
    return {"pay_gateway": gateway, "pay_amount": amount_minor, "pay_currency": currency,
            "pay_status": PaymentStatus.PENDING}


# Payments of orders paid on another channel (channel imports, orders.services.channel): captured
# outside Mallard (gateway "offline", reference "<channel>:<external id>"), with their "captured" event
# and ledger entries (one per order line, one per suborder's shipping), for a chunk of orders in ONE
# statement. Σ ledger = captured for every order, as ledger_record_capture writes it.
CHANNEL_PAYMENTS_SQL = """
    WITH x AS (
        SELECT * FROM jsonb_to_recordset(%(payments)s::jsonb)
            AS x(i integer, order_id bigint, amount_minor bigint, currency text, reference text, reason text)
    ), pay AS (
        INSERT INTO payments_payment (order_id, gateway, amount_minor, currency, status, gateway_reference, action_url,
                                      capture_policy, authorized_minor, captured_minor, refunded_minor, created_at, updated_at)
        SELECT x.order_id, %(gateway)s, x.amount_minor, x.currency, %(status)s, x.reference, '', 'immediate', 0,
               x.amount_minor, 0, %(now)s, %(now)s
        FROM x ORDER BY x.i
        RETURNING id, order_id
    ), ev AS (
        INSERT INTO payments_paymentevent (payment_id, from_status, to_status, amount_minor, actor_id, gateway_event_id, reason, at)
        SELECT pay.id, '', %(status)s, x.amount_minor, %(actor_id)s, '', x.reason, %(now)s
        FROM pay JOIN x ON x.order_id = pay.order_id ORDER BY pay.id
    ), led AS (
        INSERT INTO payments_ledgerentry (order_id, payment_id, refund_id, kind, merchant_id, suborder_id, order_line_id,
                                          component, amount_minor, currency, commission_bp, commission_minor, at)
        SELECT e.order_id, pay.id, NULL, %(kind)s, e.merchant_id, e.suborder_id, e.order_line_id, e.component, e.amount_minor,
               e.currency, e.commission_bp, e.commission_minor, %(now)s
        FROM jsonb_to_recordset(%(ledger)s::jsonb)
            AS e(i integer, order_id bigint, merchant_id bigint, suborder_id bigint, order_line_id bigint, component text,
                 amount_minor bigint, currency text, commission_bp integer, commission_minor bigint)
        JOIN pay ON pay.order_id = e.order_id
        ORDER BY e.i
        RETURNING id
    )
    SELECT (SELECT count(*) FROM pay), (SELECT count(*) FROM led)
"""
