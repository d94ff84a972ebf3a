"""`manage.py stock_check [--repair] [--schema m_acme]`: prove stock levels equal the movement journal."""
from django.core.management.base import BaseCommand, CommandError

from catalog.services import stock_journal_check
from core.tenancy import in_merchant_schema
from tenants.selectors import merchant_list


class Command(BaseCommand):
    help = "Compare every stock level with the sum of its movements in every merchant schema; --repair writes correcting movements."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="write an adjustment movement for each drift (the level is taken as the truth)")
        parser.add_argument("--schema", help="check only this merchant schema, e.g. m_acme")

    def handle(self, *args, repair=False, schema=None, **options):
        merchants = list(merchant_list(active_only=False))
        if schema:
            merchants = [m for m in merchants if m.schema_name == schema]
            if not merchants:
                raise CommandError(f"No merchant schema {schema!r}.")
        total = 0
        for merchant in merchants:
            with in_merchant_schema(merchant):
                drifts = stock_journal_check(repair=repair)
            for d in drifts:
                self.stdout.write(
                    f"{merchant.schema_name}: SKU {d.sku} @ {d.warehouse}: level on_hand={d.on_hand} reserved={d.reserved}, "
                    f"journal on_hand={d.journal_on_hand} reserved={d.journal_reserved}"
                    + (" -> repaired" if d.repaired else "")
                )
            total += len(drifts)
            if options.get("verbosity", 1) > 1 and not drifts:
                self.stdout.write(f"{merchant.schema_name}: ok")
        verdict = "repaired" if repair else "found"
        self.stdout.write(f"checked {len(merchants)} merchant schema(s): {total} drift(s) {verdict}")
        if total and not repair:
            raise SystemExit(1)
