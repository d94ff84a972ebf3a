"""Reads of shipping rules (per merchant for the dashboard, across merchants in one statement for
checkout), of a shipment's tracking events, and of the parcels that need a look."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from core.tenancy import merchant_only
from fulfillment.models import OPEN_PARCEL, ShippingRule, needs_look_since

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


@merchant_only
def shipments_flagged(*, now: datetime | None = None, stale_days: int | None = None):
    """This store's parcels that need a look: still on their way with a carrier exception, or without a
    scan for TRACKING_STALE_DAYS (counted from shipping when there was none). The one definition behind
    the flagged parcels page and the suborder list's `flagged` filter; one range of the partial index
    `shipment_needs_look_idx`. Ordered by `needs_look_since` (exceptions first, then the longest silent)
    where the caller asks for it."""
    from carriers.selectors import stale_cutoff
    from fulfillment.models import Shipment

    return (Shipment.objects.alias(needs_look_since=needs_look_since())
            .filter(OPEN_PARCEL, needs_look_since__lt=stale_cutoff(now=now, stale_days=stale_days)))


@merchant_only
def shipment_get(*, shipment_id: int):
    """One shipment of this store, or NotFound naming the shipment."""
    from django.utils.translation import gettext as _

    from core.errors import NotFound
    from fulfillment.models import Shipment

    shipment = Shipment.objects.filter(pk=shipment_id).first()
    if shipment is None:
        raise NotFound(_("No such shipment in this store."), field="shipment")
    return shipment


@merchant_only
def tracking_events_for_shipment(*, shipment_id: int):
    """A shipment's tracking events, oldest first (NotFound when the store has no such shipment)."""
    from fulfillment.models import TrackingEvent

    shipment_get(shipment_id=shipment_id)
    return TrackingEvent.objects.filter(shipment_id=shipment_id).order_by("at", "id")
