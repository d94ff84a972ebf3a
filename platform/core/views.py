"""Health check: database and broker status as JSON."""
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def _check_db() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _check_broker() -> dict:
    from config.celery import app

    started = time.perf_counter()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1),
                "transport": app.conf.broker_url.split(":", 1)[0]}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def healthz(request):
    db = _check_db()
    broker = _check_broker()
    ok = db["ok"] and broker["ok"]
    body = {"status": "ok" if ok else "degraded", "database": db, "broker": broker,
            "schema": getattr(connection, "schema_name", settings.PUBLIC_SCHEMA_NAME)}
    return JsonResponse(body, status=200 if ok else 503)
