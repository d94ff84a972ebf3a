"""Checkout's hand-written SQL for plain rows (merchants read, order written) matches what the ORM
would read and write, field by field, so a model change cannot make them drift."""
from django.db import connection

from orders.models import Order
from orders.services import CheckoutLine, order_checkout
from orders.services.checkout import _merchants
from tenants.models import Merchant
from tests.orders.factories import ADDRESS, levels, stock_item


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_merchants_read_by_checkout_equal_the_orm_rows_and_skip_the_template(mall):
    template = Merchant.objects.filter(is_template=True).first()
    ids = [mall.acme.pk, mall.globex.pk, mall.initech.pk] + ([template.pk] if template else [])
    got = _merchants(ids)
    assert sorted(got) == sorted([mall.acme.pk, mall.globex.pk, mall.initech.pk])
    for pk, merchant in got.items():
        assert _fields(merchant) == _fields(Merchant.objects.get(pk=pk))
        assert merchant._state.adding is False and merchant._state.db == connection.alias


def test_order_written_by_checkout_reads_back_equal(mall):
    a = stock_item(mall.acme, stock=(5,))
    order, created = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                                    lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 2)], idempotency_key="sql-order")
    assert created and order._state.adding is False
    stored = Order.objects.get(pk=order.pk)
    assert _fields(order) == _fields(stored)
    assert (stored.total_minor, stored.shipping_address["line1"], stored.idempotency_key) == (2 * a["price_minor"], ADDRESS["line1"], "sql-order")
    # the retry finds it through the same hand-written read
    again, created_again = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                                          lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 2)], idempotency_key="sql-order")
    assert (again.pk, created_again) == (order.pk, False)
    assert levels(a) == [(5, 2)]


def test_alternating_merchants_on_one_connection_reserve_in_their_own_schema(mall):
    """The reservation statement runs with a different search_path per merchant; with server-side
    prepared statements each schema must keep its own plan (never another schema's tables)."""
    a = stock_item(mall.acme, stock=(20,))
    g = stock_item(mall.globex, stock=(20,))
    for n in range(6):  # past psycopg's prepare threshold, on the test's one connection
        item = (a, g)[n % 2]
        order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                       lines=[CheckoutLine(item["merchant_id"], item["variant_id"], n + 1)], idempotency_key=f"alt-{n}")
    assert levels(a) == [(20, 1 + 3 + 5)]
    assert levels(g) == [(20, 2 + 4 + 6)]


def test_each_merchant_schema_gets_its_own_text_of_the_per_schema_statements(mall):
    """The suborder and stock reservation statements run under each merchant's search_path; with
    server-side prepared statements one shared text would be re-planned on every switch, so each
    carries its schema's name (a text, and a plan, per schema). Fails if either loses the name."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    a = stock_item(mall.acme, stock=(5,))
    g = stock_item(mall.globex, stock=(5,))
    with CaptureQueriesContext(connection) as ctx:
        order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS, idempotency_key="per-schema-texts",
                       lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 1), CheckoutLine(g["merchant_id"], g["variant_id"], 1)])
    sqls = [q["sql"] for q in ctx.captured_queries]
    for schema in (mall.acme.schema_name, mall.globex.schema_name):
        named = [s for s in sqls if s.startswith(f"/* {schema} */")]
        assert any("INSERT INTO suborders_suborder" in s for s in named), schema
        assert any("catalog_stocklevel" in s for s in named), schema
    assert not [s for s in sqls if "INSERT INTO suborders_suborder" in s and not s.startswith("/* m_")]
