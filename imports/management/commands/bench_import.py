"""`./mallard bench import`: the channel order import at scale, against a raw-SQL (COPY) reference.

Runs in its own database (`<db>_bench` on the same server) so the demo mall is untouched. Two runs:

  * multi-merchant: the operator's import of a generated file of --orders orders × --lines lines, each
    line at one of --merchants stores (so most orders are split into several stores' suborders);
  * single-merchant: one store's import of a generated file of --orders orders × --lines lines.

Each run goes through the real job (imports.services: preview of every row, then the chunked write),
in this process and without Celery, and reports orders/s (writing, and preview + writing), the
process's RSS (baseline and peak, sampled every 50 ms: flat in the file's size when streaming works),
and the reference: the very rows the import wrote, COPYed into the same tables again (ids shifted, unique
values suffixed) in one transaction that is then rolled back, with the ratio import time / COPY time.
"""
from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand

ROOT = Path(settings.BASE_DIR)
SKUS_PER_STORE = 20
OFFSET = 1_000_000_000_000  # ids of the reference's copies: far above any real id (bigint)
PUBLIC_TABLES = {  # table -> the columns to shift or suffix so the copies are new rows
    "orders_order": {"id": "+", "number": "R", "idempotency_scope": "R"},
    "orders_orderline": {"id": "+", "order_id": "+", "suborder_id": "+"},
    "orders_subordermirror": {"id": "+", "order_id": "+", "suborder_id": "+"},
    "payments_payment": {"id": "+", "order_id": "+"},
    "payments_paymentevent": {"id": "+", "payment_id": "+"},
    "payments_ledgerentry": {"id": "+", "order_id": "+", "payment_id": "+", "suborder_id": "+", "order_line_id": "+"},
    "core_outboxevent": {"id": "+"},
}
SCHEMA_TABLES = {
    "suborders_suborder": {"id": "+", "order_id": "+", "number": "R", "channel": "R"},
    "suborders_suborderline": {"id": "+", "suborder_id": "+"},
    "suborders_suborderevent": {"id": "+", "suborder_id": "+"},
    "catalog_stockreservation": {"id": "+", "owner": "R"},
    "catalog_stockmovement": {"id": "+"},
}


def _bench_db_url(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    return f"{base}/{name}_bench", f"{name}_bench"


class _RssSampler:
    def __init__(self):
        self.proc = psutil.Process()
        self.peak = self.base = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=100_000, help="orders in each generated file")
        parser.add_argument("--lines", type=int, default=4, help="lines per order")
        parser.add_argument("--merchants", type=int, default=50, help="stores in the multi-merchant file")
        parser.add_argument("--only", choices=["multi", "single"], default=None)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        if os.environ.get("MALLARD_BENCH_CHILD") != "1":
            return self._reexec_in_bench_db(opts)
        from django.db import connection

        connection.set_schema_to_public()
        stores, operator = self._setup(opts["merchants"])
        results = {}
        tag = time.strftime("%H%M%S")
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["MALLARD_IMPORT_DIR"] = tmp
            if opts["only"] in (None, "multi"):
                path = Path(tmp) / "multi.csv"
                self._generate(path, stores, opts["orders"], opts["lines"], multi=True, prefix=f"M{tag}-")
                results["multi_merchant"] = self._run(path, operator, None, f"benchm{tag}", stores)
            if opts["only"] in (None, "single"):
                path = Path(tmp) / "single.csv"
                self._generate(path, stores[:1], opts["orders"], opts["lines"], multi=False, prefix=f"S{tag}-")
                results["single_merchant"] = self._run(path, stores[0]["owner"], stores[0]["merchant"], f"benchs{tag}", stores[:1])
        results["orders"], results["lines_per_order"], results["merchants"] = opts["orders"], opts["lines"], opts["merchants"]
        if opts["json"]:
            self.stdout.write(json.dumps(results))
            return
        for name, r in results.items():
            if isinstance(r, dict):
                self.stdout.write(
                    f"{name}: {r['orders_created']} orders ({r['file_mb']} MB) · preview {r['preview_s']} s · write {r['write_s']} s "
                    f"= {r['orders_per_s_write']} orders/s writing, {r['orders_per_s_total']} orders/s with the preview · "
                    f"RSS {r['rss_base_mb']} → peak {r['rss_peak_mb']} MB · COPY reference {r['copy_s']} s "
                    f"({r['copy_rows']} rows) · ratio write/COPY {r['ratio']}")

    def _reexec_in_bench_db(self, opts):
        import psycopg

        url = settings.DATABASES["default"]
        main_url = os.environ.get("DATABASE_URL") or f"postgres://{url['USER']}@{url['HOST']}:{url['PORT']}/{url['NAME']}"
        bench_url, bench_name = _bench_db_url(main_url)
        maintenance = bench_url.rpartition("/")[0] + "/postgres"  # the server's own database: the main one may not exist yet
        admin = psycopg.connect(maintenance.replace("postgres://", "postgresql://", 1), autocommit=True)
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_name]).fetchone():
            admin.execute(f'CREATE DATABASE "{bench_name}"')
        admin.close()
        env = {**os.environ, "DATABASE_URL": bench_url, "MALLARD_BENCH_CHILD": "1", "MALLARD_FAST_HASHER": "1"}
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "mallard_migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        argv = [sys.executable, str(ROOT / "manage.py"), "bench_import", "--orders", str(opts["orders"]), "--lines", str(opts["lines"]),
                "--merchants", str(opts["merchants"])] + (["--json"] if opts["json"] else []) + (["--only", opts["only"]] if opts["only"] else [])
        raise SystemExit(subprocess.run(argv, env=env).returncode)

    def _setup(self, count: int):
        from catalog.models import Variant, Warehouse
        from catalog.services import product_create, stock_receive, warehouse_create
        from core.tenancy import in_merchant_schema
        from merchants.services import merchant_create
        from permissions.models import User
        from permissions.roles import Role
        from permissions.services import membership_grant, user_create
        from tenants.models import Merchant
        from tenants.services import public_tenant_ensure, template_schema_ensure

        public_tenant_ensure()
        template_schema_ensure()
        operator = User.objects.filter(email="bench-operator@mallard.localhost").first() or user_create(
            email="bench-operator@mallard.localhost", password=None, is_staff=True)
        stores = []
        for n in range(1, count + 1):
            slug = f"imp{n:02d}"
            merchant = Merchant.objects.filter(slug=slug).first() or merchant_create(slug=slug, name=f"Import bench {n}")
            owner = User.objects.filter(email=f"owner@{slug}.bench").first() or user_create(email=f"owner@{slug}.bench", password=None)
            membership_grant(user=owner, merchant=merchant, roles=[Role.OWNER])
            with in_merchant_schema(merchant):
                wh = Warehouse.objects.filter(code="B1").first() or warehouse_create(code="B1", name="Bench warehouse", region="SH", priority=1)
                skus = []
                for i in range(SKUS_PER_STORE):
                    sku = f"IMP-{n:02d}-{i:02d}"
                    variant = Variant.objects.filter(sku=sku).first()
                    if variant is None:
                        product = product_create(name=f"Bench item {sku}", variants=[{"sku": sku, "price_minor": 1990 + i, "currency": "CNY"}])
                        variant = product.variants.get()
                    stock_receive(variant_id=variant.pk, warehouse_id=wh.pk, quantity=1_000_000, reason="bench stock")
                    skus.append((sku, 1990 + i))
            stores.append({"merchant": merchant, "owner": owner, "slug": slug, "skus": skus})
        return stores, operator

    def _generate(self, path: Path, stores, orders: int, lines: int, *, multi: bool, prefix: str) -> None:
        rng = random.Random(7)
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["order_id", "merchant", "email", "name", "phone", "address", "city", "region", "postcode", "country",
                        "sku", "quantity", "unit_price", "shipping"])
            for o in range(orders):
                picked = set()
                for j in range(lines):
                    store = rng.choice(stores) if multi else stores[0]
                    sku, price = rng.choice(store["skus"])
                    while (store["slug"], sku) in picked:  # one line per SKU and store in an order
                        store = rng.choice(stores) if multi else stores[0]
                        sku, price = rng.choice(store["skus"])
                    picked.add((store["slug"], sku))
                    first = j == 0
                    w.writerow([f"{prefix}{o}", store["slug"] if multi else "", "buyer@example.com" if first else "",
                                "Li Lei" if first else "", "13800000000" if first else "", "1 Nanjing Road" if first else "",
                                "Shanghai" if first else "", "SH" if first else "", "200001" if first else "", "CN" if first else "",
                                sku, rng.randint(1, 3), f"{price / 100:.2f}", "6.00" if first else ""])

    def _max_ids(self, schemas) -> dict:
        from django.db import connection

        out = {}
        with connection.cursor() as cur:
            for table in PUBLIC_TABLES:
                cur.execute(f'SELECT coalesce(max(id), 0) FROM public."{table}"')
                out[("public", table)] = cur.fetchone()[0]
            for schema in schemas:
                for table in SCHEMA_TABLES:
                    cur.execute(f'SELECT coalesce(max(id), 0) FROM "{schema}"."{table}"')
                    out[(schema, table)] = cur.fetchone()[0]
        return out

    def _run(self, path: Path, actor, merchant, channel: str, stores) -> dict:
        from django.core.files.uploadedfile import UploadedFile

        from imports.models import OrderImportJob
        from imports.services import import_job_create, import_job_run

        schemas = [s["merchant"].schema_name for s in stores]
        before = self._max_ids(schemas)
        with _RssSampler() as rss:
            t0 = time.perf_counter()
            with open(path, "rb") as f:
                job = import_job_create(file=UploadedFile(f, name=path.name, size=path.stat().st_size), actor=actor,
                                        merchant=merchant, channel=channel)
            t1 = time.perf_counter()
            if job.status != "ready":
                raise SystemExit(f"preview refused the file: {job.errors[:5]}")
            OrderImportJob.objects.filter(pk=job.pk).update(status=OrderImportJob.Status.QUEUED)
            job = import_job_run(job_id=job.pk)
            t2 = time.perf_counter()
        if job.status != "done":
            raise SystemExit(f"import failed: {job.message}")
        copy_s, copy_rows = self._copy_reference(before, schemas)
        write_s = t2 - t1
        return {"orders_created": job.created_orders, "file_mb": round(path.stat().st_size / 2**20, 1),
                "preview_s": round(t1 - t0, 2), "write_s": round(write_s, 2),
                "orders_per_s_write": round(job.created_orders / write_s, 1),
                "orders_per_s_total": round(job.created_orders / (t2 - t0), 1),
                "rss_base_mb": round(rss.base / 2**20), "rss_peak_mb": round(rss.peak / 2**20),
                "copy_s": round(copy_s, 2), "copy_rows": copy_rows, "ratio": round(write_s / copy_s, 2) if copy_s else None}

    def _copy_reference(self, before: dict, schemas) -> tuple[float, int]:
        """COPY the rows the import wrote into the same tables again (shifted ids, suffixed unique values), timed,
        in one transaction rolled back at the end. Reading them out is not timed."""
        from django.db import connection, transaction

        total, rows = 0.0, 0
        with transaction.atomic():
            raw = connection.cursor().cursor  # psycopg's own cursor, for COPY
            for schema, tables in [("public", PUBLIC_TABLES)] + [(s, SCHEMA_TABLES) for s in schemas]:
                for table, change in tables.items():
                    raw.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                                "ORDER BY ordinal_position", [schema, table])
                    cols = raw.fetchall()
                    exprs = []
                    for col, _dtype in cols:
                        how = change.get(col)
                        if how == "+":
                            exprs.append(f'"{col}" + {OFFSET}')
                        elif how == "R":
                            exprs.append(f"""left("{col}", {28 if col == 'channel' else 30}) || 'R'""")
                        else:
                            exprs.append(f'"{col}"')
                    names = ", ".join(f'"{c}"' for c, _t in cols)
                    buf = bytearray()
                    with raw.copy(f'COPY (SELECT {", ".join(exprs)} FROM "{schema}"."{table}" WHERE id > {int(before[(schema, table)])}) TO STDOUT') as cp:
                        for data in cp:
                            buf += data
                    rows += buf.count(b"\n")
                    t = time.perf_counter()
                    with raw.copy(f'COPY "{schema}"."{table}" ({names}) FROM STDIN') as cp:
                        cp.write(bytes(buf))
                    total += time.perf_counter() - t
            transaction.set_rollback(True)
        return total, rows
