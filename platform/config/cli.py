"""`./mallard …`: demo, test, serve, worker, beat, migrate, create-merchant, shell, bench.

Every command that needs the database calls `ensure_database_url()`: DATABASE_URL when set,
else the embedded PostgreSQL under ./var/pg.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PLATFORM = ROOT / "platform"
sys.path[:0] = [str(PLATFORM), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["PYTHONPATH"] = os.pathsep.join([str(PLATFORM), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
PY = sys.executable
VENV_BIN = Path(PY).parent


def _db() -> str:
    from config.embedded_pg import ensure_database_url

    return ensure_database_url()


def _manage(*args: str, check: bool = True) -> int:
    return subprocess.run([PY, str(ROOT / "manage.py"), *args], check=check).returncode


def cmd_migrate(args) -> int:
    _db()
    _manage("mallard_migrate")
    return 0


def _gunicorn_cmd(port: int, workers: int) -> list[str]:
    return [str(VENV_BIN / "gunicorn"), "config.wsgi:application", "--bind", f"0.0.0.0:{port}",
            "--workers", str(workers), "--threads", "4", "--access-logfile", "-", "--graceful-timeout", "5",
            "--chdir", str(ROOT)]


def _celery(kind: str) -> list[str]:
    base = [str(VENV_BIN / "celery"), "-A", "config.celery", kind, "--loglevel", "INFO"]
    if kind == "worker":
        return base + ["--concurrency", "2", "--pool", "prefork"]
    (ROOT / "var").mkdir(exist_ok=True)
    return base + ["--schedule", str(ROOT / "var" / "celerybeat-schedule")]


def cmd_serve(args) -> int:
    _db()
    _manage("collectstatic", "--noinput", "-v", "0")
    os.execv(_gunicorn_cmd(args.port, args.workers)[0], _gunicorn_cmd(args.port, args.workers))


def cmd_worker(args) -> int:
    _db()
    os.execv(_celery("worker")[0], _celery("worker"))


def cmd_beat(args) -> int:
    _db()
    os.execv(_celery("beat")[0], _celery("beat"))


def _stop_group(procs: list[subprocess.Popen], timeout: float = 20.0) -> None:
    """SIGTERM each child (gunicorn and Celery shut their own workers down), wait, then SIGKILL
    whatever is left in their process groups."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:  # whatever is left in the groups (stuck tasks, orphaned pool children)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=5)


def cmd_demo(args) -> int:
    from config.embedded_pg import EmbeddedPostgres

    embedded = os.environ.get("MALLARD_EMBEDDED") == "1"
    # Stop the embedded server at the end only if this run started it (tests may share it).
    started_db = embedded and not EmbeddedPostgres().is_running()
    url = _db()
    print(f"mallard: database {url}")
    procs: list[subprocess.Popen] = []
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    try:
        _manage("mallard_migrate")
        _manage("seed_demo")
        _manage("collectstatic", "--noinput", "-v", "0")
        host = os.environ.get("MALL_HOST", "localhost")
        # Links in emails (sent by the worker, outside any request) must carry the demo's port:
        # accounts.selectors.mall_base_url reads MALL_BASE_URL, inherited by gunicorn and Celery below.
        os.environ.setdefault("MALL_BASE_URL", f"http://{host}:{args.port}")
        # Own process groups: Ctrl-C reaches only this supervisor, which stops the children in order
        # and can kill their whole groups (Celery pool processes, gunicorn workers).
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for cmd in (_gunicorn_cmd(args.port, 3), _celery("worker"), _celery("beat")):
            procs.append(subprocess.Popen(cmd, start_new_session=True))
        print("\n" + "=" * 70)
        print("Mallard demo mall is running:")
        print(f"  storefront + operator:  http://{host}:{args.port}/      (super-admin: /admin/, console: /console/)")
        for slug in ("acme", "globex", "initech"):
            print(f"  {slug:<8} dashboard:     http://{slug}.{host}:{args.port}/")
        print(f"  API docs:               http://{host}:{args.port}/api/v1/docs/")
        print(f"  health:                 http://{host}:{args.port}/healthz")
        print("  Demo accounts (password 'mallard-demo' for all; full list in README.md):")
        print("    operator@mallard.localhost, owner@acme.localhost, manager@globex.localhost,")
        print("    customerservice@initech.localhost, finance@acme.localhost, warehouse@globex.localhost,")
        print("    shopper1@example.com, shopper2@example.com")
        print("Press Ctrl+C to stop. Data is kept in ./var/ for the next run.")
        print("=" * 70 + "\n", flush=True)
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.5)
        dead = [p.args[0] for p in procs if p.poll() is not None]
        if dead and not stopping:
            print(f"mallard: {', '.join(Path(d).name for d in dead)} exited; stopping the demo", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the cleanup
        print("mallard: stopping web, worker and beat…", flush=True)
        _stop_group(procs)
        if started_db:
            print("mallard: stopping the embedded PostgreSQL", flush=True)
            EmbeddedPostgres().stop()
        print("mallard: stopped", flush=True)
    return 0


def _ensure_chromium() -> None:
    if shutil.which("chromium") or os.path.exists("/usr/bin/chromium"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("mallard: installing Chromium from Debian for the browser tests")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "fonts-wqy-microhei"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return
    sys.exit("mallard: browser tests need Chromium at /usr/bin/chromium (Debian: apt-get install chromium).")


def cmd_test(args) -> int:
    _ensure_chromium()
    _db()
    os.environ.setdefault("MALLARD_FAST_HASHER", "1")
    cmd = [PY, "-m", "pytest", *args.pytest_args]
    return subprocess.run(cmd, cwd=ROOT).returncode


def cmd_create_merchant(args) -> int:
    _db()
    extra = ["--owner", args.owner] if args.owner else []
    return _manage("create_merchant", args.slug, args.name, *extra, check=False)


def cmd_shell(args) -> int:
    _db()
    return _manage("shell", check=False)


def cmd_manage(args) -> int:
    _db()
    return _manage(*args.rest, check=False)


def cmd_ledger(args) -> int:
    _db()
    return _manage("ledger_check", check=False)


def cmd_audit(args) -> int:
    _db()
    return _manage("audit_verify", *args.rest, check=False)


def cmd_bench(args) -> int:
    _db()
    return _manage(f"bench_{args.what}", *args.rest, check=False)


def main(argv: list[str] | None = None) -> int:
    if not os.environ.get("DATABASE_URL"):
        os.environ["MALLARD_EMBEDDED"] = "1"
    parser = argparse.ArgumentParser(prog="mallard", description="Mallard: order management for multi-merchant malls")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("demo", help="set up and run the demo mall (web + worker + beat)")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("test", help="run the whole test suite (extra args go to pytest)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_test)
    p = sub.add_parser("serve", help="run the web server (gunicorn)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=3)
    p.set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="run a Celery worker").set_defaults(func=cmd_worker)
    sub.add_parser("beat", help="run Celery beat").set_defaults(func=cmd_beat)
    sub.add_parser("migrate", help="migrate public, then every merchant schema in parallel").set_defaults(func=cmd_migrate)
    p = sub.add_parser("create-merchant", help="create a merchant with its schema and host")
    p.add_argument("slug")
    p.add_argument("name")
    p.add_argument("--owner", help="email of the owner (created if new)")
    p.set_defaults(func=cmd_create_merchant)
    sub.add_parser("shell", help="Django shell").set_defaults(func=cmd_shell)
    p = sub.add_parser("manage", help="any manage.py command")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    p = sub.add_parser("ledger", help="money ledger: `ledger check` verifies its invariants for every paid order")
    p.add_argument("action", choices=["check"])
    p.set_defaults(func=cmd_ledger)
    p = sub.add_parser("audit", help="audit trail: `audit verify` checks every merchant's hash chain")
    p.add_argument("action", choices=["verify"])
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_audit)
    p = sub.add_parser("bench", help="benchmarks: stock, checkout, merchant, dashboard, import, storefront")
    p.add_argument("what", choices=["stock", "checkout", "merchant", "dashboard", "import", "storefront"])
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)
    args = parser.parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
