"""Helpers for tests that race real connections against each other."""
from __future__ import annotations

from django.db import connection


def race_in_schema(merchant, calls: dict, *, refused=None) -> dict[str, str]:
    """Run each of `calls` (name -> no-argument function) in its own thread and connection inside `merchant`'s
    schema, released together by a barrier; returns name -> "ok", or "refused" when it raised `refused`
    (InvalidTransition by default). The concurrent-decision tests (accept/refuse, approve/refuse) use it."""
    import threading

    from core.errors import InvalidTransition
    from core.tenancy import in_merchant_schema

    refused = refused or InvalidTransition
    barrier = threading.Barrier(len(calls))
    outcomes: dict[str, str] = {}

    def run(name, func):
        try:
            with in_merchant_schema(merchant):
                barrier.wait(timeout=10)
                func()
            outcomes[name] = "ok"
        except refused:
            outcomes[name] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name, func)) for name, func in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes
