"""Benchmark merchant creation: N throwaway merchants through merchant_create, then clean up.

Reports median / p95 / max seconds per merchant (schema clone + domain + audit + outbox event, one
transaction each). `--json` prints a JSON object as the last line. Every throwaway merchant's
schema, rows and outbox events are removed afterwards, even when a run fails half-way.
"""
import json
import os
import statistics
import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from core.models import OutboxEvent
from merchants.services import merchant_create
from tenants.models import Domain, Merchant


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[k]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("-n", "--count", type=int, default=20)
        parser.add_argument("--json", action="store_true", help="print the result as JSON on the last line")
        parser.add_argument("--measure-migrate", action="store_true",
                            help="before cleaning up, time `mallard_migrate` with all schemas up to date")

    def handle(self, *args, count: int, json: bool = False, **options):
        prefix = f"bench{os.getpid()}"
        migrate_s = None
        created: list[Merchant] = []
        timings: list[float] = []
        connection.set_schema_to_public()
        try:
            # One warm-up merchant (first use of the template, imports, connection) is not counted.
            for i in range(count + 1):
                started = time.perf_counter()
                merchant = merchant_create(slug=f"{prefix}-{i}", name=f"Benchmark {i}")
                elapsed = time.perf_counter() - started
                created.append(merchant)
                if i:
                    timings.append(elapsed)
            if options.get("measure_migrate"):
                from django.core.management import call_command

                started = time.perf_counter()
                call_command("mallard_migrate", stdout=self.stdout)
                migrate_s = time.perf_counter() - started
        finally:
            self._drop(created)
        result = {
            "merchants": len(timings),
            "median_s": round(statistics.median(timings), 4),
            "p95_s": round(_percentile(timings, 95), 4),
            "max_s": round(max(timings), 4),
            "min_s": round(min(timings), 4),
        }
        if migrate_s is not None:
            result["migrate_up_to_date_s"] = round(migrate_s, 3)
            result["schemas"] = Merchant.objects.exclude(schema_name="public").count() + len(created)
        self.stdout.write(
            f"merchant_create × {result['merchants']}: median {result['median_s']:.3f}s, "
            f"p95 {result['p95_s']:.3f}s, max {result['max_s']:.3f}s (schemas dropped afterwards)"
        )
        if json:
            self.stdout.write(_json_dumps(result))

    def _drop(self, merchants: list[Merchant]) -> None:
        if not merchants:
            return
        ids = [m.pk for m in merchants]
        with transaction.atomic():
            with connection.cursor() as cur:
                for m in merchants:
                    cur.execute(f'DROP SCHEMA IF EXISTS "{m.schema_name}" CASCADE')
            OutboxEvent.objects.filter(aggregate_type="merchant", aggregate_id__in=[str(i) for i in ids]).delete()
            Domain.objects.filter(tenant_id__in=ids).delete()
            Merchant.objects.filter(pk__in=ids).delete()


def _json_dumps(obj) -> str:
    return json.dumps(obj)
