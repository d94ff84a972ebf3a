"""Payments of orders sold and paid on another channel (channel imports): money captured outside Mallard.

An imported order was paid on its channel (Shopify, Taobao …) before it reached us. Its Payment is
recorded as captured with gateway "offline" (the money was received outside every gateway, as for a
bank transfer) and reference "<channel>:<external order id>", with its "captured" PaymentEvent and the
ledger entries a capture writes (one per order line with its commission snapshot, one per suborder's
shipping), so `./mallard ledger check` balances for imported orders too, settlements see them, and a
refund of an imported order is paid back outside the gateways (refund_submit settles offline payments
at once). No gateway is ever called, and no `payment.captured` event is emitted: the suborders are
created already awaiting acceptance (docs/decisions.md).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection

from core.tenancy import platform_only
from payments.models import LedgerEntry
from payments.services.offline import OFFLINE
from payments.sql import CHANNEL_PAYMENTS_SQL
from payments.states import PaymentStatus


@dataclass(frozen=True)
class ChannelPayment:
    order_id: int
    amount_minor: int
    currency: str
    channel: str
    external_order_id: str


@dataclass(frozen=True)
class LedgerComponent:
    """A part of an order's total: an order line (order_line_id) or a suborder's shipping (None)."""

    order_id: int
    merchant_id: int
    suborder_id: int
    order_line_id: int | None
    amount_minor: int
    currency: str
    commission_bp: int = 0
    commission_minor: int = 0


@platform_only
def payments_record_channel_batch(*, payments: list[ChannelPayment], components: list[LedgerComponent], now,
                                  actor=None) -> tuple[int, int]:
    """Record captured channel payments and their ledger entries for many orders in one statement, in
    the caller's transaction. Returns (payments written, ledger entries written)."""
    if not payments:
        return 0, 0
    params = {
        "payments": json.dumps([
            {"i": i, "order_id": p.order_id, "amount_minor": p.amount_minor, "currency": p.currency,
             "reference": f"{p.channel}:{p.external_order_id}"[:120],
             "reason": f"paid on channel {p.channel}: {p.external_order_id}"[:300]}
            for i, p in enumerate(payments)
        ]),
        "ledger": json.dumps([
            {"i": i, "order_id": c.order_id, "merchant_id": c.merchant_id, "suborder_id": c.suborder_id,
             "order_line_id": c.order_line_id, "component": "line" if c.order_line_id else "shipping",
             "amount_minor": c.amount_minor, "currency": c.currency, "commission_bp": c.commission_bp,
             "commission_minor": c.commission_minor}
            for i, c in enumerate(cc for cc in components if cc.amount_minor)  # no zero entries, as a capture
        ]),
        "gateway": OFFLINE, "status": PaymentStatus.CAPTURED, "kind": LedgerEntry.Kind.CAPTURED, "now": now,
        "actor_id": getattr(actor, "pk", None),
    }
    with connection.cursor() as cur:
        cur.execute(CHANNEL_PAYMENTS_SQL, params)
        written, entries = cur.fetchone()
    return written, entries
