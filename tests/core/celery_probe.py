"""Loaded into the real Celery worker started by test_celery_worker.py (`celery worker -I tests.core.celery_probe`).

Not a test module: it gives the worker a task that reports the schema it ran in, and an outbox
handler that leaves a trace of which process and schema delivered the event.
"""
import json
import os
from pathlib import Path

from celery import shared_task
from django.db import connection

from core.outbox import effect_claim, outbox_handler
from core.tenancy import current_schema

PROBE_TOPIC = "test.celery.probe"


@shared_task(name="mallard_test.schema_probe")
def schema_probe(path: str) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT current_schemas(false)")
        search_path = cur.fetchone()[0]
    tmp = Path(path + ".tmp")
    tmp.write_text(json.dumps({"schema": current_schema(), "search_path": search_path, "pid": os.getpid()}))
    tmp.rename(path)  # the test never sees a half-written file


@outbox_handler(PROBE_TOPIC)
def probe_handler(event) -> None:
    effect_claim(event=event, handler=f"celery-probe pid={os.getpid()} schema={current_schema()}")
