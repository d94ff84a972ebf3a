"""Suborder writes (merchant schema): creation at checkout, the one transition function, cancellation.

Every status change goes through `suborder_transition`, which checks states.TRANSITIONS,
writes the SubOrderEvent row, refreshes the public mirror and emits the outbox event in
the caller's transaction.
"""
from __future__ import annotations

import json
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.services import ReserveLine, stock_release, stock_reserve
from core.errors import Conflict, InvalidTransition
from core.outbox import outbox_emit
from core.tenancy import current_merchant, in_public_schema, merchant_only
from orders.pricing import Shipment
from suborders.models import SubOrder, SubOrderEvent
from suborders.states import HOLDS_RESERVATION, SubOrderStatus, can_transition

# This merchant's suborders, their lines and their first events in ONE statement (checkout).
# Suborders and lines arrive as two JSON arrays (two parameters: cheap to bind), each item with
# its position i in the caller's order.
#   so     insert the suborders; RETURNING gives each new id with its number (unique in the order);
#   ln     insert the lines, each joined to its suborder by number; RETURNING names each new id with
#          its suborder and variant (a variant appears once per merchant in an order), so ids are
#          matched to lines by key, never by the order PostgreSQL happened to insert them in;
#   ev     the "created" event of each suborder (from_status "" to its first status).
# The result: one row per suborder and one per line, tagged.
_CREATE_FOR_CHECKOUT_SQL = """
    WITH so AS (
        INSERT INTO suborders_suborder (number, order_id, order_number, shopper_email, status, currency, warehouse_id,
                                        warehouse_name, warehouse_reason, shipping_method, shipping_address, subtotal_minor,
                                        shipping_minor, discount_minor, platform_discount_minor, total_minor, created_at,
                                        updated_at, accept_by)
        SELECT t.number, %(order_id)s, %(order_number)s, %(email)s, %(status)s, %(currency)s, t.warehouse_id,
               t.warehouse_name, t.warehouse_reason, %(shipping_method)s, %(address)s::jsonb, t.subtotal_minor,
               t.shipping_minor, t.discount_minor, t.platform_discount_minor, t.total_minor, %(now)s, %(now)s, NULL
        FROM jsonb_to_recordset(%(suborders)s::jsonb)
            AS t(i integer, number text, warehouse_id bigint, warehouse_name text, warehouse_reason text, subtotal_minor bigint,
                 shipping_minor bigint, discount_minor bigint, platform_discount_minor bigint, total_minor bigint)
        ORDER BY t.i
        RETURNING id, number
    ), ln AS (
        INSERT INTO suborders_suborderline (suborder_id, variant_id, sku, name, unit_price_minor, quantity, discount_minor,
                                            line_total_minor)
        SELECT so.id, x.variant_id, x.sku, x.name, x.unit_price_minor, x.quantity, x.discount_minor, x.line_total_minor
        FROM jsonb_to_recordset(%(lines)s::jsonb)
            AS x(i integer, number text, variant_id bigint, sku text, name text, unit_price_minor bigint, quantity integer,
                 discount_minor bigint, line_total_minor bigint)
        JOIN so ON so.number = x.number
        ORDER BY x.i
        RETURNING id, suborder_id, variant_id
    ), ev AS (
        INSERT INTO suborders_suborderevent (suborder_id, from_status, to_status, actor_id, reason, at)
        SELECT so.id, '', %(status)s, %(actor_id)s, 'checkout', %(now)s FROM so ORDER BY so.id
    )
    SELECT 'suborder', id, number, NULL::bigint FROM so
    UNION ALL
    SELECT 'line', id, (SELECT so.number FROM so WHERE so.id = ln.suborder_id), variant_id FROM ln
"""


@merchant_only
def suborders_create_for_checkout(
    *, order, shipments: list[Shipment], shipping_method: str, shipping_address: dict,
    reservation_expires_at: datetime | None, actor=None,
) -> list[SubOrder]:
    """Create this merchant's suborders for `order` and reserve their stock, all or nothing.

    Two statements however many suborders and lines: _CREATE_FOR_CHECKOUT_SQL writes suborders,
    lines and events; stock_reserve locks and reserves every line.
    """
    merchant = current_merchant()
    now = timezone.now()
    status = SubOrderStatus.PENDING_PAYMENT
    numbers = [f"{order.number}-{merchant.slug[:6].upper()}{i + 1}" for i in range(len(shipments))]
    flat = [(number, ln) for number, s in zip(numbers, shipments, strict=True) for ln in s.lines]
    params = {
        "suborders": json.dumps([
            {"i": i, "number": number, "warehouse_id": s.warehouse_id, "warehouse_name": s.warehouse_name,
             "warehouse_reason": s.reason[:300], "subtotal_minor": s.subtotal_minor, "shipping_minor": s.shipping_minor,
             "discount_minor": s.discount_minor, "platform_discount_minor": s.platform_discount_minor,
             "total_minor": s.total_minor}
            for i, (number, s) in enumerate(zip(numbers, shipments, strict=True))
        ]),
        "lines": json.dumps([
            {"i": i, "number": number, "variant_id": ln.variant_id, "sku": ln.sku, "name": ln.name,
             "unit_price_minor": ln.unit_price_minor, "quantity": ln.quantity, "discount_minor": ln.discount_minor,
             "line_total_minor": ln.total_minor}
            for i, (number, ln) in enumerate(flat)
        ]),
        "order_id": order.pk, "order_number": order.number, "email": order.email, "status": status,
        "currency": order.currency, "shipping_method": shipping_method, "address": json.dumps(shipping_address),
        "now": now, "actor_id": getattr(actor, "pk", None),
    }
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cur:
            cur.execute(_CREATE_FOR_CHECKOUT_SQL, params)
            rows = cur.fetchall()
        suborder_ids = {number: pk for kind, pk, number, _v in rows if kind == "suborder"}
        line_ids = {(number, variant_id): pk for kind, pk, number, variant_id in rows if kind == "line"}
        if len(suborder_ids) != len(numbers) or len(line_ids) != len(flat):
            raise Conflict(_("The suborders could not be written; nothing was changed."))
        suborders = []
        for number, s in zip(numbers, shipments, strict=True):
            so = SubOrder(
                id=suborder_ids[number], number=number, order_id=order.pk, order_number=order.number,
                shopper_email=order.email, status=status, currency=order.currency,
                warehouse_id=s.warehouse_id, warehouse_name=s.warehouse_name, warehouse_reason=s.reason[:300],
                shipping_method=shipping_method, shipping_address=shipping_address,
                subtotal_minor=s.subtotal_minor, shipping_minor=s.shipping_minor,
                discount_minor=s.discount_minor, platform_discount_minor=s.platform_discount_minor,
                total_minor=s.total_minor, created_at=now, updated_at=now, accept_by=None,
            )
            so._state.adding = False
            so._state.db = connection.alias
            suborders.append(so)
        warehouse_of = dict(zip(numbers, (s.warehouse_id for s in shipments), strict=True))
        stock_reserve(
            lines=[ReserveLine(variant_id=ln.variant_id, warehouse_id=warehouse_of[number], quantity=ln.quantity,
                               owner=f"suborder_line:{line_ids[(number, ln.variant_id)]}") for number, ln in flat],
            expires_at=reservation_expires_at, actor=actor, reference=order.number,
        )
    return suborders


def _reservation_owners(suborder: SubOrder) -> list[str]:
    return [f"suborder_line:{pk}" for pk in suborder.lines.values_list("pk", flat=True)]


@merchant_only
def suborder_transition(*, suborder: SubOrder, to: str, actor=None, reason: str = "") -> SubOrder:
    """The only code that assigns SubOrder.status."""
    with transaction.atomic():
        locked = SubOrder.objects.select_for_update(of=("self",)).get(pk=suborder.pk)
        current = locked.status
        if not can_transition(current, to):
            raise InvalidTransition(
                f"Suborder {locked.number} cannot go from {current} to {to}.", field="status",
                details={"from": current, "to": to},
            )
        now = timezone.now()
        locked.status = to
        locked.updated_at = now
        locked.save(update_fields=["status", "updated_at"])
        SubOrderEvent.objects.create(suborder=locked, from_status=current, to_status=to,
                                     actor_id=getattr(actor, "pk", None), reason=reason[:300], at=now)
        if to in (SubOrderStatus.CANCELLED, SubOrderStatus.REFUSED) and current in HOLDS_RESERVATION:
            stock_release(owners=_reservation_owners(locked), reason=f"suborder {to}: {reason}"[:300], actor=actor)
        merchant = current_merchant()
        with in_public_schema():
            from orders.services import mirror_status_set

            mirror_status_set(merchant_id=merchant.pk, suborder_id=locked.pk, status=to, at=now)
        outbox_emit(topic=f"suborder.{to}", aggregate_type="suborder", aggregate_id=locked.pk,
                    payload={"number": locked.number, "order_id": locked.order_id, "from": current, "to": to})
    return locked


@merchant_only
def suborders_cancel_for_order(*, order_id: int, reason: str, actor=None) -> list[SubOrder]:
    """Cancel every open suborder of a checkout order in this schema (unpaid expiry, shopper cancel)."""
    cancelled = []
    for so in SubOrder.objects.filter(order_id=order_id).order_by("pk"):
        if can_transition(so.status, SubOrderStatus.CANCELLED):
            cancelled.append(suborder_transition(suborder=so, to=SubOrderStatus.CANCELLED, actor=actor, reason=reason))
    return cancelled


@merchant_only
def suborders_release_after_payment(*, order_id: int, actor=None) -> list[SubOrder]:
    """The order is paid (captured, or authorized under the authorize-then-capture policy): this
    merchant's suborders move pending_payment -> awaiting_acceptance. Running it twice changes nothing."""
    moved = []
    for so in SubOrder.objects.filter(order_id=order_id, status=SubOrderStatus.PENDING_PAYMENT).order_by("pk"):
        moved.append(suborder_transition(suborder=so, to=SubOrderStatus.AWAITING_ACCEPTANCE, actor=actor, reason="paid"))
    return moved


@merchant_only
def suborder_restock_refunded(*, suborder_id: int, lines: list[tuple[int, int, bool]], actor=None, reference: str = "") -> int:
    """Put refunded units back: `lines` are (variant_id, quantity, whole_line_refunded).

    A line whose stock is still reserved gives its reservation back when the whole line is refunded;
    units already shipped go back on the shelf (a return movement). A partly refunded line that has not
    shipped keeps its reservation (its remaining units still ship). Returns the units restocked.
    """
    from catalog.models import StockReservation
    from catalog.services import stock_return

    so = SubOrder.objects.get(pk=suborder_id)
    done = 0
    for variant_id, quantity, whole in lines:
        line = so.lines.filter(variant_id=variant_id).first()
        if line is None:
            continue
        active = StockReservation.objects.filter(owner=line.reservation_owner, status=StockReservation.Status.ACTIVE).exists()
        if active:
            if whole:
                done += stock_release(owners=[line.reservation_owner], reason=f"refunded {reference}"[:300], actor=actor)
        else:
            stock_return(variant_id=variant_id, warehouse_id=so.warehouse_id, quantity=quantity, actor=actor,
                         reason="refunded and restocked", reference=reference)
            done += quantity
    return done
