"""`./mallard bench checkout`: real HTTP checkouts under gunicorn vs a raw-SQL reference of the same writes.

Runs in its own database (`<db>_bench` on the same server) so the demo mall is untouched.
Each checkout is a 3-line cart from 3 merchants through POST /api/v1/checkout/.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand

ROOT = Path(settings.BASE_DIR)
ADDRESS = {"name": "Bench Shopper", "phone": "+86 138 0000 0000", "line1": "1 Bench Rd", "city": "Shanghai",
           "region": "CN-SH", "postcode": "200001", "country": "CN"}


def _bench_db_url(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    return f"{base}/{name}_bench", f"{name}_bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """user + system CPU of each of these processes so far (psutil reads /proc/<pid>/stat; 10 ms steps)."""
    out = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:  # gone
            continue
        out[pid] = times.user + times.system
    return out


def _cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings: a process seen only in the second counts whole (it started in
    between); one that ended in between is lost, so the figure is a lower bound."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        # Defaults = the best setting measured on the 2-core machine (docs/benchmarks.md): more clients
        # or workers add no throughput there, only queueing (p99 0.6–2.4 s at 8 clients, 0.7–2.6 s at 16 on 5).
        parser.add_argument("--clients", type=int, default=4)
        parser.add_argument("--seconds", type=float, default=20)
        parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        if os.environ.get("MALLARD_BENCH_CHILD") != "1":
            return self._reexec_in_bench_db(opts)
        setup = self._setup()
        sql = self._sql_per_checkout(setup)
        api = self._run_http(setup, opts)
        raw = self._run_raw(setup, opts)
        result = {
            "orders_per_s": round(api["ok"] / api["elapsed"], 1),
            "p50_ms": round(_percentile(api["lat"], 50), 1),
            "p95_ms": round(_percentile(api["lat"], 95), 1),
            "p99_ms": round(_percentile(api["lat"], 99), 1),
            "sql_per_checkout": sql,
            "raw_sql_tps": round(raw["ok"] / raw["elapsed"], 1),
            "errors": api["errors"],
            "clients": opts["clients"], "seconds": opts["seconds"], "gunicorn_workers": opts["workers"],
            "checkouts": api["ok"],
            "cpu_ms_per_checkout": api["cpu_ms"],
            "raw_sql_postgres_cpu_ms": raw["postgres_cpu_ms"],
        }
        result["ratio_to_raw"] = round(result["orders_per_s"] / result["raw_sql_tps"], 3) if result["raw_sql_tps"] else None
        self.stdout.write(
            f"checkout bench: {result['checkouts']} checkouts by {opts['clients']} clients in {api['elapsed']:.1f}s → "
            f"{result['orders_per_s']} orders/s; p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms; "
            f"{sql} SQL statements per 3-merchant checkout; {api['errors']} errors\n"
            f"raw-SQL reference of the same writes: {result['raw_sql_tps']} checkouts/s → ratio {result['ratio_to_raw']}\n"
            f"CPU per checkout: gunicorn {api['cpu_ms']['gunicorn']} ms, PostgreSQL backends {api['cpu_ms']['postgres']} ms, "
            f"load generator {api['cpu_ms']['load_generator']} ms; raw-SQL reference: PostgreSQL {raw['postgres_cpu_ms']} ms"
        )
        if opts["json"]:
            self.stdout.write(json.dumps(result))

    # -- set-up -------------------------------------------------------------------------------
    def _reexec_in_bench_db(self, opts):
        import psycopg

        url = settings.DATABASES["default"]
        main_url = os.environ.get("DATABASE_URL") or (
            f"postgres://{url['USER']}@{url['HOST']}:{url['PORT']}/{url['NAME']}")
        bench_url, bench_name = _bench_db_url(main_url)
        admin = psycopg.connect(main_url.replace("postgres://", "postgresql://", 1), autocommit=True)
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_name]).fetchone():
            admin.execute(f'CREATE DATABASE "{bench_name}"')
        admin.close()
        env = {**os.environ, "DATABASE_URL": bench_url, "MALLARD_BENCH_CHILD": "1", "MALLARD_FAST_HASHER": "1"}
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "mallard_migrate"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        argv = [sys.executable, str(ROOT / "manage.py"), "bench_checkout", "--clients", str(opts["clients"]),
                "--seconds", str(opts["seconds"]), "--workers", str(opts["workers"])] + (["--json"] if opts["json"] else [])
        raise SystemExit(subprocess.run(argv, env=env).returncode)

    def _setup(self) -> dict:
        from catalog.models import Variant, Warehouse
        from catalog.services import product_create, stock_receive, warehouse_create
        from core.tenancy import in_merchant_schema
        from merchants.services import merchant_create
        from permissions.models import User
        from permissions.services import api_token_create, user_create
        from tenants.models import Merchant

        items = []
        for slug in ("bench-a", "bench-b", "bench-c"):
            merchant = Merchant.objects.filter(slug=slug).first() or merchant_create(slug=slug, name=f"Bench {slug[-1].upper()}")
            with in_merchant_schema(merchant):
                wh = Warehouse.objects.filter(code="B1").first() or warehouse_create(code="B1", name="Bench warehouse", region="CN-SH", priority=1)
                variant = Variant.objects.filter(sku=f"BENCH-{slug}").first()
                if variant is None:
                    product = product_create(name=f"Bench item {slug}", variants=[{"sku": f"BENCH-{slug}", "price_minor": 1999, "currency": "CNY", "weight_g": 300}])
                    variant = product.variants.get()
                stock_receive(variant_id=variant.pk, warehouse_id=wh.pk, quantity=1_000_000, reason="bench stock")
            items.append({"merchant_id": merchant.pk, "variant_id": variant.pk, "schema": merchant.schema_name, "warehouse_id": wh.pk})
        user = User.objects.filter(email="bench@mallard.localhost").first() or user_create(email="bench@mallard.localhost", password=None)
        _, token = api_token_create(user=user, name="bench")
        return {"items": items, "token": token, "user_id": user.pk}

    def _body(self, setup) -> bytes:
        return json.dumps({"lines": [{"merchant_id": i["merchant_id"], "variant_id": i["variant_id"], "quantity": 1} for i in setup["items"]],
                           "shipping_address": ADDRESS}).encode()

    # -- measurements ---------------------------------------------------------------------------
    def _sql_per_checkout(self, setup) -> int:
        """Statements of one checkout through the API view, in process (auth included)."""
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        client = Client(HTTP_HOST=settings.MALL_HOST, HTTP_AUTHORIZATION=f"Bearer {setup['token']}")
        for _ in range(2):
            with CaptureQueriesContext(connection) as ctx:
                resp = client.post("/api/v1/checkout/", self._body(setup), content_type="application/json",
                                   HTTP_IDEMPOTENCY_KEY=f"sql-{uuid.uuid4()}")
            assert resp.status_code == 201, resp.content
        return len(ctx.captured_queries)

    def _run_http(self, setup, opts) -> dict:
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)])}
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        server = subprocess.Popen([gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(opts["workers"]),
                                   "--chdir", str(ROOT), "--log-level", "warning"], env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    c.request("GET", "/healthz", headers={"Host": settings.MALL_HOST})
                    c.getresponse().read()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("gunicorn did not start") from None
                    time.sleep(0.2)
            body = self._body(setup)
            # warm every worker's connection and code paths
            self._load(port, body, setup["token"], clients=opts["workers"] * 2, seconds=2)
            gunicorn_pids = [server.pid] + [c.pid for c in psutil.Process(server.pid).children(recursive=True)]
            postgres_pids = self._backend_pids(gunicorn_pids)
            cpu_before = (_cpu_seconds(gunicorn_pids), _cpu_seconds(postgres_pids), {0: time.process_time()})
            result = self._load(port, body, setup["token"], clients=opts["clients"], seconds=opts["seconds"])
            postgres_pids = sorted(set(postgres_pids) | set(self._backend_pids(gunicorn_pids)))  # and those connected meanwhile
            cpu_after = (_cpu_seconds(gunicorn_pids), _cpu_seconds(postgres_pids), {0: time.process_time()})
            per = 1000 / max(result["ok"], 1)
            result["cpu_ms"] = {name: round(_cpu_delta(before, after) * per, 1)
                                for name, before, after in zip(("gunicorn", "postgres", "load_generator"), cpu_before, cpu_after, strict=True)}
            return result
        finally:
            server.terminate()
            server.wait(timeout=30)

    def _backend_pids(self, client_pids: list[int]) -> list[int]:
        """PostgreSQL backends serving these client processes (matched by the clients' TCP ports), so
        another program using the same database is not counted."""
        from django.db import connection

        ports = []
        for pid in client_pids:
            try:
                ports += [c.laddr.port for c in psutil.Process(pid).net_connections(kind="tcp")
                          if c.raddr and c.raddr.port == int(connection.settings_dict["PORT"] or 5432)]
            except psutil.Error:
                continue
        with connection.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND client_port = ANY(%s)", [ports])
            return [r[0] for r in cur.fetchall()]

    def _one_order(self, conn, body, token) -> str | None:
        """One timed unit of work of a client: today the checkout POST; None if it succeeded, else what
        failed. (A payment step, checkout + sandbox payment + webhook, would extend this unit.)"""
        conn.request("POST", "/api/v1/checkout/", body=body, headers={
            "Host": settings.MALL_HOST, "Content-Type": "application/json", "Authorization": f"Bearer {token}",
            "Idempotency-Key": uuid.uuid4().hex})
        resp = conn.getresponse()
        payload = resp.read()
        return None if resp.status == 201 else f"{resp.status} {payload[:200]!r}"

    def _load(self, port, body, token, *, clients, seconds) -> dict:
        lat: list[float] = []
        samples: list[str] = []  # the first few failed responses, printed so a failure can be explained
        counts = {"ok": 0, "errors": 0}
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds
        start = time.monotonic()

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine, ok, bad = [], 0, 0
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                failure = self._one_order(conn, body, token)
                if failure is None:
                    ok += 1
                    mine.append((time.perf_counter() - t0) * 1000)
                else:
                    bad += 1
                    if len(samples) < 5:
                        samples.append(failure)
            conn.close()
            with lock:
                lat.extend(mine)
                counts["ok"] += ok
                counts["errors"] += bad

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for sample in samples:
            self.stderr.write(f"failed checkout: {sample}")
        return {"lat": lat, "elapsed": time.monotonic() - start, **counts}

    def _run_raw(self, setup, opts) -> dict:
        """The same rows written with hand-written SQL (psycopg, one transaction per checkout)."""
        import psycopg

        url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
        items = setup["items"]
        counts = {"ok": 0, "postgres_cpu": 0.0}
        lock = threading.Lock()
        seconds = min(opts["seconds"], 10)
        stop_at = time.monotonic() + seconds
        start = time.monotonic()

        def worker():
            conn = psycopg.connect(url)
            backend = [conn.info.backend_pid]
            cpu_start = _cpu_seconds(backend)
            ok = 0
            while time.monotonic() < stop_at:
                number = uuid.uuid4().hex[:16]
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute("SET search_path = public")
                    cur.execute(
                        "INSERT INTO orders_order (number, shopper_id, email, currency, subtotal_minor, shipping_minor, discount_minor,"
                        " total_minor, shipping_address, idempotency_scope, idempotency_key, request_hash, created_at, expires_at)"
                        " VALUES (%s, %s, 'bench@x', 'CNY', 5997, 0, 0, 5997, %s, 'raw', %s, '', now(), now() + interval '30 minutes') RETURNING id",
                        [number, setup["user_id"], json.dumps(ADDRESS), number])
                    order_id = cur.fetchone()[0]
                    subs = []
                    for it in items:
                        cur.execute(f'SET search_path = "{it["schema"]}", public')
                        cur.execute(
                            "INSERT INTO suborders_suborder (number, order_id, order_number, shopper_email, status, currency, warehouse_id,"
                            " warehouse_name, warehouse_reason, shipping_method, shipping_address, subtotal_minor, shipping_minor,"
                            " discount_minor, platform_discount_minor, total_minor, created_at, updated_at)"
                            " VALUES (%s, %s, %s, 'bench@x', 'pending_payment', 'CNY', %s, 'B1', '', '', '{}', 1999, 0, 0, 0, 1999, now(), now())"
                            " RETURNING id", [f"{number}-{it['schema']}", order_id, number, it["warehouse_id"]])
                        so = cur.fetchone()[0]
                        cur.execute("INSERT INTO suborders_suborderline (suborder_id, variant_id, sku, name, unit_price_minor, quantity,"
                                    " discount_minor, line_total_minor) VALUES (%s, %s, 'B', 'B', 1999, 1, 0, 1999) RETURNING id",
                                    [so, it["variant_id"]])
                        line = cur.fetchone()[0]
                        cur.execute("INSERT INTO suborders_suborderevent (suborder_id, from_status, to_status, reason, at)"
                                    " VALUES (%s, '', 'pending_payment', 'checkout', now())", [so])
                        cur.execute("UPDATE catalog_stocklevel SET reserved = reserved + 1 WHERE variant_id = %s AND warehouse_id = %s"
                                    " AND on_hand - reserved >= 1", [it["variant_id"], it["warehouse_id"]])
                        cur.execute("INSERT INTO catalog_stockreservation (owner, variant_id, warehouse_id, quantity, shipped_quantity,"
                                    " status, expires_at, created_at) VALUES (%s, %s, %s, 1, 0, 'active', now(), now())",
                                    [f"suborder_line:{line}", it["variant_id"], it["warehouse_id"]])
                        cur.execute("INSERT INTO catalog_stockmovement (kind, variant_id, warehouse_id, on_hand_delta, reserved_delta,"
                                    " reason, reference, created_at) VALUES ('reservation', %s, %s, 0, 1, '', %s, now())",
                                    [it["variant_id"], it["warehouse_id"], number])
                        subs.append(so)
                    cur.execute("SET search_path = public")
                    for it, so in zip(items, subs, strict=True):
                        cur.execute("INSERT INTO orders_orderline (order_id, merchant_id, variant_id, sku, name, unit_price_minor, quantity,"
                                    " discount_minor, line_total_minor, commission_bp, commission_minor, suborder_id)"
                                    " VALUES (%s, %s, %s, 'B', 'B', 1999, 1, 0, 1999, 1000, 200, %s)",
                                    [order_id, it["merchant_id"], it["variant_id"], so])
                        cur.execute("INSERT INTO orders_subordermirror (order_id, merchant_id, suborder_id, number, status, warehouse_name,"
                                    " shipping_method, subtotal_minor, shipping_minor, discount_minor, total_minor, updated_at)"
                                    " VALUES (%s, %s, %s, %s, 'pending_payment', 'B1', '', 1999, 0, 0, 1999, now())",
                                    [order_id, it["merchant_id"], so, f"{number}-{so}"])
                    cur.execute("INSERT INTO payments_payment (order_id, gateway, amount_minor, currency, status, gateway_reference,"
                                " action_url, capture_policy, authorized_minor, captured_minor, refunded_minor, created_at, updated_at)"
                                " VALUES (%s, '', 5997, 'CNY', 'pending', '', '', 'immediate', 0, 0, 0, now(), now()) RETURNING id",
                                [order_id])
                    payment_id = cur.fetchone()[0]
                    cur.execute("INSERT INTO payments_paymentevent (payment_id, from_status, to_status, amount_minor, gateway_event_id,"
                                " reason, at) VALUES (%s, '', 'pending', 5997, '', 'checkout', now())", [payment_id])
                    cur.execute("INSERT INTO core_outboxevent (topic, aggregate_type, aggregate_id, schema_name, payload, status, attempts,"
                                " last_error, created_at, available_at) VALUES ('bench.raw', 'order', %s, 'public', '{}', 'delivered', 0, '',"
                                " now(), now())", [str(order_id)])
                ok += 1
            cpu = _cpu_delta(cpu_start, _cpu_seconds(backend))
            conn.close()
            with lock:
                counts["ok"] += ok
                counts["postgres_cpu"] += cpu

        threads = [threading.Thread(target=worker) for _ in range(opts["clients"])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return {"ok": counts["ok"], "elapsed": time.monotonic() - start,
                "postgres_cpu_ms": round(1000 * counts["postgres_cpu"] / max(counts["ok"], 1), 1)}
