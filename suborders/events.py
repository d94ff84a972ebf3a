"""Outbox topics of suborders (merchant schema; aggregate: the suborder)."""
from core.events import topic
from suborders.states import SubOrderStatus

_PAYLOAD = {
    "number": "the suborder number",
    "order_id": "the checkout order's id (public)",
    "merchant_id": "the store's merchant id",
    "from": "status before",
    "to": "status after",
    "action": "what happened: paid, accepted, lines_refused, lines_cancelled, shipped, delivered, completed, late, "
              "cancelled, contact_changed, variant_swapped, cancellation_requested, cancellation_refused, ...",
    "lines": "[{line_id, variant_id, sku, quantity}, ...] the lines and units the action touched",
    "reason": "the reason given (refusals, cancellations) or a short description",
    "version": "the suborder's version after the change (a subscriber can drop an older one)",
    "refund_minor": "variant_swapped: the price difference refunded, in minor units",
    "channel": "imported suborders: the channel the order was sold on",
    "external_order_id": "imported suborders: the channel's order id",
}
_OPTIONAL = ("refund_minor", "channel", "external_order_id")

topic("suborder.changed", app="suborders", fires="Any change of a suborder: every lifecycle action, an address or "
      "note edit, a variant swap. One event per change, in order per suborder.", payload=_PAYLOAD,
      optional=_OPTIONAL)
for _status in SubOrderStatus.values:
    topic(f"suborder.{_status}", app="suborders", fires=f"A suborder entered the status `{_status}` (emitted just "
          "before the matching suborder.changed).", payload=_PAYLOAD, optional=_OPTIONAL)

_CANCELLATION = {
    "request_id": "the cancellation request's id (merchant schema)",
    "suborder_id": "the suborder's id (merchant schema)",
    "number": "the suborder number",
    "order_id": "the checkout order's id (public)",
    "order_number": "the checkout order's number (what the shopper knows)",
    "merchant_id": "the store's merchant id",
    "status": "requested, approved or refused",
    "lines": "[{line, sku, variant_id, quantity}, ...] the units the shopper asked to cancel",
    "reason": "the shopper's reason (may be empty)",
    "decision_reason": "the store's reason for a refusal (empty otherwise)",
    "decide_by": "ISO 8601 time: the store's deadline; approved automatically after it",
    "automatic": "true when the deadline sweep decided",
}
topic("cancellation.requested", app="suborders", fires="A shopper asked to cancel accepted, unshipped units of a "
      "suborder (suborders.cancellations); the store decides before decide_by.", payload=_CANCELLATION)
topic("cancellation.approved", app="suborders", fires="The store (or the deadline sweep) approved a cancellation "
      "request; the units' suborder.changed lines_cancelled event follows and payments refunds them.", payload=_CANCELLATION)
topic("cancellation.refused", app="suborders", fires="The store refused a cancellation request with a reason.",
      payload=_CANCELLATION)
