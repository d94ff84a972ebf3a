"""Outbox subscribers that keep the sales rollups (reports/rollups.py): DB-only, exactly once, in the relay's transaction."""
from __future__ import annotations

from core.outbox import outbox_handler
from core.tenancy import current_merchant
from reports.rollups import refund_rollup_add, suborder_rollup_refresh


@outbox_handler("suborder.changed", name="reports.suborder_sales")
def suborder_sales(event) -> None:
    """Any change of a suborder (paid, imported, accepted, shipped, late, lines refused, cancelled, swapped...)."""
    merchant = current_merchant()
    suborder_rollup_refresh(merchant_id=merchant.pk, suborder_id=int(event.aggregate_id))


@outbox_handler("refund.succeeded", name="reports.refund_sales")
def refund_sales(event) -> None:
    refund_rollup_add(refund_id=int(event.aggregate_id))
