"""The SKU search reads the suborder's own `skus` (migration 0005): written with the lines at checkout
(storefront and confirmed drafts), backfilled for older rows, and used by the list's SKU branch."""
from __future__ import annotations

import uuid
from importlib import import_module

import pytest
from django.db import connection

from catalog.services import product_create, stock_receive, warehouse_create
from core.tenancy import in_merchant_schema
from fulfillment.services import shipping_rule_create
from orders.services import CheckoutLine, order_checkout
from suborders.drafts import DraftLine, draft_confirm, draft_create
from suborders.models import SubOrder
from suborders.selectors import suborder_list_filters_parse, suborder_list_for_merchant
from tests.orders.factories import ADDRESS, stock_item

backfill = import_module("suborders.migrations.0005_suborder_skus").backfill


def _found(merchant, q: str) -> set[int]:
    with in_merchant_schema(merchant):
        filters, errors = suborder_list_filters_parse({"q": q})
        assert not errors
        page = suborder_list_for_merchant(filters=filters)
        assert "sku" in page.searched
        return {so.pk for so in page.rows}


def _lines_skus(merchant, ids) -> dict[int, list[str]]:
    """What `skus` must be, from the lines themselves (sorted by code point, distinct)."""
    with in_merchant_schema(merchant), connection.cursor() as cur:
        cur.execute("""SELECT s.id, s.skus, (SELECT coalesce(array_agg(DISTINCT l.sku COLLATE "C" ORDER BY l.sku COLLATE "C"), '{}')
                                          FROM suborders_suborderline l WHERE l.suborder_id = s.id)
                       FROM suborders_suborder s WHERE s.id = ANY(%s)""", [list(ids)])
        return {pk: (stored, expected) for pk, stored, expected in cur.fetchall()}


def _checkout(mall, items, qty=1):
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                              lines=[CheckoutLine(i["merchant_id"], i["variant_id"], qty) for i in items],
                              idempotency_key=uuid.uuid4().hex)
    return order


def _suborder_ids(merchant, order) -> list[int]:
    with in_merchant_schema(merchant):
        return list(SubOrder.objects.filter(order_id=order.pk).order_by("pk").values_list("pk", flat=True))


def _one_warehouse_items(merchant, skus: list[str]) -> list[dict]:
    """One product with a variant per SKU, all stocked in ONE warehouse: a checkout of them is one suborder."""
    tag = uuid.uuid4().hex[:6]
    with in_merchant_schema(merchant):
        wh = warehouse_create(code=f"SK{tag}", name=f"SKU warehouse {tag}", region="SH", priority=1)
        product = product_create(name=f"SKU thing {tag}", variants=[
            {"sku": sku, "price_minor": 1000 + i, "currency": "CNY", "weight_g": 300, "name_suffix": f"v{i}"}
            for i, sku in enumerate(skus)])
        out = []
        for v in product.variants.order_by("pk"):
            stock_receive(variant_id=v.pk, warehouse_id=wh.pk, quantity=10, reason="test stock")
            out.append({"merchant_id": merchant.pk, "variant_id": v.pk, "sku": v.sku})
    return out


@pytest.mark.parametrize("rare_sku_lines", [500, 0], ids=["rare-by-ids", "common-by-skus"])
def test_checkout_writes_every_lines_sku_on_its_suborder_and_the_search_finds_each(mall, monkeypatch, rare_sku_lines):
    monkeypatch.setattr("suborders.selectors.RARE_SKU_LINES", rare_sku_lines)
    tag = uuid.uuid4().hex[:6].upper()
    a = _one_warehouse_items(mall.acme, [f"SKS-{tag}-Z", f"SKS-{tag}-A", f"SKS-{tag}-m.2"])  # unsorted, mixed case
    g = stock_item(mall.globex, stock=(10,))
    order = _checkout(mall, [*a, g])
    (acme_id,) = _suborder_ids(mall.acme, order)  # three lines added to one suborder
    stored, expected = _lines_skus(mall.acme, [acme_id])[acme_id]
    assert stored == expected == sorted(i["sku"] for i in a)
    for item in a:
        assert _found(mall.acme, item["sku"]) == {acme_id}
    assert _found(mall.acme, f"sks-{tag}-z") == {acme_id}  # typed in lower case
    (globex_id,) = _suborder_ids(mall.globex, order)
    assert _lines_skus(mall.globex, [globex_id])[globex_id][0] == [g["sku"]]
    assert _found(mall.globex, g["sku"]) == {globex_id}
    assert _found(mall.acme, a[0]["sku"]) == {acme_id}  # and not globex's suborder of the same order


def test_a_second_order_of_the_same_skus_is_found_too_newest_first(mall, monkeypatch):
    monkeypatch.setattr("suborders.selectors.RARE_SKU_LINES", 0)
    tag = uuid.uuid4().hex[:6].upper()
    a = _one_warehouse_items(mall.acme, [f"SKN-{tag}-1", f"SKN-{tag}-2"])
    first = _suborder_ids(mall.acme, _checkout(mall, a))
    second = _suborder_ids(mall.acme, _checkout(mall, a[1:]))
    with in_merchant_schema(mall.acme):
        page = suborder_list_for_merchant(filters=suborder_list_filters_parse({"q": a[1]["sku"]})[0])
    assert [so.pk for so in page.rows] == second + first
    assert _found(mall.acme, a[0]["sku"]) == set(first)


def test_a_confirmed_draft_is_found_by_its_skus(mall, monkeypatch):
    monkeypatch.setattr("suborders.selectors.RARE_SKU_LINES", 0)  # through the suborder's own skus
    cs = mall.users["acme:customer_service"]
    x = stock_item(mall.acme, stock=(10,), tag="dk")
    y = stock_item(mall.acme, stock=(10,), tag="dk")
    with in_merchant_schema(mall.acme):
        rule = shipping_rule_create(actor=None, name="Courier", regions=["SH"], flat_minor=900)
        draft = draft_create(actor=cs, lines=[DraftLine(x["variant_id"], 1), DraftLine(y["variant_id"], 2)],
                             email="han.meimei@example.com", shipping_address=ADDRESS, shipping_rule_id=rule.pk)
        draft = draft_confirm(draft_id=draft.pk, actor=cs)
        ids = set(SubOrder.objects.filter(order_id=draft.order_id).values_list("pk", flat=True))
    assert ids
    rows = _lines_skus(mall.acme, ids)
    assert all(stored == expected for stored, expected in rows.values()), rows
    assert _found(mall.acme, x["sku"]) | _found(mall.acme, y["sku"]) == ids


def test_backfill_writes_what_older_code_left_out_and_a_second_run_changes_nothing(mall, monkeypatch):
    monkeypatch.setattr("suborders.selectors.RARE_SKU_LINES", 0)  # search through skus, not the lines' ids
    items = [stock_item(mall.acme, stock=(10,), tag="bf") for _ in range(2)]
    order = _checkout(mall, items)
    ids = _suborder_ids(mall.acme, order)
    with in_merchant_schema(mall.acme), connection.cursor() as cur:
        # a row as the previous release wrote it: no skus (the column's database default)
        cur.execute("UPDATE suborders_suborder SET skus = DEFAULT WHERE id = ANY(%s)", [ids])
    assert _found(mall.acme, items[0]["sku"]) == set()
    with in_merchant_schema(mall.acme):
        assert backfill(connection, batch=7) >= len(ids)  # several small batches over the whole table
        assert backfill(connection) == 0  # re-runnable: nothing left to change, on any row of the schema
    rows = _lines_skus(mall.acme, ids)
    assert all(stored == expected and stored for stored, expected in rows.values()), rows
    assert _found(mall.acme, items[0]["sku"]) & set(ids)


def test_the_backfill_command_repairs_rows_written_without_skus(mall, monkeypatch):
    monkeypatch.setattr("suborders.selectors.RARE_SKU_LINES", 0)  # search through skus, not the lines' ids
    from io import StringIO

    from django.core.management import call_command

    item = stock_item(mall.acme, stock=(10,), tag="bc")
    ids = _suborder_ids(mall.acme, _checkout(mall, [item]))
    with in_merchant_schema(mall.acme), connection.cursor() as cur:
        cur.execute("UPDATE suborders_suborder SET skus = DEFAULT WHERE id = ANY(%s)", [ids])
    assert _found(mall.acme, item["sku"]) == set()
    out = StringIO()
    call_command("suborders_skus_backfill", merchant=mall.acme.slug, stdout=out)
    assert f"{mall.acme.slug}: " in out.getvalue()
    assert _found(mall.acme, item["sku"]) == set(ids)
    call_command("suborders_skus_backfill", merchant=mall.acme.slug, stdout=out)
    assert out.getvalue().rstrip().endswith("0 suborder(s) written")


def test_list_page_rows_are_escaped_and_carry_their_values(mall, client_at):
    """The page's rows are made by the view as HTML (suborders.views._ROW): every value escaped."""
    item = stock_item(mall.acme, stock=(5,), tag="esc")
    name = "<b>O'Brien & \"Co\"</b>"
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address={**ADDRESS, "name": name},
                              lines=[CheckoutLine(item["merchant_id"], item["variant_id"], 1)], idempotency_key=uuid.uuid4().hex)
    (pk,) = _suborder_ids(mall.acme, order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(pk=pk)
    body = client_at(mall.acme, mall.users["acme:owner"]).get("/suborders/", {"q": item["sku"]}).content.decode()
    assert "&lt;b&gt;O&#x27;Brien &amp; &quot;Co&quot;&lt;/b&gt;" in body and name not in body
    assert f'<tr data-number="{so.number}">' in body and f'value="{pk}" form="bulk-form"' in body
    assert f'<a href="/suborders/{pk}/">{so.number}</a>' in body
    assert "No suborders match." not in body
    empty = client_at(mall.acme, mall.users["acme:owner"]).get("/suborders/", {"q": "NOSUCHSKU-42"}).content.decode()
    assert "No suborders match." in empty and "<tr data-number" not in empty
