"""Health check: database and broker status as JSON (details for operators only)."""
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


def _broker_connection():
    """A fresh broker connection (not the app's pool), so a failed check leaves nothing behind."""
    from config.celery import app

    return app.connection_for_write()


def _check_broker() -> dict:
    started = time.perf_counter()
    try:
        with _broker_connection() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.as_uri().split(":", 1)[0]
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), "transport": transport}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def healthz(request):
    """200 {"status": "ok"} or 503 {"status": "degraded"} for load balancers and anyone else;
    the details (timings, transport, error class names, schema) only for operators (is_staff)."""
    db = _check_db()
    broker = _check_broker()
    ok = db["ok"] and broker["ok"]
    body = {"status": "ok" if ok else "degraded"}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        body.update({"database": db, "broker": broker,
                     "schema": getattr(connection, "schema_name", settings.PUBLIC_SCHEMA_NAME)})
    response = JsonResponse(body, status=200 if ok else 503)
    response["Cache-Control"] = "no-store"
    return response
