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
