"""A real Celery worker (subprocess, solo pool) on the real broker from settings.

Proves: outbox_emit → on_commit → relay task through the broker → handler in the worker; and
that tasks carry the schema they were sent from (tenant-schemas-celery).

The worker talks to this session's test database (DATABASE_URL is rebuilt from the test
connection) and to the same broker as this process (CELERY_BROKER_URL: Redis when REDIS_URL is
set, else kombu's SQLAlchemy transport on PostgreSQL). It consumes a queue unique to this run,
so no other worker (a running demo, another engineer's tests) can take our messages.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from core.events import topic
from core.models import OutboxDelivery, OutboxEffect, OutboxEvent
from core.outbox import outbox_emit
from core.tenancy import in_merchant_schema

ROOT = Path(settings.BASE_DIR)
PROBE_TOPIC = "test.celery.probe"  # subscribed to in the worker only, by tests/core/celery_probe.py
topic(PROBE_TOPIC, app="tests", fires="the Celery worker test", payload={})


def _test_database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _wait_for(condition, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)  # polling a condition with a deadline, not sleeping for synchronisation
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def worker_queue(django_db_setup, django_db_blocker, tmp_path_factory):
    """Start `celery -A config.celery worker --pool solo` on a private queue; route our sends to it."""
    from config.celery import app

    queue = f"mallard-test-{os.getpid()}-{int(time.time())}"
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    with django_db_blocker.unblock():
        db_url = _test_database_url()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": app.conf.broker_url,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DB_CONN_MAX_AGE": "0",
    }
    cmd = [str(Path(sys.executable).parent / "celery"), "-A", "config.celery", "worker", "--pool", "solo",
           "-Q", queue, "-n", f"{queue}@%h", "-I", "tests.core.celery_probe", "--loglevel", "INFO",
           "--without-heartbeat", "--without-gossip", "--without-mingle"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    # Everything this process sends goes to the private queue while the module runs.
    old_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    del app.amqp  # rebuilt from the new configuration on next use
    try:
        yield {"proc": proc, "log": log, "queue": queue}
    finally:
        app.conf.task_default_queue = old_queue
        del app.amqp
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _assert_alive(worker):
    if worker["proc"].poll() is not None:
        pytest.fail("celery worker exited early:\n" + worker["log"].read_text()[-4000:])


def test_emit_commit_relay_task_delivers_in_the_worker(committed, worker_queue, unique):
    _assert_alive(worker_queue)
    with in_merchant_schema(committed.acme), transaction.atomic():
        event = outbox_emit(topic=PROBE_TOPIC, aggregate_type="probe", aggregate_id=unique("celery"))
    # Nothing in this process relays: only the worker, woken by the task sent on commit.
    try:
        delivered = _wait_for(
            lambda: OutboxDelivery.objects.filter(event_id=event.pk, status="delivered").exists() or (_assert_alive(worker_queue) and False),
            timeout=90, what="the worker to deliver the outbox event",
        )
        assert delivered
        effects = list(OutboxEffect.objects.filter(event_id=event.pk).values_list("handler", flat=True))
        assert len(effects) == 1
        assert effects[0].startswith("celery-probe pid=") and f"pid={os.getpid()} " not in effects[0]
        assert effects[0].endswith("schema=m_acme")  # the handler ran in the event's schema
    finally:
        OutboxEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.parametrize("where", ["acme", "globex", "public"])
def test_tasks_carry_the_schema_they_were_sent_from(committed, worker_queue, tmp_path, where):
    from config.celery import app

    def schema_probe(path):  # by name: importing the probe module here would register its handler in this process
        app.send_task("mallard_test.schema_probe", args=[path])

    _assert_alive(worker_queue)
    out = tmp_path / "probe.json"
    if where == "public":
        schema_probe(str(out))
        expected = "public"
    else:
        merchant = getattr(committed, where)
        with in_merchant_schema(merchant):
            schema_probe(str(out))
        expected = merchant.schema_name
    _wait_for(lambda: out.exists() or (_assert_alive(worker_queue) and False), timeout=90, what="the probe task")
    report = json.loads(out.read_text())
    assert report["schema"] == expected
    assert report["search_path"][0] == expected
    assert report["pid"] == worker_queue["proc"].pid
