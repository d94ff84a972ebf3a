"""`./mallard ledger check`: for every paid order, Σ ledger = captured − refunded, and the captured
entries per suborder equal its total. Exit 1 and list the problems when any invariant fails."""
from django.core.management.base import BaseCommand

from payments.services import ledger_check


class Command(BaseCommand):
    help = "Check the money ledger's invariants for every paid order."

    def handle(self, *args, **options):
        problems = ledger_check()
        from payments.models import Payment

        checked = Payment.objects.filter(captured_minor__gt=0).count()
        for p in problems:
            self.stdout.write(f"{p.order_number}: {p.message}")
        if problems:
            self.stderr.write(self.style.ERROR(f"ledger check: {len(problems)} problem(s) in {checked} paid orders"))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"ledger check: {checked} paid orders, all balanced"))
