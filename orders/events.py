"""Outbox topics of checkout orders (public schema)."""
from core.events import topic

topic("order.placed", app="orders", fires="A checkout order was placed (storefront checkout, a confirmed draft, an import); "
      "its payment is started after commit.", payload={
          "number": "the order number shown to the shopper",
          "email": "the shopper's email",
          "total_minor": "the order total in minor units",
          "currency": "ISO 4217 code",
          "suborders": "[[merchant id, suborder id], ...], one per store and warehouse",
          "merchant_discounts": "{merchant id: {amount_minor, reason}} of store-funded discounts",
      }, optional=("merchant_discounts",))
topic("order.expired", app="orders", fires="An unpaid order passed its payment deadline: its suborders were cancelled "
      "and its stock released.", payload={"number": "the order number", "email": "the shopper's email"})
topic("order.imported", app="orders", fires="An order sold on another channel was imported (imports/): a paid checkout "
      "order with its suborders, captured outside Mallard.", payload={
          "number": "the order number in Mallard", "channel": "the channel it was sold on (shopify, taobao, ...)",
          "external_order_id": "the channel's order id", "total_minor": "the order total in minor units",
          "currency": "ISO 4217 code", "suborders": "[[merchant id, suborder id], ...]"})
