"""Outbox topics of shipments (merchant schema; aggregate: the suborder, so they order with its changes)."""
from core.events import topic

topic("shipment.created", app="fulfillment", fires="A parcel was shipped for some or all units of a suborder.", payload={
    "shipment_id": "the shipment (in the store's schema)", "number": "the suborder number",
    "order_id": "the checkout order", "carrier": "carrier code (fulfillment.carriers)",
    "tracking_number": "the carrier's tracking number", "email": "the shopper's email"})
