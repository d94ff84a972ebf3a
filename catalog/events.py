"""Outbox topics of the catalog and stock (merchant schema; aggregate: a variant)."""
from catalog.services import TOPIC_LISTING, TOPIC_LOW_STOCK
from core.events import topic

topic(TOPIC_LISTING, app="catalog", fires="Products, variants, prices or stock changed: the storefront listing index "
      "re-reads these variants.", payload={"variant_ids": "the variants to re-read (at most 1,000 per event)"})
topic(TOPIC_LOW_STOCK, app="catalog", fires="A variant's available stock in a warehouse fell to its threshold "
      "(once, re-armed when it rises above).", payload={
          "sku": "the variant's SKU", "variant_id": "the variant", "available": "units available now",
          "threshold": "the alert threshold", "warehouse": "warehouse code", "warehouse_id": "the warehouse"})
