"""Reads of shipping rules: per merchant (dashboard) and across merchants in one statement (checkout)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection

from core.tenancy import merchant_only
from fulfillment.models import ShippingRule

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@merchant_only
def shipping_rule_list():
    return ShippingRule.objects.all()


@dataclass(frozen=True)
class RuleRow:
    pk: int
    name: str
    regions: list
    flat_minor: int
    per_kg_minor: int
    free_over_minor: int | None
    currency: str
    is_active: bool


def shipping_rules_many(*, schemas: list[str]) -> dict[str, list[RuleRow]]:
    """Active shipping rules of several merchants, in one query."""
    out: dict[str, list[RuleRow]] = {s: [] for s in schemas}
    branches, params = [], []
    for schema in sorted(schemas):
        if not _SCHEMA_RE.match(schema):
            raise ValueError(f"bad schema name {schema!r}")
        branches.append(
            f'SELECT %s::text, id, name, regions, flat_minor, per_kg_minor, free_over_minor, currency, is_active, position '
            f'FROM "{schema}".fulfillment_shippingrule WHERE is_active'
        )
        params.append(schema)
    if not branches:
        return out
    with connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(branches) + " ORDER BY 1, 10, 2", params)
        for schema, pk, name, regions, flat, per_kg, free_over, currency, active, _pos in cur.fetchall():
            if isinstance(regions, str):
                import json

                regions = json.loads(regions)
            out[schema].append(RuleRow(pk, name, regions or [], flat, per_kg, free_over, currency, active))
    return out


def shipments_for_order(*, order_id: int) -> dict[int, list]:
    """In a merchant schema: this order's shipments by suborder id, with lines, events and carrier names."""
    from core.tenancy import assert_merchant_schema
    from fulfillment.carriers import carrier_get
    from fulfillment.models import Shipment

    assert_merchant_schema()
    out: dict[int, list] = {}
    for sh in Shipment.objects.filter(suborder__order_id=order_id).prefetch_related("lines__line", "events").order_by("id"):
        c = carrier_get(sh.carrier)
        sh.carrier_name, sh.track_link = (c.name, c.link(sh.tracking_number)) if c else (sh.carrier, "")
        out.setdefault(sh.suborder_id, []).append(sh)
    return out
