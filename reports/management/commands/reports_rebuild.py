"""Recompute the sales rollups from the source rows: `./mallard manage reports_rebuild [--merchant slug]`."""
from django.core.management.base import BaseCommand, CommandError

from reports.rollups import rollups_rebuild
from tenants.models import Merchant


class Command(BaseCommand):
    help = "Recompute the sales rollups (reports) of every merchant, or of one, from their orders, suborders and refunds."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", default="", help="the merchant's slug (default: every merchant)")

    def handle(self, *args, merchant="", **options):
        merchants = Merchant.objects.exclude(schema_name="public").exclude(is_template=True)
        if merchant:
            merchants = merchants.filter(slug=merchant)
            if not merchants.exists():
                raise CommandError(f"No merchant with the slug {merchant!r}.")
        merchants = list(merchants.order_by("pk"))
        n = rollups_rebuild(merchants=merchants)
        self.stdout.write(f"Rebuilt the rollups of {len(merchants)} merchant(s) from {n} paid suborder(s).")
