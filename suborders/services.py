"""Suborder writes (merchant schema): creation at checkout and every use case of the lifecycle.

Each use case is its own service (`suborder_accept`, `suborder_refuse_lines`, `suborder_cancel_lines`,
`suborder_lines_shipped`, `suborder_lines_delivered`, `suborder_confirm_receipt`, `suborder_complete`),
checks the actor's capability, changes line quantities under the suborder's row lock and calls the
one private transition function `_transition`, which derives the status from the lines, checks
states.TRANSITIONS, writes the SubOrderEvent (actor, time, from, to, lines, reason), publishes the
public mirror snapshot (core.readmodels, version-guarded) and emits the outbox events, all in the
caller's transaction. Refunds of refused or cancelled paid units happen in payments, from the
`suborder.lines_released` outbox event (exactly once by its idempotency key).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.services import ReserveLine, stock_release, stock_release_quantity, stock_reservations_keep, stock_reserve
from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from core.outbox import outbox_emit
from core.readmodels import read_model_publish, read_model_source
from core.tenancy import current_merchant, merchant_only
from orders.pricing import Shipment
from suborders.models import SubOrder, SubOrderEvent, SubOrderLine
from suborders.sql import CREATE_FOR_CHECKOUT_SQL, CREATE_IMPORTED_SQL, skus_of
from suborders.states import HOLDS_RESERVATION, REASONS, SubOrderStatus, can_transition


@merchant_only
def suborders_create_for_checkout(
    *, order, shipments: list[Shipment], shipping_method: str, shipping_address: dict,
    reservation_expires_at: datetime | None, actor=None,
) -> list[SubOrder]:
    """Create this merchant's suborders for `order` and reserve their stock, all or nothing.

    Two statements however many suborders and lines: CREATE_FOR_CHECKOUT_SQL writes suborders,
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
             "total_minor": s.total_minor, "skus": skus_of(ln.sku for ln in s.lines)}
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
            # Named per schema, like the stock reservation statement: PostgreSQL re-plans a prepared
            # statement whenever it runs under another search_path, so each merchant schema gets its own.
            cur.execute(f"/* {connection.schema_name} */{CREATE_FOR_CHECKOUT_SQL}", params)
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
                skus=skus_of(ln.sku for ln in s.lines),
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



@dataclass(frozen=True)
class ImportedSuborder:
    """One suborder of an imported order (orders.services.channel), before it is written."""

    order_id: int
    order_number: str
    email: str
    currency: str
    address: dict
    external_order_id: str
    shipment: Shipment
    shipping_method: str


@merchant_only
def suborders_create_imported(*, channel: str, suborders: list[ImportedSuborder],
                               actor=None) -> tuple[list[tuple[ImportedSuborder, int, str]], datetime]:
    """Create this merchant's suborders of a chunk of imported orders and reserve their stock, all or nothing.

    Two statements however many orders: CREATE_IMPORTED_SQL writes suborders (channel, external id,
    awaiting_acceptance with the merchant's acceptance deadline), lines and "imported" events;
    stock_reserve reserves every line without expiry (the order is paid on its channel, like a paid
    checkout order's reservations: shipping commits them, refusal or cancellation releases them).
    Then the same outbox events as a paid checkout suborder (suborder.awaiting_acceptance and
    suborder.changed, action "imported"), buffered by the caller's outbox batch. The public mirror
    rows are written by the caller (orders), as at checkout. Returns ([(suborder, id, number)], accept_by).
    """
    merchant = current_merchant()
    now = timezone.now()
    status = SubOrderStatus.AWAITING_ACCEPTANCE
    accept_by = now + timedelta(hours=merchant.acceptance_hours)
    counters: dict[str, int] = {}
    numbers, external_ids = [], []
    for so in suborders:
        k = counters[so.order_number] = counters.get(so.order_number, 0) + 1
        numbers.append(f"{so.order_number}-{merchant.slug[:6].upper()}{k}")
        # (channel, external id) is unique per suborder: an order split over two warehouses of this store
        # gives its second suborder "<external id>/2" (the first keeps the id: what the duplicate check reads)
        external_ids.append(so.external_order_id if k == 1 else f"{so.external_order_id[:95]}/{k}")
    flat = [(number, ln) for number, so in zip(numbers, suborders, strict=True) for ln in so.shipment.lines]
    params = {
        "suborders": json.dumps([
            {"i": i, "number": number, "order_id": so.order_id, "order_number": so.order_number, "email": so.email,
             "currency": so.currency, "warehouse_id": so.shipment.warehouse_id, "warehouse_name": so.shipment.warehouse_name,
             "warehouse_reason": so.shipment.reason[:300], "shipping_method": so.shipping_method[:120], "address": so.address,
             "subtotal_minor": so.shipment.subtotal_minor, "shipping_minor": so.shipment.shipping_minor,
             "discount_minor": so.shipment.discount_minor, "total_minor": so.shipment.total_minor,
             "skus": skus_of(ln.sku for ln in so.shipment.lines), "external_order_id": ext}
            for i, (number, so, ext) in enumerate(zip(numbers, suborders, external_ids, strict=True))
        ]),
        "lines": json.dumps([
            {"i": i, "number": number, "variant_id": ln.variant_id, "sku": ln.sku, "name": ln.name,
             "unit_price_minor": ln.unit_price_minor, "quantity": ln.quantity, "discount_minor": ln.discount_minor,
             "line_total_minor": ln.total_minor}
            for i, (number, ln) in enumerate(flat)
        ]),
        "status": status, "now": now, "accept_by": accept_by, "channel": channel, "actor_id": getattr(actor, "pk", None),
        "reason": f"imported from {channel}"[:300],
    }
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cur:
            cur.execute(f"/* {connection.schema_name} */{CREATE_IMPORTED_SQL}", params)
            rows = cur.fetchall()
        suborder_ids = {number: pk for kind, pk, number, _v in rows if kind == "suborder"}
        line_ids = {(number, variant_id): pk for kind, pk, number, variant_id in rows if kind == "line"}
        if len(suborder_ids) != len(numbers) or len(line_ids) != len(flat):
            raise Conflict(_("The suborders could not be written; nothing was changed."))
        warehouse_of = {number: so.shipment.warehouse_id for number, so in zip(numbers, suborders, strict=True)}
        stock_reserve(
            lines=[ReserveLine(variant_id=ln.variant_id, warehouse_id=warehouse_of[number], quantity=ln.quantity,
                               owner=f"suborder_line:{line_ids[(number, ln.variant_id)]}") for number, ln in flat],
            expires_at=None, actor=actor, reference=f"import {channel}"[:120], want_reservations=False,
        )
        for number, so, ext in zip(numbers, suborders, external_ids, strict=True):
            pk = suborder_ids[number]
            payload = {"number": number, "order_id": so.order_id, "merchant_id": merchant.pk, "from": "", "to": status,
                       "action": "imported", "lines": [], "reason": params["reason"], "version": 1,
                       "channel": channel, "external_order_id": ext}
            outbox_emit(topic=f"suborder.{status}", aggregate_type="suborder", aggregate_id=pk, payload=payload)
            outbox_emit(topic="suborder.changed", aggregate_type="suborder", aggregate_id=pk, payload=payload)
    return [(so, suborder_ids[number], number) for number, so in zip(numbers, suborders, strict=True)], accept_by

S = SubOrderStatus


# --- the one transition function ---------------------------------------------------------------------

def _snapshot(so: SubOrder, lines: list[SubOrderLine]) -> dict:
    merchant = current_merchant()
    shipped = sum(ln.unit_price_minor * ln.shipped_qty for ln in lines)
    return {"merchant_id": merchant.pk, "suborder_id": so.pk, "version": so.version, "status": so.status,
            "accept_by": so.accept_by, "ship_by": so.ship_by, "auto_receipt_at": so.auto_receipt_at,
            "complete_after": so.complete_after, "shipped_minor": shipped, "is_late": so.is_late, "updated_at": so.updated_at,
            "cancellation_due_at": so.cancellation_due_at}


@read_model_source("suborder")
def suborder_snapshots() -> list[dict]:
    """Every suborder of the current merchant as its mirror snapshot (reconcile)."""
    lines: dict[int, list] = {}
    for ln in SubOrderLine.objects.all():
        lines.setdefault(ln.suborder_id, []).append(ln)
    return [_snapshot(so, lines.get(so.pk, [])) for so in SubOrder.objects.all()]


def _derive(so: SubOrder, lines: list[SubOrderLine]) -> str:
    """The status the line quantities say, for the states decided by quantities."""
    if so.status in (S.PENDING_PAYMENT, S.COMPLETED, S.REFUSED, S.CANCELLED):
        return so.status
    undecided = sum(ln.undecided_qty for ln in lines)
    accepted = sum(ln.accepted_qty for ln in lines)
    shipped = sum(ln.shipped_qty for ln in lines)
    delivered = sum(ln.delivered_qty for ln in lines)
    if undecided == 0 and accepted == 0:
        refused = sum(ln.refused_qty for ln in lines)
        return S.REFUSED if refused and so.status == S.AWAITING_ACCEPTANCE else S.CANCELLED
    if so.status == S.AWAITING_ACCEPTANCE:
        return S.AWAITING_ACCEPTANCE if undecided else S.ACCEPTED
    if shipped == 0:
        return S.ACCEPTED
    if shipped < accepted:
        return S.PARTIALLY_SHIPPED
    return S.DELIVERED if delivered == accepted else S.SHIPPED


def _transition(*, so: SubOrder, lines: list[SubOrderLine], action: str, to: str | None = None, actor=None,
                changed: list[dict] | None = None, reason_code: str = "", reason: str = "", now=None) -> SubOrder:
    """The only code that assigns SubOrder.status. `so` is locked by the caller; `lines` are its lines
    after the caller's quantity changes (saved by the caller)."""
    now = now or timezone.now()
    current = so.status
    target = to or _derive(so, lines)
    if target != current and not can_transition(current, target):
        raise InvalidTransition(_("Suborder %(number)s cannot go from %(from)s to %(to)s.")
                                % {"number": so.number, "from": current, "to": target}, field="status",
                                details={"from": current, "to": target})
    so.status, so.updated_at, so.version = target, now, so.version + 1
    if target != current:
        stamp = {S.ACCEPTED: "accepted_at", S.SHIPPED: "shipped_at", S.PARTIALLY_SHIPPED: "shipped_at",
                 S.DELIVERED: "delivered_at", S.COMPLETED: "completed_at"}.get(target)
        if stamp and getattr(so, stamp) is None:
            setattr(so, stamp, now)
    so.save()
    SubOrderEvent.objects.create(suborder=so, action=action, from_status=current, to_status=target,
                                 actor_id=getattr(actor, "pk", None), lines=changed or [], reason_code=reason_code,
                                 reason=reason[:300], at=now)
    if target in (S.CANCELLED, S.REFUSED) and current in HOLDS_RESERVATION:
        stock_release(owners=[ln.reservation_owner for ln in lines], reason=f"suborder {target}: {reason}"[:300], actor=actor)
    read_model_publish("suborder", _snapshot(so, lines))
    if actor is not None:  # a person or an integration: the audit trail (system moves are in SubOrderEvent only)
        from permissions.services import audit_record

        audit_record(actor=actor, entity="suborder", entity_id=so.number, action=action,
                     before={"status": current}, after={"status": target, "lines": changed or [],
                                                        "reason": " ".join(filter(None, (reason_code, reason)))[:300]})
    payload = {"number": so.number, "order_id": so.order_id, "merchant_id": current_merchant().pk, "from": current,
               "to": target, "action": action, "lines": changed or [], "reason": reason[:300], "version": so.version}
    if target != current:
        outbox_emit(topic=f"suborder.{target}", aggregate_type="suborder", aggregate_id=so.pk, payload=payload)
    outbox_emit(topic="suborder.changed", aggregate_type="suborder", aggregate_id=so.pk, payload=payload)
    return so


def _lock(suborder_id: int) -> tuple[SubOrder, list[SubOrderLine]]:
    so = SubOrder.objects.select_for_update(of=("self",)).filter(pk=suborder_id).first()
    if so is None:
        raise NotFound(_("No such suborder in this store."), field="suborder")
    lines = list(SubOrderLine.objects.select_for_update().filter(suborder=so).order_by("pk"))
    return so, lines


def _authorize(actor, capability: str, system: bool) -> None:
    if system:
        return
    from permissions.policy import authorize

    authorize(actor, capability, merchant=current_merchant())


def _refuse_if_held(so: SubOrder) -> None:
    """A suborder held for review (suborders.holds) is neither accepted nor shipped until released."""
    if so.held_at is not None:
        from suborders.errors import SubOrderHeld

        raise SubOrderHeld(_("Suborder %(number)s is held for review (%(reason)s); release it first.")
                           % {"number": so.number, "reason": so.hold_reason or "—"}, field="status")


def _reason(code: str, text: str, *, required: bool) -> tuple[str, str]:
    code, text = (code or "").strip(), (text or "").strip()
    if required and code not in REASONS:
        raise ValidationFailed(_("Choose a reason from the list."), field="reason_code")
    if code and code not in REASONS:
        raise ValidationFailed(_("Unknown reason %(code)s.") % {"code": code}, field="reason_code")
    if len(text) > 300 or "\x00" in text:
        raise ValidationFailed(_("The reason must be at most 300 characters."), field="reason")
    if code == "other" and not text:
        raise ValidationFailed(_("Say why, in a few words."), field="reason")
    return code, text


def _pick(lines: list[SubOrderLine], wanted: list[tuple[int, int]] | None, available, *, verb: str) -> list[tuple[SubOrderLine, int]]:
    """Resolve (line_id, qty) requests against `available(line)`; None = everything available."""
    by_id = {ln.pk: ln for ln in lines}
    if wanted is None:
        return [(ln, available(ln)) for ln in lines if available(ln) > 0]
    picked, seen = [], set()
    for i, (line_id, qty) in enumerate(wanted):
        ln = by_id.get(line_id)
        if ln is None:
            raise NotFound(_("Line %(id)s is not part of this suborder.") % {"id": line_id}, field=f"lines[{i}].line_id")
        if line_id in seen:
            raise ValidationFailed(_("A line appears twice."), field=f"lines[{i}].line_id")
        seen.add(line_id)
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            raise ValidationFailed(_("The quantity must be a whole number of at least 1."), field=f"lines[{i}].quantity")
        if qty > available(ln):
            raise ValidationFailed(_("Only %(n)s × %(sku)s can be %(verb)s.") % {"n": available(ln), "sku": ln.sku, "verb": verb},
                                   field=f"lines[{i}].quantity")
        picked.append((ln, qty))
    if not picked:
        raise ValidationFailed(_("Choose at least one line."), field="lines")
    return picked


def _changed(picked) -> list[dict]:
    return [{"line": ln.pk, "sku": ln.sku, "variant_id": ln.variant_id, "quantity": q} for ln, q in picked]


def _save_lines(lines, fields):
    SubOrderLine.objects.bulk_update(lines, fields)


# --- use cases ---------------------------------------------------------------------------------------

@merchant_only
def suborders_release_after_payment(*, order_id: int, actor=None) -> list[SubOrder]:
    """The order is paid (captured, or authorized under the authorize-then-capture policy): this
    merchant's suborders move pending_payment -> awaiting_acceptance, with their acceptance deadline;
    their stock reservations stop expiring. Running it twice changes nothing."""
    merchant = current_merchant()
    moved = []
    with transaction.atomic():
        for pk in SubOrder.objects.filter(order_id=order_id, status=S.PENDING_PAYMENT).order_by("pk").values_list("pk", flat=True):
            so, lines = _lock(pk)
            if so.status != S.PENDING_PAYMENT:
                continue
            now = timezone.now()
            so.accept_by = now + timedelta(hours=merchant.acceptance_hours)
            stock_reservations_keep(owners=[ln.reservation_owner for ln in lines])
            moved.append(_transition(so=so, lines=lines, action="paid", to=S.AWAITING_ACCEPTANCE, actor=actor, reason="paid", now=now))
    return moved


@merchant_only
def suborder_accept(*, suborder_id: int, actor, system: bool = False, reason: str = "") -> SubOrder:
    """Accept every unit not yet decided (refuse some lines first with suborder_refuse_lines)."""
    _authorize(actor, "suborders.accept", system)
    with transaction.atomic():
        so, lines = _lock(suborder_id)
        if so.status != S.AWAITING_ACCEPTANCE:
            raise InvalidTransition(_("Suborder %(number)s is %(status)s; only a suborder awaiting acceptance can be accepted.")
                                    % {"number": so.number, "status": so.get_status_display()}, field="status")
        _refuse_if_held(so)
        picked = [(ln, ln.undecided_qty) for ln in lines if ln.undecided_qty]
        for ln, q in picked:
            ln.accepted_qty += q
        _save_lines(lines, ["accepted_qty"])
        now = timezone.now()
        so.ship_by = now + timedelta(hours=current_merchant().shipping_hours)
        so.accept_by = None
        return _transition(so=so, lines=lines, action="accepted", actor=actor, changed=_changed(picked), reason=reason, now=now)


@merchant_only
def suborder_refuse_lines(*, suborder_id: int, actor, lines: list[tuple[int, int]] | None = None, reason_code: str,
                          reason: str = "", system: bool = False) -> SubOrder:
    """Refuse some units (or, with lines=None, all undecided ones). Refusing everything refuses the
    suborder. Refused units release their stock; paid ones are refunded (payments, via the outbox)."""
    _authorize(actor, "suborders.refuse", system)
    code, text = _reason(reason_code, reason, required=True)
    with transaction.atomic():
        so, all_lines = _lock(suborder_id)
        if so.status != S.AWAITING_ACCEPTANCE:
            raise InvalidTransition(_("Suborder %(number)s is %(status)s; only a suborder awaiting acceptance can be refused.")
                                    % {"number": so.number, "status": so.get_status_display()}, field="status")
        picked = _pick(all_lines, lines, lambda ln: ln.undecided_qty, verb=_("refused"))
        for ln, q in picked:
            ln.refused_qty += q
        _save_lines(all_lines, ["refused_qty"])
        return _release_units(so, all_lines, picked, action="lines_refused", actor=actor, code=code, text=text)


@merchant_only
def suborder_cancel_lines(*, suborder_id: int, actor, lines: list[tuple[int, int]] | None = None, reason_code: str,
                          reason: str = "", system: bool = False) -> SubOrder:
    """Cancel units not yet shipped (undecided first, then accepted). Cancelling all that is left
    cancels the suborder. Released stock; paid units refunded (payments, via the outbox)."""
    _authorize(actor, "suborders.refuse", system)
    code, text = _reason(reason_code, reason, required=True)
    with transaction.atomic():
        so, all_lines = _lock(suborder_id)
        if so.status not in (S.AWAITING_ACCEPTANCE, S.ACCEPTED, S.PARTIALLY_SHIPPED):
            raise InvalidTransition(_("Suborder %(number)s is %(status)s; nothing of it can be cancelled.")
                                    % {"number": so.number, "status": so.get_status_display()}, field="status")
        picked = _pick(all_lines, lines, lambda ln: ln.undecided_qty + ln.to_ship_qty, verb=_("cancelled"))
        for ln, q in picked:
            from_accepted = max(0, q - ln.undecided_qty)
            ln.accepted_qty -= from_accepted
            ln.cancelled_qty += q
        _save_lines(all_lines, ["accepted_qty", "cancelled_qty"])
        return _release_units(so, all_lines, picked, action="lines_cancelled", actor=actor, code=code, text=text)


def _release_units(so, lines, picked, *, action, actor, code, text):
    target = _derive(so, lines)
    if target not in (S.CANCELLED, S.REFUSED):  # a whole-suborder end releases everything in _transition
        for ln, q in picked:
            stock_release_quantity(owner=ln.reservation_owner, quantity=q, reason=f"{action}: {code}"[:300], actor=actor)
    return _transition(so=so, lines=lines, action=action, actor=actor, changed=_changed(picked), reason_code=code,
                       reason=text or str(REASONS.get(code, code)))


@merchant_only
def suborder_lines_shipped(*, suborder_id: int, shipped: list[tuple[int, int]], actor, shipment_ref: str) -> SubOrder:
    """A shipment left with these (line_id, qty): commits the stock, moves the suborder. Called by
    fulfillment.services.shipment_create, inside its transaction, after it checked the capability."""
    so, lines = _lock(suborder_id)
    if so.status not in (S.ACCEPTED, S.PARTIALLY_SHIPPED):
        raise InvalidTransition(_("Suborder %(number)s is %(status)s; it cannot be shipped.")
                                % {"number": so.number, "status": so.get_status_display()}, field="status")
    _refuse_if_held(so)
    picked = _pick(lines, shipped, lambda ln: ln.to_ship_qty, verb=_("shipped"))
    for ln, q in picked:
        from catalog.services import stock_commit_shipment

        stock_commit_shipment(owner=ln.reservation_owner, quantity=q, actor=actor, reference=shipment_ref)
        ln.shipped_qty += q
    _save_lines(lines, ["shipped_qty"])
    now = timezone.now()
    so.auto_receipt_at = now + timedelta(days=current_merchant().auto_receipt_days)
    if sum(ln.to_ship_qty for ln in lines) == 0:
        so.ship_by = None
    return _transition(so=so, lines=lines, action="shipped", actor=actor, changed=_changed(picked), reason=shipment_ref, now=now)


@merchant_only
def suborder_lines_delivered(*, suborder_id: int, delivered: list[tuple[int, int]], actor=None, reason: str = "") -> SubOrder:
    """A shipment was delivered (carrier event, manual, shopper's receipt or the auto-receipt sweep)."""
    so, lines = _lock(suborder_id)
    if so.status not in (S.PARTIALLY_SHIPPED, S.SHIPPED):
        return so
    by_id = {ln.pk: ln for ln in lines}
    changed = []
    for line_id, q in delivered:
        ln = by_id[line_id]
        q = min(q, ln.shipped_qty - ln.delivered_qty)
        if q > 0:
            ln.delivered_qty += q
            changed.append((ln, q))
    if not changed:
        return so
    _save_lines(lines, ["delivered_qty"])
    now = timezone.now()
    if _derive(so, lines) == S.DELIVERED:
        so.complete_after = now + timedelta(days=current_merchant().return_window_days)
        so.auto_receipt_at = None
    return _transition(so=so, lines=lines, action="delivered", actor=actor, changed=_changed(changed), reason=reason, now=now)


@merchant_only
def suborder_complete(*, suborder_id: int, actor=None, now=None, system: bool = True) -> SubOrder | None:
    """Complete a delivered suborder once its return window has closed (the sweep), idempotently."""
    now = now or timezone.now()
    with transaction.atomic():
        so, lines = _lock(suborder_id)
        if so.status != S.DELIVERED or so.complete_after is None or so.complete_after > now:
            return None
        from returns.selectors import suborder_has_open_return

        if suborder_has_open_return(suborder_id=so.pk):  # the window stays open while a return is open
            return None
        so.complete_after = None
        return _transition(so=so, lines=lines, action="completed", to=S.COMPLETED, actor=actor, reason="return window closed", now=now)


@merchant_only
def suborder_mark_late(*, suborder_id: int, now=None) -> SubOrder | None:
    """The shipping deadline passed with units still to ship: flag it (once); the merchant is reminded."""
    now = now or timezone.now()
    with transaction.atomic():
        so, lines = _lock(suborder_id)
        if so.is_late or so.status not in (S.ACCEPTED, S.PARTIALLY_SHIPPED) or so.ship_by is None or so.ship_by > now:
            return None
        so.is_late = True
        return _transition(so=so, lines=lines, action="late", actor=None, reason="shipping deadline passed", now=now)


@merchant_only
def suborder_acceptance_lapsed(*, suborder_id: int, now=None) -> SubOrder | None:
    """The acceptance deadline passed: accept or refuse (and refund) per the merchant's policy, once."""
    now = now or timezone.now()
    so = SubOrder.objects.filter(pk=suborder_id).only("status", "accept_by").first()
    if so is None or so.status != S.AWAITING_ACCEPTANCE or so.accept_by is None or so.accept_by > now:
        return None
    with transaction.atomic():
        so, _lines = _lock(suborder_id)
        if so.status != S.AWAITING_ACCEPTANCE or so.accept_by is None or so.accept_by > now:
            return None
        if current_merchant().auto_accept and so.held_at is None:  # a held suborder is never accepted unseen
            return suborder_accept(suborder_id=suborder_id, actor=None, system=True, reason="accepted automatically at the deadline")
        return suborder_refuse_lines(suborder_id=suborder_id, actor=None, system=True, reason_code="not_accepted_in_time")


@merchant_only
def suborders_cancel_for_order(*, order_id: int, reason: str, actor=None) -> list[SubOrder]:
    """Cancel every open suborder of an unpaid checkout order in this schema (unpaid expiry)."""
    cancelled = []
    with transaction.atomic():
        for pk in SubOrder.objects.filter(order_id=order_id).order_by("pk").values_list("pk", flat=True):
            so, lines = _lock(pk)
            if can_transition(so.status, S.CANCELLED) and so.status == S.PENDING_PAYMENT:
                for ln in lines:
                    ln.cancelled_qty = ln.quantity - ln.accepted_qty - ln.refused_qty
                _save_lines(lines, ["cancelled_qty"])
                cancelled.append(_transition(so=so, lines=lines, action="cancelled", to=S.CANCELLED, actor=actor, reason=reason))
    return cancelled


@merchant_only
def suborder_restock_refunded(*, suborder_id: int, lines: list[tuple[int, int, bool]], actor=None, reference: str = "") -> int:
    """Put refunded units back on the shelf when they had shipped: `lines` are (variant_id, quantity,
    whole_line_refunded). Units still only reserved are released by refusal/cancellation, not here
    (a refund of unshipped units without cancelling them leaves them to ship). Returns units restocked."""
    from catalog.services import stock_return

    so = SubOrder.objects.get(pk=suborder_id)
    done = 0
    for variant_id, quantity, _whole in lines:
        line = so.lines.filter(variant_id=variant_id).first()
        if line is None or line.shipped_qty == 0:
            continue
        q = min(quantity, line.shipped_qty)
        stock_return(variant_id=variant_id, warehouse_id=so.warehouse_id, quantity=q, actor=actor,
                     reason="refunded and restocked", reference=reference)
        done += q
    return done
