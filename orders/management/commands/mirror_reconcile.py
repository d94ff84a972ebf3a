"""`./mallard manage mirror_reconcile [--repair]`: find (and repair) drift between each suborder and
its public mirror row. Exit 1 when drift is found and not repaired."""
from django.core.management.base import BaseCommand

from orders.services.mirror import mirror_reconcile


class Command(BaseCommand):
    help = "Compare the public suborder mirror with every merchant schema; --repair rewrites drifted rows."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true")

    def handle(self, *args, repair=False, **options):
        drifts = mirror_reconcile(repair=repair)
        for d in drifts:
            self.stdout.write(f"{d['merchant']} suborder {d['suborder_id']}: {d['field']}")
        self.stdout.write(f"{len(drifts)} drifted row(s){' repaired' if repair and drifts else ''}")
        if drifts and not repair:
            raise SystemExit(1)
