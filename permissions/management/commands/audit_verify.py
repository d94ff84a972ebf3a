"""`./mallard audit verify`: recompute every schema's audit hash chain; exit 1 listing any break.

`--seal` first seals rows committed but not yet sealed (what the beat sweep does)."""
from django.core.management.base import BaseCommand

from permissions.audit import audit_seal, audit_verify
from permissions.models import AuditChainHead, AuditEntry


class Command(BaseCommand):
    help = "Verify the audit trail's hash chains (edited, deleted, reordered or cut rows)."

    def add_arguments(self, parser):
        parser.add_argument("--schema", help="only this schema's chain")
        parser.add_argument("--seal", action="store_true", help="seal pending rows first")

    def handle(self, *args, schema=None, seal=False, **options):
        if seal:
            self.stdout.write(f"sealed {audit_seal(schema_name=schema)} pending row(s)")
        checked, problems = audit_verify(schema_name=schema)
        pending = AuditEntry.objects.filter(hash="")
        if schema:
            pending = pending.filter(schema_name=schema)
        for p in problems:
            where = f"seq {p.seq}" if p.seq is not None else "chain"
            row = f" (row id {p.entry_id})" if p.entry_id else ""
            self.stdout.write(f"{p.schema_name}: {where}{row}: {p.problem}")
        heads = AuditChainHead.objects.all() if not schema else AuditChainHead.objects.filter(schema_name=schema)
        for head in heads.order_by("schema_name"):
            self.stdout.write(f"{head.schema_name}: head seq {head.seq} {head.hash}")
        waiting = pending.count()
        if waiting:
            self.stdout.write(f"{waiting} row(s) not sealed yet (the sweep seals them within seconds)")
        if problems:
            self.stderr.write(self.style.ERROR(f"audit verify: {len(problems)} problem(s) in {checked} sealed rows"))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"audit verify: {checked} sealed rows, every chain intact"))
