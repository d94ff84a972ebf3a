"""Catalog reads spanning several merchant schemas in ONE statement (platform level: checkout).

Schema-qualified UNION ALL instead of switching `search_path` per merchant: a 3-store cart
costs one round trip. Under Citus schema-based sharding each branch is routed to its node.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass
class CheckoutVariant:
    schema_name: str
    variant_id: int
    sku: str
    name: str
    price_minor: int
    currency: str
    weight_g: int
    is_active: bool
    # warehouse_id -> (name, priority, available); only active warehouses with a stock row
    stock: dict[int, tuple[str, int, int]] = field(default_factory=dict)


_BRANCH = """
SELECT %s::text, v.id, v.sku,
       p.name || CASE WHEN v.name_suffix <> '' THEN ' · ' || v.name_suffix ELSE '' END,
       v.price_minor, v.currency, v.weight_g, (v.is_active AND p.status = 'active'),
       w.id, w.name, w.priority, s.on_hand - s.reserved
FROM "{s}".catalog_variant v
JOIN "{s}".catalog_product p ON p.id = v.product_id
LEFT JOIN "{s}".catalog_stocklevel s ON s.variant_id = v.id
LEFT JOIN "{s}".catalog_warehouse w ON w.id = s.warehouse_id
WHERE v.{key} = ANY(%s) AND (w.id IS NULL OR w.is_active)
"""


def checkout_variants_many(*, wanted: dict[str, list[int]]) -> dict[str, dict[int, CheckoutVariant]]:
    """{schema: [variant ids]} -> {schema: {variant id: CheckoutVariant}} in one query."""
    return _variants_many(wanted, key="id")


def variants_by_sku_many(*, wanted: dict[str, list[str]]) -> dict[str, dict[str, CheckoutVariant]]:
    """{schema: [SKUs]} -> {schema: {SKU: CheckoutVariant}} in one query (channel imports name lines by SKU)."""
    found = _variants_many(wanted, key="sku")
    return {schema: {v.sku: v for v in items.values()} for schema, items in found.items()}


def _variants_many(wanted: dict[str, list], *, key: str) -> dict[str, dict[int, CheckoutVariant]]:
    branches, params = [], []
    for schema, ids in sorted(wanted.items()):
        if not _SCHEMA_RE.match(schema):
            raise ValueError(f"bad schema name {schema!r}")
        branches.append(_BRANCH.format(s=schema, key=key))
        params += [schema, list(ids)]
    out: dict[str, dict[int, CheckoutVariant]] = {s: {} for s in wanted}
    if not branches:
        return out
    with connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(branches), params)
        rows = cur.fetchall()
    for schema, vid, sku, name, price, currency, weight, active, wid, wname, wprio, available in rows:
        item = out[schema].get(vid)
        if item is None:
            item = out[schema][vid] = CheckoutVariant(schema, vid, sku, name, price, currency, weight, active)
        if wid is not None:
            item.stock[wid] = (wname, wprio, max(available or 0, 0))
    return out
