"""Outbox topics of returns (merchant schema; aggregate: the return request)."""
from core.events import topic

_PAYLOAD = {
    "number": "the return's number",
    "suborder_id": "the suborder it returns from",
    "suborder_number": "the suborder's number",
    "order_id": "the checkout order's id (public)",
    "merchant_id": "the store's merchant id",
    "kind": "return | exchange | refund_only",
    "from": "status before ('' when requested)",
    "to": "status after",
    "action": "what happened: requested, approved, auto_approved, refused, awaiting_shipment, shipped_back, "
              "received, inspected, refunded, exchanged, closed, refund_issued",
    "lines": "[{line_id, sku, quantity, accepted_qty}] the return's lines",
    "reason": "the reason given (the shopper's, a refusal's, or a short description)",
    "refund_minor": "the amount refunded so far, in minor units",
    "version": "the return's version after the change",
}

topic("return.changed", app="returns", fires="Any change of a return, exchange or refund-only request: its "
      "creation, every status move, a refund issued. One event per change, in order per return.", payload=_PAYLOAD)
