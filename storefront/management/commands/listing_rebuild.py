"""Rebuild the public storefront listing index from merchants' catalogs (all, or one schema)."""
from django.core.management.base import BaseCommand, CommandError

from core.tenancy import in_merchant_schema
from storefront.services import listing_prune, listing_store_rename, listing_sync
from tenants.selectors import merchant_get_by_schema, merchant_list

CHUNK = 2000


def _all_variant_ids() -> list[int]:
    from catalog.models import Variant

    return list(Variant.objects.order_by("id").values_list("id", flat=True))


def _snapshots(variant_ids):
    from catalog.selectors import listing_snapshot

    return listing_snapshot(variant_ids=variant_ids)


def _products(product_ids):
    from catalog.selectors import listing_product_snapshot

    return listing_product_snapshot(product_ids=product_ids)


def listing_rebuild_merchant(merchant) -> dict:
    """Sync every variant of `merchant` and drop index rows of variants that no longer exist."""
    upserted = removed = 0
    with in_merchant_schema(merchant):
        ids = _all_variant_ids()
        for i in range(0, len(ids), CHUNK):
            result = listing_sync(merchant=merchant, variant_ids=ids[i:i + CHUNK], snapshot_reader=_snapshots,
                                  product_reader=_products)
            upserted += result["upserted"]
            removed += result["removed"]
    removed += listing_prune(merchant=merchant, keep_variant_ids=set(ids))
    listing_store_rename(merchant=merchant)
    return {"variants": len(ids), "listed": upserted, "removed": removed}


class Command(BaseCommand):
    help = "Rebuild the storefront listing index from every merchant schema (or one, with --schema)."

    def add_arguments(self, parser):
        parser.add_argument("--schema", help="only this merchant schema, e.g. m_acme")

    def handle(self, *args, schema=None, **options):
        if schema:
            try:
                merchants = [merchant_get_by_schema(schema)]
            except Exception as exc:
                raise CommandError(str(exc)) from exc
        else:
            merchants = list(merchant_list())
        for merchant in merchants:
            result = listing_rebuild_merchant(merchant)
            self.stdout.write(
                f"{merchant.schema_name}: {result['variants']} variants, {result['listed']} listed, "
                f"{result['removed']} removed"
            )
