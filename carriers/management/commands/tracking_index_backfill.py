"""Index the shipments created before the tracking index existed (safe to run again: indexed ones are skipped)."""
from django.core.management.base import BaseCommand

from carriers.models import TrackingIndex
from core.errors import DomainError
from core.tenancy import in_merchant_schema
from tenants.selectors import merchant_list


class Command(BaseCommand):
    help = "Add every shipment missing from the public tracking index (one merchant schema at a time)."

    def handle(self, *args, **options):
        from fulfillment.models import Shipment
        from fulfillment.tracking import tracking_index_publish

        added = clashes = 0
        for merchant in merchant_list():
            known = set(TrackingIndex.objects.filter(merchant=merchant).values_list("shipment_id", flat=True))
            with in_merchant_schema(merchant):
                for shipment in Shipment.objects.exclude(pk__in=known).order_by("pk").iterator(chunk_size=500):
                    try:
                        tracking_index_publish(shipment=shipment, new=True)
                        added += 1
                    except DomainError as err:  # the number is indexed for another store: needs a person
                        clashes += 1
                        self.stderr.write(f"{merchant.slug} shipment {shipment.pk}: {err.message}")
        self.stdout.write(f"indexed {added} shipment(s); {clashes} tracking-number clash(es)")
