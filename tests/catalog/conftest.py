"""Catalog test helpers: a product with variants and warehouses in a merchant schema."""
import itertools
import os

import pytest

_n = itertools.count(1)


def uniq(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_n)}"


@pytest.fixture
def make_stock():
    """`make_stock(variants=1, warehouses=1, qty=10, threshold=0)` in the current merchant schema ->
    (variants, warehouses); stock is received through the service so the journal is right."""
    from catalog.services import ReceiveLine, product_create, stock_receive_bulk, warehouse_create

    def make(*, variants=1, warehouses=1, qty=10, threshold=0, price_minor=1999):
        whs = [warehouse_create(code=uniq("WH"), name=f"Warehouse {i}", region=f"CN-{11 + i}", priority=i)
               for i in range(warehouses)]
        product = product_create(name=uniq("Test product"), variants=[
            {"sku": uniq("SKU"), "price_minor": price_minor, "currency": "CNY", "low_stock_threshold": threshold,
             "options": {"size": str(i)}}
            for i in range(variants)])
        vs = list(product.variants.order_by("id"))
        if qty:
            stock_receive_bulk(lines=[ReceiveLine(v.pk, w.pk, qty) for v in vs for w in whs], reason="test stock")
        return vs, whs

    return make
