"""`./mallard manage suborders_skus_backfill [--merchant SLUG]`: write `skus` of suborders that lack their
lines' SKUs (migration 0005's backfill, run again). Migration 0005 fills every existing row; processes of
the previous release still running during a deploy insert suborders without `skus` (the column's
database default), so run this once they are gone. Re-runnable: rows already right are not touched."""
from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import connection

from core.tenancy import in_merchant_schema


class Command(BaseCommand):
    help = "Backfill suborders.skus from the lines, per merchant schema, in short batches."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", help="only this merchant (slug)")

    def handle(self, *args, merchant=None, **options):
        from tenants.models import Merchant

        backfill = import_module("suborders.migrations.0005_suborder_skus").backfill
        merchants = Merchant.objects.filter(is_template=False).exclude(schema_name="public").order_by("pk")
        if merchant:
            merchants = merchants.filter(slug=merchant)
        total = 0
        for m in merchants:
            with in_merchant_schema(m):
                changed = backfill(connection)  # autocommit: each batch commits on its own
            total += changed
            if changed:
                self.stdout.write(f"{m.slug}: {changed} suborder(s) written")
        self.stdout.write(f"{total} suborder(s) written")
