"""suborders/sql.py's hand-written statements keep up with the models (CONVENTIONS.md: raw SQL on a hot path).

A column a statement leaves out must be one the database fills: the id, a db_default, or a nullable
column without a Python default. A new column with only a Python default (which the ORM would write
and the raw INSERT would not) fails here, as does a listed column the model no longer has.
"""
from __future__ import annotations

import re
import uuid

from django.apps import apps
from django.db.models.fields import NOT_PROVIDED

import suborders.sql
from core.tenancy import in_merchant_schema
from orders.services import CheckoutLine, order_checkout
from suborders.models import SubOrder
from tests.orders.factories import ADDRESS, stock_item

_INSERT = re.compile(r"INSERT INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)


def _statements() -> dict[str, str]:
    return {name: value for name, value in vars(suborders.sql).items() if name.endswith("_SQL") and isinstance(value, str)}


def _models_by_table():
    return {m._meta.db_table: m for m in apps.get_models()}


def test_every_insert_in_suborders_sql_lists_what_the_database_does_not_fill():
    inserts = [(name, table, cols) for name, sql in _statements().items() for table, cols in _INSERT.findall(sql)]
    assert {t for _n, t, _c in inserts} >= {"suborders_suborder", "suborders_suborderline", "suborders_suborderevent"}
    by_table = _models_by_table()
    for name, table, cols in inserts:
        listed = {c.strip() for c in cols.split(",")}
        model = by_table[table]
        assert table.startswith("suborders_"), f"{name} writes another app's table {table}"
        columns = {f.column: f for f in model._meta.concrete_fields}
        assert listed <= set(columns), f"{name}: {table} has no {sorted(listed - set(columns))}"
        for column, field in columns.items():
            if column in listed or field.primary_key:
                continue
            filled_by_db = field.db_default is not NOT_PROVIDED or (field.null and not field.has_default())
            assert filled_by_db, (f"{name} leaves out {table}.{column}, which has a Python default only: "
                                  f"write it in the statement (or give it a db_default)")


def test_the_checkout_suborder_is_written_as_the_orm_reads_it_back(mall, monkeypatch):
    """The instance suborders_create_for_checkout returns (built beside the statement) equals the
    stored row field by field, `skus` included."""
    import orders.services.checkout as checkout

    real, captured = checkout.suborders_create_for_checkout, []

    def spy(**kwargs):
        out = real(**kwargs)
        captured.extend(out)
        return out

    monkeypatch.setattr(checkout, "suborders_create_for_checkout", spy)
    item = stock_item(mall.acme, stock=(5,))
    order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                   lines=[CheckoutLine(item["merchant_id"], item["variant_id"], 2)], idempotency_key=uuid.uuid4().hex)
    assert captured
    with in_merchant_schema(mall.acme):
        for so in captured:
            stored = SubOrder.objects.get(pk=so.pk)
            for field in SubOrder._meta.concrete_fields:
                if field.attname == "change_xid":  # stamped by the database's trigger (suborders 0010), read by the feed only
                    assert stored.change_xid > 0
                    continue
                assert getattr(so, field.attname) == getattr(stored, field.attname), field.attname
            assert stored.skus == [item["sku"]]
