"""`./mallard bench checkout`: real HTTP checkouts under gunicorn vs a raw-SQL reference of the same writes.

Runs in its own database (`<db>_bench` on the same server) so the demo mall is untouched.
Each checkout is a 3-line cart from 3 merchants through POST /api/v1/checkout/.

With `--pay` each client's unit of work is a paid order, end to end over HTTP: the checkout, the
shopper starting a sandbox payment (POST /api/v1/orders/<number>/payments/, which answers with the
sandbox's hosted-page link), then the sandbox gateway's signed `payment.succeeded` notification
POSTed to our webhook endpoint (the notify URL in that link), which captures the payment, writes
the ledger and moves every suborder to awaiting_acceptance. The bench plays the gateway's side
itself, with the sandbox's own signing code: the hosted page's button would make a gunicorn worker
deliver to another worker and wait for it, which with sync workers measures the sandbox, not us.
The raw-SQL reference then also writes the payment's intent, status change, event, ledger rows, the
suborders' move (with their events and reservations) and the mirrors, in the same transactions.
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
from urllib.parse import parse_qsl, urlsplit

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


def _sandbox_notification(action_url: str) -> tuple[str, str, bytes, dict[str, str]]:
    """What the sandbox gateway sends when the shopper pays on its hosted page (`action_url`, the link
    the payment API answered with): its `payment.succeeded` (or, under the authorize-then-capture
    policy, `payment.authorized`) notification, signed as payments.views.sandbox_send signs it, for the
    notify URL in the link. Returns (path, host, body, headers)."""
    from payments.gateways import sandbox as sbx

    params = dict(parse_qsl(urlsplit(action_url).query))
    kind = "payment.authorized" if params["capture"] == "on_accept" else "payment.succeeded"
    body = sbx.notification_body(event_id=f"evt_{params['ref']}_{kind.split('.')[1]}_{uuid.uuid4().hex[:12]}", kind=kind,
                                 reference=params["ref"], order_number=params["order"], amount_minor=int(params["amount"]),
                                 currency=params["currency"])
    notify = urlsplit(params["notify"])
    return notify.path, notify.netloc, body, {sbx.SIGNATURE_HEADER: sbx.sign(body)}


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
        parser.add_argument("--pay", action="store_true",
                            help="each unit is a paid order: checkout + sandbox payment + the gateway's signed webhook")

    def handle(self, *args, **opts):
        if os.environ.get("MALLARD_BENCH_CHILD") != "1":
            return self._reexec_in_bench_db(opts)
        setup = self._setup()
        pay = opts["pay"]
        sql = self._sql_per_step(setup, pay=pay)
        api = self._run_http(setup, opts)
        raw = self._run_raw(setup, opts)
        result = {
            "unit": "checkout+pay" if pay else "checkout",
            "orders_per_s": round(api["ok"] / api["elapsed"], 1),
            "p50_ms": round(_percentile(api["lat"], 50), 1),
            "p95_ms": round(_percentile(api["lat"], 95), 1),
            "p99_ms": round(_percentile(api["lat"], 99), 1),
            "sql_per_checkout": sql["checkout"],
            "raw_sql_tps": round(raw["ok"] / raw["elapsed"], 1),
            "errors": api["errors"],
            "clients": opts["clients"], "seconds": opts["seconds"], "gunicorn_workers": opts["workers"],
            "checkouts": api["ok"],
            "cpu_ms_per_checkout": api["cpu_ms"],
            "raw_sql_postgres_cpu_ms": raw["postgres_cpu_ms"],
        }
        result["ratio_to_raw"] = round(result["orders_per_s"] / result["raw_sql_tps"], 3) if result["raw_sql_tps"] else None
        what = "paid orders" if pay else "checkouts"
        self.stdout.write(
            f"checkout bench{' --pay' if pay else ''}: {result['checkouts']} {what} by {opts['clients']} clients in {api['elapsed']:.1f}s → "
            f"{result['orders_per_s']} orders/s; p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms; "
            f"{sql['checkout']} SQL statements per 3-merchant checkout; {api['errors']} errors\n"
            f"raw-SQL reference of the same writes: {result['raw_sql_tps']} {what}/s → ratio {result['ratio_to_raw']}\n"
            f"CPU per {what[:-1]}: gunicorn {api['cpu_ms']['gunicorn']} ms, PostgreSQL backends {api['cpu_ms']['postgres']} ms, "
            f"load generator {api['cpu_ms']['load_generator']} ms; raw-SQL reference: PostgreSQL {raw['postgres_cpu_ms']} ms"
        )
        if pay:
            result["sql_per_step"] = sql
            result["steps_p50_ms"] = {k: round(_percentile(v, 50), 1) for k, v in api["steps"].items()}
            result["steps_p99_ms"] = {k: round(_percentile(v, 99), 1) for k, v in api["steps"].items()}
            result["captured"] = api["captured"]
            result["ledger_problems"] = api["ledger_problems"]
            self.stdout.write(
                "steps p50 / p99 ms: " + ", ".join(f"{k} {result['steps_p50_ms'][k]} / {result['steps_p99_ms'][k]}" for k in api["steps"])
                + "; SQL statements: " + ", ".join(f"{k} {n}" for k, n in sql.items())
                + f"\npayments captured in the run: {api['captured']} (of {api['ok']} paid orders); ledger problems: {api['ledger_problems']}"
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
                "--seconds", str(opts["seconds"]), "--workers", str(opts["workers"])] + (["--json"] if opts["json"] else []) \
            + (["--pay"] if opts["pay"] else [])
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
    def _sql_per_step(self, setup, *, pay: bool) -> dict[str, int]:
        """Statements of each step of one unit through the views, in process (auth included); the second
        of two runs, so that nothing is counted that only a first request does."""
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        client = Client(HTTP_HOST=settings.MALL_HOST, HTTP_AUTHORIZATION=f"Bearer {setup['token']}")
        counts: dict[str, int] = {}
        for _ in range(2):
            with CaptureQueriesContext(connection) as ctx:
                resp = client.post("/api/v1/checkout/", self._body(setup), content_type="application/json",
                                   HTTP_IDEMPOTENCY_KEY=f"sql-{uuid.uuid4()}")
            assert resp.status_code == 201, resp.content
            counts["checkout"] = len(ctx.captured_queries)
            if not pay:
                continue
            with CaptureQueriesContext(connection) as ctx:
                resp = client.post(f"/api/v1/orders/{resp.json()['number']}/payments/", {"gateway": "sandbox"},
                                   content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
            assert resp.status_code == 200, resp.content
            counts["payment_start"] = len(ctx.captured_queries)
            path, host, body, headers = _sandbox_notification(resp.json()["action_url"])
            with CaptureQueriesContext(connection) as ctx:
                resp = Client(HTTP_HOST=host).post(path, body, content_type="application/json",
                                                   **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
            assert resp.status_code == 200, resp.content
            counts["webhook"] = len(ctx.captured_queries)
        return counts

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
            pay = opts["pay"]
            # warm every worker's connection and code paths
            self._load(port, body, setup["token"], clients=opts["workers"] * 2, seconds=2, pay=pay)
            gunicorn_pids = [server.pid] + [c.pid for c in psutil.Process(server.pid).children(recursive=True)]
            postgres_pids = self._backend_pids(gunicorn_pids)
            captured_before = self._captured_ids() if pay else set()
            cpu_before = (_cpu_seconds(gunicorn_pids), _cpu_seconds(postgres_pids), {0: time.process_time()})
            result = self._load(port, body, setup["token"], clients=opts["clients"], seconds=opts["seconds"], pay=pay)
            postgres_pids = sorted(set(postgres_pids) | set(self._backend_pids(gunicorn_pids)))  # and those connected meanwhile
            cpu_after = (_cpu_seconds(gunicorn_pids), _cpu_seconds(postgres_pids), {0: time.process_time()})
            per = 1000 / max(result["ok"], 1)
            result["cpu_ms"] = {name: round(_cpu_delta(before, after) * per, 1)
                                for name, before, after in zip(("gunicorn", "postgres", "load_generator"), cpu_before, cpu_after, strict=True)}
            if pay:  # what the webhooks did, checked in the database: one capture per paid order, a ledger that adds up
                from payments.services import ledger_check

                new = self._captured_ids() - captured_before
                result["captured"] = len(new)
                result["ledger_problems"] = len(ledger_check(order_ids=sorted(new)))
            return result
        finally:
            server.terminate()
            server.wait(timeout=30)

    def _captured_ids(self) -> set[int]:
        """Ids of the orders whose payment is captured (the bench database holds only bench orders)."""
        from payments.models import Payment

        return set(Payment.objects.filter(status="captured").values_list("order_id", flat=True))

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

    def _one_order(self, conn, body, token, *, pay: bool, steps: dict[str, float]) -> str | None:
        """One timed unit of work of a client: the checkout POST, and with `pay` the sandbox payment
        and its webhook. None if it succeeded, else what failed; each step's time goes to `steps`."""
        shopper = {"Host": settings.MALL_HOST, "Content-Type": "application/json", "Authorization": f"Bearer {token}"}

        def post(step, path, data, headers, expect):
            t0 = time.perf_counter()
            conn.request("POST", path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            steps[step] = (time.perf_counter() - t0) * 1000
            return (payload, None) if resp.status == expect else (None, f"{step}: {resp.status} {payload[:200]!r}")

        payload, failure = post("checkout", "/api/v1/checkout/", body, {**shopper, "Idempotency-Key": uuid.uuid4().hex}, 201)
        if failure or not pay:
            return failure
        number = json.loads(payload)["number"]
        payload, failure = post("payment_start", f"/api/v1/orders/{number}/payments/", b'{"gateway": "sandbox"}',
                                {**shopper, "Idempotency-Key": uuid.uuid4().hex}, 200)
        if failure:
            return failure
        path, host, data, headers = _sandbox_notification(json.loads(payload)["action_url"])
        payload, failure = post("webhook", path, data, {"Host": host, "Content-Type": "application/json", **headers}, 200)
        if failure:
            return failure
        return None if json.loads(payload).get("received") is True else f"webhook: {payload[:200]!r}"

    def _load(self, port, body, token, *, clients, seconds, pay: bool = False) -> dict:
        lat: list[float] = []
        step_lat: dict[str, list[float]] = {}
        samples: list[str] = []  # the first few failed responses, printed so a failure can be explained
        counts = {"ok": 0, "errors": 0}
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds
        start = time.monotonic()

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine, ok, bad = [], 0, 0
            mine_steps: dict[str, list[float]] = {}
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                steps: dict[str, float] = {}
                failure = self._one_order(conn, body, token, pay=pay, steps=steps)
                if failure is None:
                    ok += 1
                    mine.append((time.perf_counter() - t0) * 1000)
                    for step, ms in steps.items():
                        mine_steps.setdefault(step, []).append(ms)
                else:
                    bad += 1
                    if len(samples) < 5:
                        samples.append(failure)
            conn.close()
            with lock:
                lat.extend(mine)
                for step, values in mine_steps.items():
                    step_lat.setdefault(step, []).extend(values)
                counts["ok"] += ok
                counts["errors"] += bad

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for sample in samples:
            self.stderr.write(f"failed checkout: {sample}")
        return {"lat": lat, "steps": step_lat, "elapsed": time.monotonic() - start, **counts}

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
                lines, order_lines = [], []
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
                        lines.append(line)
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
                                    " VALUES (%s, %s, %s, 'B', 'B', 1999, 1, 0, 1999, 1000, 200, %s) RETURNING id",
                                    [order_id, it["merchant_id"], it["variant_id"], so])
                        order_lines.append(cur.fetchone()[0])
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
                    cur.execute("INSERT INTO core_outboxevent (topic, aggregate_type, aggregate_id, schema_name, payload, payload_version,"
                                " status, created_at, routed_at) VALUES ('bench.raw', 'order', %s, 'public', '{}', 1, 'routed',"
                                " now(), now())", [str(order_id)])
                if opts["pay"]:
                    self._raw_pay(conn, items=items, number=number, order_id=order_id, payment_id=payment_id,
                                  suborders=subs, lines=lines, order_lines=order_lines)
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

    @staticmethod
    def _raw_pay(conn, *, items, number, order_id, payment_id, suborders, lines, order_lines) -> None:
        """The payment of a raw-reference order, as the app writes it: the intent recorded on the payment
        (its own transaction, like payment_start), then the webhook's transaction: the stored gateway
        event, the payment's status change and its event, one captured ledger row per line, each
        suborder to awaiting_acceptance with its event and its reservations kept, the mirrors, the
        outbox events (payment.captured; suborder.awaiting_acceptance and suborder.changed each), and the
        event's processing result."""
        ref = f"sbx_raw_{number}"
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("UPDATE payments_payment SET gateway = 'sandbox', gateway_reference = %s, action_url = %s,"
                        " intent_claimed_at = now(), updated_at = now() WHERE id = %s", [ref, f"/pay/sandbox/?ref={ref}", payment_id])
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SET search_path = public")
            cur.execute("INSERT INTO payments_gatewayevent (gateway, event_id, kind, payment_id, reference, body, headers, parsed,"
                        " result, error, attempts, request_id, received_at) VALUES ('sandbox', %s, 'payment.succeeded', NULL, %s,"
                        " '{}', '{}', '{}', 'received', '', 0, '', now()) RETURNING id", [f"evt_raw_{number}", ref])
            event_id = cur.fetchone()[0]
            cur.execute("UPDATE payments_payment SET status = 'captured', captured_minor = 5997, last_gateway_event_at = now(),"
                        " updated_at = now() WHERE id = %s AND status = 'pending'", [payment_id])
            cur.execute("INSERT INTO payments_paymentevent (payment_id, from_status, to_status, amount_minor, gateway_event_id,"
                        " reason, at) VALUES (%s, 'pending', 'captured', 5997, %s, 'payment.succeeded', now())",
                        [payment_id, f"evt_raw_{number}"])
            cur.execute("INSERT INTO payments_ledgerentry (order_id, payment_id, kind, merchant_id, suborder_id, order_line_id,"
                        " component, amount_minor, currency, commission_bp, commission_minor, at)"
                        " SELECT %s, %s, 'captured', m, s, l, 'line', 1999, 'CNY', 1000, 200, now()"
                        " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS x(m, s, l)",
                        [order_id, payment_id, [it["merchant_id"] for it in items], suborders, order_lines])
            for it, so, line in zip(items, suborders, lines, strict=True):
                cur.execute(f'SET search_path = "{it["schema"]}", public')
                cur.execute("UPDATE suborders_suborder SET status = 'awaiting_acceptance', accept_by = now() + interval '24 hours',"
                            " version = version + 1, updated_at = now() WHERE id = %s AND status = 'pending_payment'", [so])
                cur.execute("INSERT INTO suborders_suborderevent (suborder_id, action, from_status, to_status, lines, reason_code,"
                            " reason, at) VALUES (%s, 'paid', 'pending_payment', 'awaiting_acceptance', '[]', '', 'paid', now())", [so])
                cur.execute("UPDATE catalog_stockreservation SET expires_at = NULL WHERE owner = %s AND status = 'active'",
                            [f"suborder_line:{line}"])
            cur.execute("SET search_path = public")
            cur.execute("UPDATE orders_subordermirror SET status = 'awaiting_acceptance', accept_by = now() + interval '24 hours',"
                        " version = version + 1, updated_at = now() WHERE order_id = %s", [order_id])
            cur.execute("INSERT INTO core_outboxevent (topic, aggregate_type, aggregate_id, schema_name, payload, payload_version,"
                        " status, created_at, routed_at) SELECT t, a, i, sc, '{}', 1, 'routed', now(), now()"
                        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS x(t, a, i, sc)",
                        [["payment.captured"] + ["suborder.awaiting_acceptance", "suborder.changed"] * 3,
                         ["payment"] + ["suborder"] * 6, [str(payment_id)] + [str(so) for so in suborders for _ in range(2)],
                         ["public"] + [it["schema"] for it in items for _ in range(2)]])
            cur.execute("UPDATE payments_gatewayevent SET result = 'applied', payment_id = %s, attempts = 1, processed_at = now()"
                        " WHERE id = %s", [payment_id, event_id])
