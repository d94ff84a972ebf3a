"""Catalog set-up for order tests: a product with stock in a merchant's warehouse(s)."""
from __future__ import annotations

import itertools

from catalog.services import product_create, stock_receive, warehouse_create
from core.tenancy import in_merchant_schema

_n = itertools.count(1)

ADDRESS = {"name": "Li Lei", "phone": "+86 138 0000 0000", "line1": "1 Nanjing Road", "city": "Shanghai",
           "region": "SH", "postcode": "200001", "country": "CN"}


def stock_item(merchant, *, price_minor=1000, stock=(10,), weight_g=500, sku=None, priorities=None, tag="") -> dict:
    """Create a variant in `merchant` with stock `stock[i]` in warehouse i. Returns ids for checkout."""
    n = next(_n)
    sku = sku or f"T{tag}{n}-{merchant.slug[:3]}".upper()
    with in_merchant_schema(merchant):
        warehouses = []
        for i in range(len(stock)):
            wh = warehouse_create(code=f"W{tag}{n}-{i}", name=f"Warehouse {n}-{i}", region="SH",
                                  priority=(priorities[i] if priorities else 10 * (i + 1)))
            warehouses.append(wh)
        product = product_create(name=f"Thing {n}", variants=[{"sku": sku, "price_minor": price_minor, "currency": "CNY",
                                                                "weight_g": weight_g}])
        variant = product.variants.get()
        for wh, qty in zip(warehouses, stock, strict=True):
            if qty:
                stock_receive(variant_id=variant.pk, warehouse_id=wh.pk, quantity=qty, reason="test stock")
    return {"merchant": merchant, "merchant_id": merchant.pk, "variant_id": variant.pk, "sku": sku,
            "warehouse_ids": [w.pk for w in warehouses], "price_minor": price_minor}


def levels(item) -> list[tuple[int, int]]:
    """(on_hand, reserved) per warehouse of an item, in warehouse order."""
    from catalog.models import StockLevel

    with in_merchant_schema(item["merchant"]):
        out = []
        for wid in item["warehouse_ids"]:
            lvl = StockLevel.objects.filter(variant_id=item["variant_id"], warehouse_id=wid).first()
            out.append((lvl.on_hand, lvl.reserved) if lvl else (0, 0))
        return out
