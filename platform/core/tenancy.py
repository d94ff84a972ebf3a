"""Tenancy helpers: the one place that switches schemas, and guards that fail loudly in the wrong one.

Only platform-level services (checkout, payment webhooks, sweepers, provisioning, operator
views) switch schemas, and only through `in_merchant_schema` / `in_public_schema`.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection

from core.errors import WrongSchema

F = TypeVar("F", bound=Callable[..., Any])


def current_schema() -> str:
    return getattr(connection, "schema_name", settings.PUBLIC_SCHEMA_NAME)


def current_merchant() -> Any | None:
    """The Merchant the connection is set to, or None in public."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", None) == settings.PUBLIC_SCHEMA_NAME:
        return None
    return tenant


def assert_merchant_schema() -> str:
    schema = current_schema()
    if schema == settings.PUBLIC_SCHEMA_NAME:
        raise WrongSchema("merchant-level code called in the public schema")
    return schema


def assert_public_schema() -> None:
    schema = current_schema()
    if schema != settings.PUBLIC_SCHEMA_NAME:
        raise WrongSchema(f"platform-level code called in merchant schema {schema!r}")


def merchant_only(func: F) -> F:
    """Decorator for merchant-level services: refuse to run in `public`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        assert_merchant_schema()
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def platform_only(func: F) -> F:
    """Decorator for platform-level services: refuse to run inside a merchant schema."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        assert_public_schema()
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def in_merchant_schema(merchant: Any) -> Iterator[Any]:
    """Run a block in `merchant`'s schema, then restore whatever was active before.

    Works inside an open transaction: django-tenants only changes `search_path`, so a
    checkout spanning several merchants stays one transaction.
    """
    previous = getattr(connection, "tenant", None)
    connection.set_tenant(merchant)
    try:
        yield merchant
    finally:
        if previous is None or previous.schema_name == settings.PUBLIC_SCHEMA_NAME:
            connection.set_schema_to_public()
        else:
            connection.set_tenant(previous)


@contextmanager
def in_public_schema() -> Iterator[None]:
    previous = getattr(connection, "tenant", None)
    connection.set_schema_to_public()
    try:
        yield
    finally:
        if previous is not None and previous.schema_name != settings.PUBLIC_SCHEMA_NAME:
            connection.set_tenant(previous)
        elif current_schema() != settings.PUBLIC_SCHEMA_NAME:  # the block moved the connection
            connection.set_schema_to_public()


def make_cache_key(key: str, key_prefix: str, version: int) -> str:
    """Cache keys always carry the schema, so merchants can never read each other's entries."""
    return f"{key_prefix}:{version}:{current_schema()}:{key}"


def side_connection(*, lock_timeout: str = "2s"):
    """A second, autocommit connection on the current schema, for writes that must be visible
    while the main connection's transaction is still open (progress of a long import).

    The caller closes it. Lives here because it sets the schema of a connection.
    """
    from django.db import connections

    conn = connections.create_connection("default")
    conn.set_schema(current_schema())
    with conn.cursor() as cur:
        cur.execute("SELECT set_config('lock_timeout', %s, false)", [lock_timeout])
    return conn
