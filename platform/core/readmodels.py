"""Read models in public, fed from merchant schemas without the merchant side importing their owner.

The owner of a read model registers one writer (`@read_model_writer("suborder")` in orders); the
merchant side publishes a snapshot with `read_model_publish("suborder", snapshot)`. The writer runs
synchronously in the public schema inside the caller's transaction (read-your-writes for the shopper
and the operator), and must ignore a snapshot older than the one it has (a version guard).
"""
from __future__ import annotations

from collections.abc import Callable

from core.tenancy import in_public_schema

_WRITERS: dict[str, Callable[[dict], None]] = {}
_SNAPSHOTS: dict[str, Callable[[], list[dict]]] = {}


def read_model_source(name: str):
    """The merchant side registers how to list every current snapshot (for reconcile commands)."""

    def register(func: Callable[[], list[dict]]) -> Callable[[], list[dict]]:
        _SNAPSHOTS[name] = func
        return func

    return register


def snapshot_for(name: str) -> Callable[[], list[dict]]:
    if name not in _SNAPSHOTS:
        from importlib import import_module

        import_module("suborders.services")  # registers the suborder source on import
    return _SNAPSHOTS[name]


def read_model_writer(name: str):
    def register(func: Callable[[dict], None]) -> Callable[[dict], None]:
        _WRITERS[name] = func
        return func

    return register


def read_model_publish(name: str, snapshot: dict) -> None:
    writer = _WRITERS.get(name)
    if writer is None:
        from importlib import import_module

        import_module("orders.services.mirror")  # the owner of every read model today; registers on import
        writer = _WRITERS[name]
    with in_public_schema():
        writer(snapshot)
