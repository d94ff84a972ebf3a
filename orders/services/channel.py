"""Orders sold on another channel, written in chunks (channel imports): the checkout's rows and invariants
for hundreds of orders at a time.

One chunk is ONE transaction across public and every merchant schema it touches, like a checkout:
  1. skip the orders whose (channel, external id) already has a suborder in one of its stores (one
     cross-schema read), and the ones whose public order exists (the idempotency constraint);
  2. read the stock of every variant of the chunk once (catalog.cross_schema) and plan each order's
     warehouses with checkout's own planner (orders.pricing.plan_warehouses), spending the stock read
     order by order, so a chunk splits into per-merchant, per-warehouse suborders exactly as the same
     orders placed one by one through checkout would (shipping spread with split_shipping);
  3. BEGIN; the orders (one INSERT … ON CONFLICT DO NOTHING); for each merchant in merchant-id order (the
     lock order of checkout): its suborders, lines and events in one statement and every line's stock
     reserved in one guarded statement (suborders.services.suborders_create_imported); back in public:
     order lines and mirrors in one statement, the captured channel payments, their events and ledger
     entries in one statement (payments.services.channel), and the outbox events in one batch; COMMIT.
A line no warehouse can ship stops the chunk with OutOfStock naming the order's row: nothing of the
chunk is written.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.cross_schema import checkout_variants_many
from core.errors import Conflict, OutOfStock
from core.outbox import outbox_batch, outbox_emit
from core.tenancy import in_merchant_schema, platform_only
from orders.pricing import (
    Line,
    Shipment,
    WarehouseOption,
    apply_discount,
    order_totals,
    plan_warehouses,
    split_shipping,
)
from orders.services.checkout import _order_number
from orders.sql import IMPORT_ORDERS_SQL, IMPORT_PUBLIC_ROWS_SQL
from payments.services.channel import ChannelPayment, LedgerComponent, payments_record_channel_batch
from suborders.cross_schema import external_ids_imported_many
from suborders.services import ImportedSuborder, suborders_create_imported
from suborders.states import SubOrderStatus


@dataclass
class ChannelLine:
    row: int  # the file's row number, for errors
    merchant_id: int
    variant_id: int
    sku: str
    name: str
    unit_price_minor: int
    quantity: int
    discount_minor: int = 0


@dataclass
class ChannelOrder:
    external_order_id: str
    row: int  # first row of the order in the file
    email: str
    currency: str
    address: dict
    created_at: datetime
    lines: list[ChannelLine]
    shipping_minor: dict[int, int] = field(default_factory=dict)  # merchant id -> that store's shipping charge
    discount_minor: int = 0  # order-level discount (merchant-funded), spread over the lines by gross amount
    shipping_method: str = ""

    @property
    def merchant_ids(self) -> list[int]:
        return sorted({ln.merchant_id for ln in self.lines})


@dataclass
class ChunkResult:
    created: list[tuple[str, int, str]]  # (external id, order id, order number)
    skipped: list[str]  # external ids already imported


def import_scope(*, channel: str, merchant_id: int | None) -> str:
    """The idempotency scope of an import's orders: one order per (channel, store or mall, external id)."""
    return f"import:{channel}:{merchant_id if merchant_id is not None else 'mall'}"


def _plan(order: ChannelOrder, merchants: dict, stock: dict[int, dict[int, WarehouseOption]]) -> list[tuple[int, list[Shipment]]]:
    """Split one order into per-merchant shipments from the running stock (which it then spends)."""
    lines_by_merchant: dict[int, list[Line]] = {}
    all_lines: list[Line] = []
    for i, cl in enumerate(order.lines):
        ln = Line(index=i, merchant_id=cl.merchant_id, variant_id=cl.variant_id, sku=cl.sku, name=cl.name,
                  unit_price_minor=cl.unit_price_minor, quantity=cl.quantity,
                  commission_bp=merchants[cl.merchant_id].commission_bp, discount_minor=cl.discount_minor)
        lines_by_merchant.setdefault(cl.merchant_id, []).append(ln)
        all_lines.append(ln)
    if order.discount_minor:
        apply_discount(all_lines, order.discount_minor, platform_funded=False)
    out = []
    for mid in sorted(lines_by_merchant):
        lines = lines_by_merchant[mid]
        options = stock.get(mid, {})
        plan, unplaced = plan_warehouses(lines, list(options.values()))
        if unplaced:
            ln = unplaced[0]
            best = max((w.available.get(ln.variant_id, 0) for w in options.values()), default=0)
            raise OutOfStock(_("Row %(row)s (order %(order)s): %(sku)s — %(req)s requested, %(avail)s available in any one warehouse.")
                             % {"row": order.lines[ln.index].row, "order": order.external_order_id, "sku": ln.sku,
                                "req": ln.quantity, "avail": best},
                             field=f"rows[{order.lines[ln.index].row}].quantity")
        shipments = []
        for wh, wl, reason in plan:
            for ln in wl:
                wh.available[ln.variant_id] -= ln.quantity
            shipments.append(Shipment(mid, wh.warehouse_id, wh.name, reason, list(wl)))
        split_shipping(shipments, order.shipping_minor.get(mid, 0))
        out.append((mid, shipments))
    return out


def _stock(orders: list[ChannelOrder], merchants: dict) -> dict[int, dict[int, WarehouseOption]]:
    wanted: dict[str, set[int]] = {}
    for o in orders:
        for ln in o.lines:
            wanted.setdefault(merchants[ln.merchant_id].schema_name, set()).add(ln.variant_id)
    read = checkout_variants_many(wanted={s: sorted(v) for s, v in wanted.items()})
    by_schema = {m.schema_name: mid for mid, m in merchants.items()}
    stock: dict[int, dict[int, WarehouseOption]] = {}
    for schema, variants in read.items():
        options = stock.setdefault(by_schema[schema], {})
        for vid, snap in variants.items():
            for wid, (wname, prio, available) in snap.stock.items():
                opt = options.get(wid) or WarehouseOption(wid, wname, prio, {})
                opt.available[vid] = available
                options[wid] = opt
    return stock


@platform_only
def orders_import_chunk(*, channel: str, scope: str, orders: list[ChannelOrder], merchants: dict, actor=None) -> ChunkResult:
    """Write a chunk of imported orders (see the module's docstring); `merchants` {id: Merchant} covers them."""
    wanted: dict[str, list[str]] = {}
    for o in orders:
        for mid in o.merchant_ids:
            wanted.setdefault(merchants[mid].schema_name, []).append(o.external_order_id)
    known = external_ids_imported_many(channel=channel, wanted=wanted)
    skipped_ids = {o.external_order_id for o in orders
                   if any(o.external_order_id in known.get(merchants[mid].schema_name, ()) for mid in o.merchant_ids)}
    todo = [o for o in orders if o.external_order_id not in skipped_ids]
    if not todo:
        return ChunkResult([], sorted(skipped_ids))
    stock = _stock(todo, merchants)
    planned = [(o, _plan(o, merchants, stock)) for o in todo]
    for attempt in range(3):
        try:
            return _write(channel=channel, scope=scope, planned=planned, merchants=merchants, actor=actor,
                          skipped=sorted(skipped_ids))
        except IntegrityError as exc:
            if "(number)=" in str(exc) and attempt < 2:  # a random order number clashed: draw again
                continue
            if "suborder_channel_external_uniq" in str(exc):
                raise Conflict(_("An order of this file was imported by another import at the same time; run the import again "
                                 "(orders already imported are skipped)."), field="file") from None
            raise
    raise AssertionError("unreachable")


def _write(*, channel, scope, planned, merchants, actor, skipped) -> ChunkResult:
    now = timezone.now()
    with transaction.atomic(), outbox_batch():
        numbers = {o.external_order_id: _order_number() for o, _p in planned}
        totals = {o.external_order_id: order_totals([s for _m, ships in parts for s in ships]) for o, parts in planned}
        with connection.cursor() as cur:
            cur.execute(IMPORT_ORDERS_SQL, {"scope": scope, "channel": channel, "orders": json.dumps([
                {"i": i, "number": numbers[o.external_order_id], "email": o.email, "currency": o.currency,
                 "address": o.address, "created_at": o.created_at.isoformat(), "external_order_id": o.external_order_id,
                 **totals[o.external_order_id]}
                for i, (o, _p) in enumerate(planned)
            ])})
            order_ids = dict((ext, pk) for pk, ext in cur.fetchall())
        written = [(o, parts) for o, parts in planned if o.external_order_id in order_ids]
        skipped = skipped + sorted(o.external_order_id for o, _p in planned if o.external_order_id not in order_ids)
        if not written:
            return ChunkResult([], skipped)
        by_merchant: dict[int, list[ImportedSuborder]] = {}
        for o, parts in written:
            for mid, ships in parts:
                for s in ships:
                    by_merchant.setdefault(mid, []).append(ImportedSuborder(
                        order_id=order_ids[o.external_order_id], order_number=numbers[o.external_order_id], email=o.email,
                        currency=o.currency, address=o.address, external_order_id=o.external_order_id, shipment=s,
                        shipping_method=o.shipping_method))
        created: list[tuple[int, ImportedSuborder, int, str, datetime]] = []  # (merchant, suborder, id, number, accept_by)
        for mid in sorted(by_merchant):  # merchant-id order: the lock order across schemas, as checkout
            with in_merchant_schema(merchants[mid]):
                rows, accept_by = suborders_create_imported(channel=channel, suborders=by_merchant[mid], actor=actor)
            created += [(mid, so, pk, number, accept_by) for so, pk, number in rows]
        lines, mirrors = [], []
        for mid, so, pk, number, accept_by in created:
            s = so.shipment
            mirrors.append({"i": len(mirrors), "order_id": so.order_id, "merchant_id": mid, "suborder_id": pk, "number": number,
                            "status": SubOrderStatus.AWAITING_ACCEPTANCE, "warehouse_name": s.warehouse_name,
                            "shipping_method": so.shipping_method[:120], "subtotal_minor": s.subtotal_minor,
                            "shipping_minor": s.shipping_minor, "discount_minor": s.discount_minor, "total_minor": s.total_minor,
                            "accept_by": accept_by.isoformat()})
            for ln in s.lines:
                lines.append({"i": len(lines), "order_id": so.order_id, "merchant_id": mid, "variant_id": ln.variant_id,
                              "sku": ln.sku, "name": ln.name, "unit_price_minor": ln.unit_price_minor, "quantity": ln.quantity,
                              "discount_minor": ln.discount_minor, "line_total_minor": ln.total_minor,
                              "commission_bp": ln.commission_bp, "commission_minor": ln.commission_minor, "suborder_id": pk})
        with connection.cursor() as cur:
            cur.execute(IMPORT_PUBLIC_ROWS_SQL, {"lines": json.dumps(lines), "mirrors": json.dumps(mirrors), "now": now})
            line_ids = {(order_id, merchant_id, variant_id): pk for pk, order_id, merchant_id, variant_id in cur.fetchall()}
        components = []
        for mid, so, pk, _number, _a in created:
            for ln in so.shipment.lines:
                components.append(LedgerComponent(so.order_id, mid, pk, line_ids[(so.order_id, mid, ln.variant_id)], ln.total_minor,
                                                  so.currency, ln.commission_bp, ln.commission_minor))
            if so.shipment.shipping_minor:
                components.append(LedgerComponent(so.order_id, mid, pk, None, so.shipment.shipping_minor, so.currency))
        payments_record_channel_batch(
            payments=[ChannelPayment(order_ids[o.external_order_id], totals[o.external_order_id]["total_minor"], o.currency,
                                     channel, o.external_order_id) for o, _p in written],
            components=components, now=now, actor=actor)
        suborders_of: dict[int, list[list[int]]] = {}
        for mid, so, pk, _n, _a in created:
            suborders_of.setdefault(so.order_id, []).append([mid, pk])
        for o, _p in written:
            oid = order_ids[o.external_order_id]
            outbox_emit(topic="order.imported", aggregate_type="order", aggregate_id=oid,
                        payload={"number": numbers[o.external_order_id], "channel": channel,
                                 "external_order_id": o.external_order_id, "total_minor": totals[o.external_order_id]["total_minor"],
                                 "currency": o.currency, "suborders": suborders_of.get(oid, [])})
    return ChunkResult([(o.external_order_id, order_ids[o.external_order_id], numbers[o.external_order_id]) for o, _p in written],
                       skipped)
