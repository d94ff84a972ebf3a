"""Outbox handlers keeping the public listing index in step with merchants' catalogs."""
from core.outbox import outbox_handler
from core.tenancy import assert_merchant_schema, current_merchant
from storefront.services import listing_sync


def _read_snapshots(variant_ids):
    from catalog.selectors import listing_snapshot

    return listing_snapshot(variant_ids=variant_ids)


def _read_products(product_ids):
    from catalog.selectors import listing_product_snapshot

    return listing_product_snapshot(product_ids=product_ids)


@outbox_handler("catalog.listing_changed")
def listing_changed(event) -> None:
    """Runs in the event's merchant schema (the relay sets it); the index table is in public,
    which is on the search path, so no schema switch is needed here."""
    assert_merchant_schema()
    variant_ids = event.payload.get("variant_ids") or []
    listing_sync(merchant=current_merchant(), variant_ids=variant_ids, snapshot_reader=_read_snapshots,
                 product_reader=_read_products)
