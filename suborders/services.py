"""Suborder writes (merchant schema): creation at checkout, the one transition function, cancellation.

Every status change goes through `suborder_transition`, which checks states.TRANSITIONS,
writes the SubOrderEvent row, refreshes the public mirror and emits the outbox event in
the caller's transaction.
"""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog.services import ReserveLine, stock_release, stock_reserve
from core.errors import InvalidTransition
from core.outbox import outbox_emit
from core.tenancy import current_merchant, in_public_schema, merchant_only
from orders.pricing import Shipment
from suborders.models import SubOrder, SubOrderEvent, SubOrderLine
from suborders.states import HOLDS_RESERVATION, SubOrderStatus, can_transition


@merchant_only
def suborders_create_for_checkout(
    *, order, shipments: list[Shipment], shipping_method: str, shipping_address: dict,
    reservation_expires_at: datetime | None, actor=None,
) -> list[SubOrder]:
    """Create this merchant's suborders for `order` and reserve their stock, all or nothing.

    One INSERT per table for all shipments, then one reservation call for every line:
    a constant number of statements however many lines the merchant has.
    """
    merchant = current_merchant()
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        suborders = SubOrder.objects.bulk_create([
            SubOrder(
                number=f"{order.number}-{merchant.slug[:6].upper()}{i + 1}",
                order_id=order.pk, order_number=order.number, shopper_email=order.email,
                status=SubOrderStatus.PENDING_PAYMENT, currency=order.currency,
                warehouse_id=s.warehouse_id, warehouse_name=s.warehouse_name, warehouse_reason=s.reason[:300],
                shipping_method=shipping_method, shipping_address=shipping_address,
                subtotal_minor=s.subtotal_minor, shipping_minor=s.shipping_minor,
                discount_minor=s.discount_minor, platform_discount_minor=s.platform_discount_minor,
                total_minor=s.total_minor, created_at=now, updated_at=now,
            )
            for i, s in enumerate(shipments)
        ])
        lines = SubOrderLine.objects.bulk_create([
            SubOrderLine(
                suborder=so, variant_id=ln.variant_id, sku=ln.sku, name=ln.name,
                unit_price_minor=ln.unit_price_minor, quantity=ln.quantity,
                discount_minor=ln.discount_minor, line_total_minor=ln.total_minor,
            )
            for so, s in zip(suborders, shipments, strict=True)
            for ln in s.lines
        ])
        SubOrderEvent.objects.bulk_create([
            SubOrderEvent(suborder=so, from_status="", to_status=so.status, actor_id=getattr(actor, "pk", None),
                          reason="checkout", at=now)
            for so in suborders
        ])
        warehouse_of = {so.pk: so.warehouse_id for so in suborders}
        stock_reserve(
            lines=[ReserveLine(variant_id=ln.variant_id, warehouse_id=warehouse_of[ln.suborder_id],
                               quantity=ln.quantity, owner=ln.reservation_owner) for ln in lines],
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
