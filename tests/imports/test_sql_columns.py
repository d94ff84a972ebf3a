"""The hand-written INSERTs of channel imports (orders/sql.py, payments/sql.py CHANNEL_PAYMENTS_SQL) keep up
with the models: a column a statement leaves out must be one the database fills (the id, a db_default,
or a nullable column without a Python default); a listed column must exist."""
from __future__ import annotations

import re

from django.apps import apps
from django.db.models.fields import NOT_PROVIDED

import orders.sql
import payments.sql

_INSERT = re.compile(r"INSERT INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)


def _check(sql: str, prefix_ok: tuple[str, ...]):
    by_table = {m._meta.db_table: m for m in apps.get_models()}
    found = _INSERT.findall(sql)
    assert found
    for table, cols in found:
        assert table.startswith(prefix_ok), f"writes another app's table {table}"
        listed = {c.strip() for c in cols.split(",")}
        columns = {f.column: f for f in by_table[table]._meta.concrete_fields}
        assert listed <= set(columns), f"{table}: unknown columns {listed - set(columns)}"
        for name, f in columns.items():
            if name in listed or f.primary_key:
                continue
            filled = f.db_default is not NOT_PROVIDED or (f.null and f.default is NOT_PROVIDED)
            assert filled, f"{table}.{name} is not written by the statement and the database does not fill it"


def test_orders_import_statements_follow_the_models():
    _check(orders.sql.IMPORT_ORDERS_SQL, ("orders_",))
    _check(orders.sql.IMPORT_PUBLIC_ROWS_SQL, ("orders_",))


def test_channel_payments_statement_follows_the_models():
    _check(payments.sql.CHANNEL_PAYMENTS_SQL, ("payments_",))
