"""Outbox topics of merchants (public schema; aggregate: the merchant)."""
from core.events import topic

topic("merchant.created", app="merchants", fires="The operator created a merchant: its schema, host and owner exist.",
      payload={"name": "store name", "slug": "host label", "host": "the store's dashboard host",
               "contact_email": "where the welcome email goes (may be empty)"})
topic("merchant.suspended", app="merchants", fires="The operator suspended a merchant.", payload={})
topic("merchant.reinstated", app="merchants", fires="The operator reinstated a suspended merchant.", payload={})
