"""`./mallard bench stock [--clients 8] [--seconds 10] [--units N] [--json]`: reservations per second
under concurrent clients, each on its own connection, and proof from the journal that nothing was oversold.

Runs in a dedicated, suspended merchant `bench-stock` (never listed on the storefront); each run
makes a fresh variant with stock in two warehouses.
"""
import json
import threading
import time

from django.core.management.base import BaseCommand
from django.db import connection, connections
from django.db.models import F, Sum
from django.utils import timezone

from catalog.models import StockLevel, StockMovement, StockReservation
from catalog.services import (
    ReceiveLine,
    ReserveLine,
    product_create,
    stock_journal_check,
    stock_receive_bulk,
    stock_release,
    stock_reserve,
    warehouse_create,
)
from core.errors import OutOfStock
from core.tenancy import in_merchant_schema
from tenants.models import Merchant

BENCH_SLUG = "bench-stock"


def bench_merchant() -> Merchant:
    from merchants.services import merchant_create, merchant_suspend

    connection.set_schema_to_public()
    merchant = Merchant.objects.filter(slug=BENCH_SLUG).first()
    if merchant is None:
        merchant = merchant_create(slug=BENCH_SLUG, name="Stock benchmark (hidden)")
        merchant_suspend(merchant=merchant, reason="benchmark schema, not a store")
    return merchant


class Command(BaseCommand):
    help = "Benchmark stock reservations under concurrent clients and check that nothing was oversold."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=8)
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--units", type=int, default=20000,
                            help="units received into each of the two warehouses (small values make clients run out)")
        parser.add_argument("--release-every", type=int, default=4,
                            help="each client releases every Nth reservation it made (0 = never)")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print one JSON object as the last line")

    def handle(self, *args, clients, seconds, units, release_every, as_json=False, **options):
        merchant = bench_merchant()
        run = timezone.now().strftime("%Y%m%d%H%M%S%f")
        with in_merchant_schema(merchant):
            whs = [warehouse_create(code=f"B{run[-10:]}{i}", name=f"Bench {i}", region=f"CN-{i}", priority=i) for i in (1, 2)]
            product = product_create(name=f"Bench item {run}", variants=[{"sku": f"BENCH-{run}", "price_minor": 100, "currency": "CNY",
                                                                            "low_stock_threshold": 0}])
            variant = product.variants.get()
            per_receipt = 1_000_000
            lines = []
            for wh in whs:
                left = units
                while left > 0:
                    lines.append(ReceiveLine(variant.pk, wh.pk, min(left, per_receipt)))
                    left -= per_receipt
            stock_receive_bulk(lines=lines, reason="benchmark stock", reference=f"bench:{run}")

        barrier = threading.Barrier(clients + 1, timeout=60)
        stop_at = [0.0]
        stats = [{"ok": 0, "short": 0, "released": 0, "errors": 0, "latencies": []} for _ in range(clients)]

        def client(c: int) -> None:
            s = stats[c]
            try:
                with in_merchant_schema(merchant):
                    connection.ensure_connection()
                    barrier.wait()
                    i = 0
                    while time.perf_counter() < stop_at[0]:
                        i += 1
                        wh = whs[(c + i) % 2]
                        owner = f"bench:{run}:{c}:{i}"
                        t0 = time.perf_counter()
                        try:
                            stock_reserve(lines=[ReserveLine(variant.pk, wh.pk, 1, owner)], expires_at=None)
                            s["ok"] += 1
                            s["latencies"].append(time.perf_counter() - t0)
                            if release_every and i % release_every == 0:
                                s["released"] += stock_release(owners=[owner], reason="benchmark churn")
                        except OutOfStock:
                            s["short"] += 1
            except Exception as exc:  # reported in the summary; a benchmark must not hang on one client
                s["errors"] += 1
                s["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                connections.close_all()

        threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
        for t in threads:
            t.start()
        stop_at[0] = time.perf_counter() + 3600  # placeholder until everyone is connected
        barrier.wait()
        started = time.perf_counter()
        stop_at[0] = started + seconds
        for t in threads:
            t.join(timeout=seconds + 120)
        elapsed = time.perf_counter() - started

        with in_merchant_schema(merchant):
            by_kind = dict(StockMovement.objects.filter(variant=variant).values_list("kind").annotate(oh=Sum("on_hand_delta"))
                           .values_list("kind", "oh"))
            res_by_kind = dict(StockMovement.objects.filter(variant=variant).values_list("kind")
                               .annotate(r=Sum("reserved_delta")).values_list("kind", "r"))
            received = (by_kind.get("receipt") or 0)
            shipped = -(by_kind.get("shipment") or 0)
            reserved_journal = sum(v or 0 for v in res_by_kind.values())
            level = StockLevel.objects.filter(variant=variant).aggregate(oh=Sum("on_hand"), r=Sum("reserved"))
            active = StockReservation.objects.filter(variant=variant, status="active").aggregate(q=Sum("quantity"))["q"] or 0
            negative_levels = StockLevel.objects.filter(variant=variant, on_hand__lt=F("reserved")).count()
            drift = [d for d in stock_journal_check() if d.variant_id == variant.pk]
        oversold = max(0, reserved_journal + shipped - received) + negative_levels
        ok = sum(s["ok"] for s in stats)
        lat = sorted(x for s in stats for x in s["latencies"])
        p50 = lat[len(lat) // 2] * 1000 if lat else 0.0
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0
        result = {
            "clients": clients,
            "seconds": round(elapsed, 3),
            "reservations": ok,
            "reservations_per_s": round(ok / elapsed, 1) if elapsed else 0.0,
            "releases": sum(s["released"] for s in stats),
            "out_of_stock": sum(s["short"] for s in stats),
            "errors": sum(s["errors"] for s in stats),
            "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2),
            "received": received,
            "reserved": int(level["r"] or 0),
            "shipped": shipped,
            "active_reservation_units": int(active),
            "journal_drift": len(drift),
            "oversold": oversold,
            "sku": variant.sku,
            "schema": merchant.schema_name,
        }
        self.stdout.write(
            f"stock reservations: {clients} clients for {elapsed:.1f}s on {merchant.schema_name}\n"
            f"  {ok} reservations ({result['reservations_per_s']}/s), {result['releases']} released, "
            f"{result['out_of_stock']} refused out of stock, {result['errors']} client errors\n"
            f"  latency p50 {p50:.2f} ms, p99 {p99:.2f} ms\n"
            f"  received {received}, reserved now {result['reserved']}, shipped {shipped}, "
            f"active reservations {active} units, journal drift {len(drift)}\n"
            f"  oversold: {oversold}" + (" (OK)" if oversold == 0 else " (FAIL)")
        )
        for s in stats:
            if s.get("error"):
                self.stderr.write(f"client error: {s['error']}")
        if as_json:
            self.stdout.write(json.dumps(result, separators=(",", ":")))
        if oversold or drift or result["errors"]:
            raise SystemExit(1)
