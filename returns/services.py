"""Return writes (merchant schema): the policy, a shopper's request, the store's decision, the parcel back,
receipt and inspection (restock or write-off through catalog's stock services), the refund (through the
payments service) and the replacement of an exchange.

Each use case locks the return (after its suborder, when it needs the suborder: suborder first, then
return), checks the actor's capability and calls the one transition function `_transition`, which checks
returns.states, assigns the status, writes the ReturnEvent, keeps the public due index current and emits
the outbox event, all in the caller's transaction.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from core.inputs import clean_text
from core.outbox import outbox_emit
from core.tenancy import current_merchant, in_public_schema, merchant_only
from returns.models import ReturnEvent, ReturnLine, ReturnPhoto, ReturnPolicy, ReturnRequest
from returns.states import DEADLINES, REASONS, TERMINAL, Inspection, ReturnKind, ReturnStatus, can_transition

S = ReturnStatus
K = ReturnKind

# The operator's defaults, used until a store saves its own policy (settings.MALLARD_RETURN_POLICY overrides).
DEFAULT_POLICY = {"window_days": 7, "no_approval_reasons": ["no_reason_7d"], "return_shipping_payer": "shopper",
                  "refund_requires_receipt": True, "answer_days": 2, "ship_days": 7}
MAX_PHOTOS = 5
MAX_PHOTO_BYTES = 2 * 1024 * 1024
PHOTO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Policy:
    window_days: int
    no_approval_reasons: tuple[str, ...]
    return_shipping_payer: str
    refund_requires_receipt: bool
    answer_days: int
    ship_days: int
    is_default: bool = False


def _defaults() -> dict:
    return {**DEFAULT_POLICY, **getattr(settings, "MALLARD_RETURN_POLICY", {})}


@merchant_only
def return_policy_get() -> Policy:
    row = ReturnPolicy.objects.filter(pk=1).first()
    if row is None:
        d = _defaults()
        window = current_merchant().return_window_days or d["window_days"]
        return Policy(window_days=window, no_approval_reasons=tuple(d["no_approval_reasons"]),
                      return_shipping_payer=d["return_shipping_payer"], refund_requires_receipt=d["refund_requires_receipt"],
                      answer_days=d["answer_days"], ship_days=d["ship_days"], is_default=True)
    return Policy(window_days=row.window_days, no_approval_reasons=tuple(row.no_approval_reasons),
                  return_shipping_payer=row.return_shipping_payer, refund_requires_receipt=row.refund_requires_receipt,
                  answer_days=row.answer_days, ship_days=row.ship_days)


def _days(value, field: str, maximum: int = 365, minimum: int = 0) -> int:
    from core.inputs import parse_int

    return parse_int(value, field=field, minimum=minimum, maximum=maximum)


@merchant_only
def return_policy_update(*, actor, window_days, no_approval_reasons, return_shipping_payer: str,
                         refund_requires_receipt: bool, answer_days, ship_days) -> ReturnPolicy:
    """Owner or manager set the store's policy. The window is also the suborder's auto-complete window
    (Merchant.return_window_days), so a delivered suborder never completes while it may still be returned."""
    from permissions.policy import authorize

    merchant = current_merchant()
    authorize(actor, "returns.policy", merchant=merchant)
    window = _days(window_days, "window_days", minimum=0, maximum=90)
    answer = _days(answer_days, "answer_days", minimum=1, maximum=30)
    ship = _days(ship_days, "ship_days", minimum=1, maximum=60)
    reasons = list(no_approval_reasons or [])
    for i, code in enumerate(reasons):
        if code not in REASONS:
            raise ValidationFailed(_("Unknown reason %(code)s.") % {"code": str(code)[:40]}, field=f"no_approval_reasons[{i}]")
    if return_shipping_payer not in ReturnPolicy.Payer.values:
        raise ValidationFailed(_("Choose who pays the return shipping."), field="return_shipping_payer")
    if not isinstance(refund_requires_receipt, bool):
        raise ValidationFailed(_("Must be true or false."), field="refund_requires_receipt")
    before = return_policy_get()
    with transaction.atomic():
        row, _created = ReturnPolicy.objects.update_or_create(pk=1, defaults={
            "window_days": window, "no_approval_reasons": sorted(set(reasons)), "return_shipping_payer": return_shipping_payer,
            "refund_requires_receipt": refund_requires_receipt, "answer_days": answer, "ship_days": ship,
            "updated_at": timezone.now(), "updated_by": actor})
        if merchant.return_window_days != window:
            from tenants.models import Merchant

            Merchant.objects.filter(pk=merchant.pk).update(return_window_days=window)
            merchant.return_window_days = window
        from permissions.services import audit_record

        audit_record(actor=actor, entity="return_policy", entity_id=merchant.slug, action="update",
                     before=before.__dict__, after={"window_days": window, "no_approval_reasons": sorted(set(reasons)),
                                                    "return_shipping_payer": return_shipping_payer,
                                                    "refund_requires_receipt": refund_requires_receipt,
                                                    "answer_days": answer, "ship_days": ship})
    return row


# --- the one transition function ---------------------------------------------------------------------

def _lines_payload(ret: ReturnRequest) -> list[dict]:
    return [{"line_id": rl.line_id, "sku": rl.line.sku, "quantity": rl.quantity, "accepted_qty": rl.accepted_qty}
            for rl in ret.lines.select_related("line")]


def _due_index_write(ret: ReturnRequest) -> None:
    """Keep this return's row of the public due index (returns.due_index) equal to its current deadline."""
    from returns.due_index.models import ReturnDue

    merchant = current_merchant()
    deadline = DEADLINES.get(ret.status)
    due_at = getattr(ret, deadline[0]) if deadline else None
    if due_at is None:
        ReturnDue.objects.filter(merchant_id=merchant.pk, return_id=ret.pk).delete()
        return
    ReturnDue.objects.update_or_create(merchant_id=merchant.pk, return_id=ret.pk,
                                       defaults={"kind": deadline[1], "due_at": due_at})


def _transition(*, ret: ReturnRequest, to: str, action: str, actor=None, reason: str = "", details: dict | None = None,
                now=None, created: bool = False) -> ReturnRequest:
    """The only code that assigns ReturnRequest.status. `ret` is locked (or new) in the caller's transaction.
    `to` equal to the current status records an event without a move (a refund issued before receipt)."""
    now = now or timezone.now()
    current = "" if created else ret.status
    if current and to != current and not can_transition(ret.kind, current, to):
        raise InvalidTransition(_("Return %(number)s cannot go from %(from)s to %(to)s.")
                                % {"number": ret.number, "from": current, "to": to}, field="status",
                                details={"from": current, "to": to})
    if to != current:
        if to == S.AWAITING_RETURN_SHIPMENT:
            ret.ship_by = now + timedelta(days=return_policy_get().ship_days)
        if current == S.REQUESTED:
            ret.answer_by = None
        if current == S.AWAITING_RETURN_SHIPMENT:
            ret.ship_by = None
    ret.status, ret.updated_at = to, now
    if current:
        ret.version += 1
    ret.save()
    ReturnEvent.objects.create(request=ret, action=action, from_status=current, to_status=to,
                               actor_id=getattr(actor, "pk", None), reason=reason[:300], details=details or {}, at=now)
    _due_index_write(ret)
    if actor is not None and getattr(actor, "pk", None):
        from permissions.services import audit_record

        audit_record(actor=actor, entity="return", entity_id=ret.number, action=action,
                     before={"status": current}, after={"status": to, "reason": reason[:300]})
    outbox_emit(topic="return.changed", aggregate_type="return", aggregate_id=ret.pk, payload={
        "number": ret.number, "suborder_id": ret.suborder_id, "suborder_number": ret.suborder.number,
        "order_id": ret.order_id, "merchant_id": current_merchant().pk, "kind": ret.kind, "from": current, "to": to,
        "action": action, "lines": _lines_payload(ret), "reason": reason[:300], "refund_minor": ret.refund_minor,
        "version": ret.version})
    return ret


def _lock(return_id: int) -> ReturnRequest:
    ret = ReturnRequest.objects.select_for_update(of=("self",)).select_related("suborder").filter(pk=return_id).first()
    if ret is None:
        raise NotFound(_("No such return in this store."), field="return")
    return ret


def _authorize(actor, capability: str, system: bool = False) -> None:
    if system:
        return
    from permissions.policy import authorize

    authorize(actor, capability, merchant=current_merchant())


def _not_status(ret: ReturnRequest, verb: str) -> InvalidTransition:
    return InvalidTransition(_("Return %(number)s is %(status)s; it cannot be %(verb)s.")
                             % {"number": ret.number, "status": ret.get_status_display(), "verb": verb}, field="status",
                             code="return_already_decided" if ret.status != S.REQUESTED and verb in (_("approved"), _("refused"))
                             else "invalid_transition")


# --- photos ---------------------------------------------------------------------------------------------

def photo_check(data: bytes, *, field: str) -> str:
    """A photo of at most 2 MB that Pillow decodes as PNG, JPEG or WebP (by its content, not its name)."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise ValidationFailed(_("The photo is empty."), field=field)
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed(_("A photo must be at most %(mb)s MB.") % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)}, field=field)
    from PIL import Image

    try:
        with Image.open(io.BytesIO(bytes(data))) as img:
            fmt = img.format
            img.verify()
    except Exception:
        fmt = None
    if fmt not in PHOTO_TYPES:
        raise ValidationFailed(_("A photo must be a PNG, JPEG or WebP image."), field=field)
    return PHOTO_TYPES[fmt]


# --- the shopper's request ------------------------------------------------------------------------------

def _claimed(line_ids: list[int], exclude_request: int | None = None) -> dict[int, int]:
    """Units of each suborder line held or settled by returns: open requests hold what they ask for,
    finished ones what was accepted (0 for refused or closed without goods)."""
    qs = ReturnLine.objects.filter(line_id__in=line_ids)
    if exclude_request is not None:
        qs = qs.exclude(request_id=exclude_request)
    return {row["line_id"]: row["q"] or 0 for row in
            qs.values("line_id").annotate(q=Sum(Coalesce(F("accepted_qty"), F("quantity"))))}


@merchant_only
def return_request_create(*, suborder_id: int, shopper_email: str, kind: str, lines: list[tuple[int, int]],
                          reason_code: str, reason: str = "", photos: list[bytes] | None = None, actor=None,
                          now=None) -> ReturnRequest:
    """A shopper asks to return, exchange or be refunded (仅退款) for some delivered units of a suborder,
    within the store's window. A reason the policy lists as needing no approval approves it at once."""
    from suborders.models import SubOrder, SubOrderLine
    from suborders.states import SubOrderStatus

    now = now or timezone.now()
    if kind not in K.values:
        raise ValidationFailed(_("Choose return, exchange or refund only."), field="kind")
    if reason_code not in REASONS:
        raise ValidationFailed(_("Choose a reason from the list."), field="reason_code")
    text = clean_text(reason, field="reason", max_length=500)
    if reason_code == "other" and not text:
        raise ValidationFailed(_("Say why, in a few words."), field="reason")
    photos = list(photos or [])
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed(_("At most %(n)s photos.") % {"n": MAX_PHOTOS}, field="photos")
    checked = [(photo_check(p, field=f"photos[{i}]"), bytes(p)) for i, p in enumerate(photos)]
    if not isinstance(lines, list) or not lines:
        raise ValidationFailed(_("Choose at least one line."), field="lines")
    policy = return_policy_get()
    with transaction.atomic():
        so = SubOrder.objects.select_for_update(of=("self",)).filter(pk=suborder_id).first()
        if so is None or so.shopper_email.lower() != (shopper_email or "").lower():
            raise NotFound(_("No such parcel."), field="suborder")
        if so.status != SubOrderStatus.DELIVERED or so.delivered_at is None:
            raise Conflict(_("Only a delivered parcel can be returned."), field="suborder", code="not_delivered")
        closes = so.delivered_at + timedelta(days=policy.window_days)
        if now > closes:
            raise Conflict(_("The return window of %(days)s days closed on %(date)s.")
                           % {"days": policy.window_days, "date": timezone.localtime(closes).strftime("%Y-%m-%d")},
                           field="suborder", code="return_window_closed")
        by_id = {ln.pk: ln for ln in SubOrderLine.objects.filter(suborder=so)}
        claimed = _claimed(list(by_id))
        picked, seen = [], set()
        for i, pair in enumerate(lines):
            line_id, qty = pair
            ln = by_id.get(line_id)
            if ln is None:
                raise NotFound(_("Line %(id)s is not part of this parcel.") % {"id": line_id}, field=f"lines[{i}].line_id")
            if line_id in seen:
                raise ValidationFailed(_("A line appears twice."), field=f"lines[{i}].line_id")
            seen.add(line_id)
            if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
                raise ValidationFailed(_("The quantity must be a whole number of at least 1."), field=f"lines[{i}].quantity")
            left = ln.delivered_qty - claimed.get(ln.pk, 0)
            if qty > left:
                raise ValidationFailed(_("Only %(n)s × %(sku)s can still be returned.") % {"n": max(left, 0), "sku": ln.sku},
                                       field=f"lines[{i}].quantity", code="over_return")
            picked.append((ln, qty))
        n = ReturnRequest.objects.filter(suborder=so).count() + 1
        ret = ReturnRequest(number=f"{so.number}-R{n}", suborder=so, order_id=so.order_id, shopper_email=so.shopper_email,
                            kind=kind, reason_code=reason_code, reason=text, return_shipping_payer=policy.return_shipping_payer,
                            answer_by=now + timedelta(days=policy.answer_days), created_at=now, updated_at=now)
        ret.save()
        ReturnLine.objects.bulk_create([ReturnLine(request=ret, line=ln, quantity=q) for ln, q in picked])
        ReturnPhoto.objects.bulk_create([ReturnPhoto(request=ret, content_type=ct, data=data, size=len(data)) for ct, data in checked])
        _transition(ret=ret, to=S.REQUESTED, action="requested", actor=actor, reason=text or str(REASONS[reason_code]),
                    now=now, created=True)
        if kind != K.REFUND_ONLY and reason_code in policy.no_approval_reasons:
            _approve(ret, actor=None, action="auto_approved", reason=str(REASONS[reason_code]), now=now)
    return ret


def _approve(ret: ReturnRequest, *, actor, action: str, reason: str, now=None) -> ReturnRequest:
    _transition(ret=ret, to=S.APPROVED, action=action, actor=actor, reason=reason, now=now)
    if ret.kind != K.REFUND_ONLY:
        _transition(ret=ret, to=S.AWAITING_RETURN_SHIPMENT, action="awaiting_shipment", actor=actor, now=now)
    return ret


@merchant_only
def return_approve(*, return_id: int, actor, reason: str = "") -> ReturnRequest:
    """The store approves (a return or exchange then waits for the shopper's parcel)."""
    _authorize(actor, "returns.decide")
    text = clean_text(reason, field="reason", max_length=300)
    with transaction.atomic():
        ret = _lock(return_id)
        if ret.status != S.REQUESTED:
            raise _not_status(ret, _("approved"))
        ret.decision_reason = text
        return _approve(ret, actor=actor, action="approved", reason=text)


@merchant_only
def return_refuse(*, return_id: int, actor, reason: str) -> ReturnRequest:
    """The store refuses, saying why; the units it held can be asked for again (within the window)."""
    _authorize(actor, "returns.decide")
    text = clean_text(reason, field="reason", max_length=300, required=True)
    with transaction.atomic():
        ret = _lock(return_id)
        if ret.status != S.REQUESTED:
            raise _not_status(ret, _("refused"))
        ret.decision_reason = text
        ret.lines.update(accepted_qty=0)
        return _transition(ret=ret, to=S.REFUSED, action="refused", actor=actor, reason=text)


@merchant_only
def return_mark_shipped(*, return_id: int, shopper_email: str, carrier: str, tracking_number: str, actor=None) -> ReturnRequest:
    """The shopper sent the parcel back."""
    carrier = clean_text(carrier, field="carrier", max_length=60, required=True)
    tracking = clean_text(tracking_number, field="tracking_number", max_length=60, required=True)
    with transaction.atomic():
        ret = _lock(return_id)
        if ret.shopper_email.lower() != (shopper_email or "").lower():
            raise NotFound(_("No such return."), field="return")
        if ret.status != S.AWAITING_RETURN_SHIPMENT:
            raise _not_status(ret, _("shipped back"))
        ret.return_carrier, ret.return_tracking = carrier, tracking
        return _transition(ret=ret, to=S.IN_TRANSIT, action="shipped_back", actor=actor, reason=f"{carrier} {tracking}")


@merchant_only
def return_receive(*, return_id: int, actor) -> ReturnRequest:
    """The warehouse has the parcel (a parcel that came without a tracking number first counts as sent)."""
    _authorize(actor, "returns.receive")
    with transaction.atomic():
        ret = _lock(return_id)
        if ret.status == S.AWAITING_RETURN_SHIPMENT:
            _transition(ret=ret, to=S.IN_TRANSIT, action="shipped_back", actor=actor, reason="arrived without tracking")
        elif ret.status != S.IN_TRANSIT:
            raise _not_status(ret, _("received"))
        return _transition(ret=ret, to=S.RECEIVED, action="received", actor=actor)


@dataclass(frozen=True)
class InspectLine:
    return_line_id: int
    restock_qty: int  # accepted units put back on the shelf of `warehouse_id`
    write_off_qty: int = 0  # accepted units written off as damaged
    warehouse_id: int | None = None


@merchant_only
def return_inspect(*, return_id: int, actor, lines: list[InspectLine], note: str = "") -> ReturnRequest:
    """Inspection: per line, units accepted back (restocked to a warehouse or written off as damaged, both in
    the stock journal); the rest is rejected (sent back to the shopper). Accepted units count in the
    suborder line's returned_qty. An exchange reserves its replacement now; nothing accepted closes it."""
    from catalog.models import Warehouse
    from catalog.services import ReserveLine, stock_adjust, stock_reserve, stock_return
    from suborders.models import SubOrderLine

    _authorize(actor, "returns.receive")
    note = clean_text(note, field="note", max_length=300)
    with transaction.atomic():
        ret = _lock(return_id)
        if ret.status != S.RECEIVED:
            raise _not_status(ret, _("inspected"))
        rlines = {rl.pk: rl for rl in ret.lines.select_related("line")}
        given = {}
        for i, il in enumerate(lines or []):
            rl = rlines.get(il.return_line_id)
            if rl is None:
                raise NotFound(_("Line %(id)s is not part of this return.") % {"id": il.return_line_id}, field=f"lines[{i}].return_line_id")
            if rl.pk in given:
                raise ValidationFailed(_("A line appears twice."), field=f"lines[{i}].return_line_id")
            for name in ("restock_qty", "write_off_qty"):
                v = getattr(il, name)
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise ValidationFailed(_("Must be a whole number, 0 or more."), field=f"lines[{i}].{name}")
            if il.restock_qty + il.write_off_qty > rl.quantity:
                raise ValidationFailed(_("Only %(n)s × %(sku)s came back.") % {"n": rl.quantity, "sku": rl.line.sku},
                                       field=f"lines[{i}].restock_qty", code="over_return")
            if il.restock_qty and (il.warehouse_id is None or not Warehouse.objects.filter(pk=il.warehouse_id).exists()):
                raise ValidationFailed(_("Choose the warehouse to restock to."), field=f"lines[{i}].warehouse_id")
            given[rl.pk] = (i, il)
        so_lines = {ln.pk: ln for ln in SubOrderLine.objects.select_for_update().filter(pk__in=[rl.line_id for rl in rlines.values()]).order_by("pk")}
        accepted_total = requested_total = 0
        reserve = []
        for rl in rlines.values():
            _i, il = given.get(rl.pk, (None, InspectLine(rl.pk, 0, 0)))
            accepted = il.restock_qty + il.write_off_qty
            ref = f"return {ret.number}"
            if il.restock_qty:
                stock_return(variant_id=rl.line.variant_id, warehouse_id=il.warehouse_id, quantity=il.restock_qty, actor=actor,
                             reason=f"returned: {ret.number}", reference=ref)
            if il.write_off_qty:
                wh = il.warehouse_id or ret.suborder.warehouse_id
                stock_return(variant_id=rl.line.variant_id, warehouse_id=wh, quantity=il.write_off_qty, actor=actor,
                             reason=f"returned damaged: {ret.number}", reference=ref)
                stock_adjust(variant_id=rl.line.variant_id, warehouse_id=wh, delta=-il.write_off_qty, actor=actor,
                             reason=f"written off (damaged return {ret.number})", reference=ref)
            rl.accepted_qty, rl.restocked_qty, rl.written_off_qty = accepted, il.restock_qty, il.write_off_qty
            rl.restock_warehouse_id = il.warehouse_id
            rl.save(update_fields=["accepted_qty", "restocked_qty", "written_off_qty", "restock_warehouse_id"])
            if accepted:
                ln = so_lines[rl.line_id]
                ln.returned_qty += accepted  # CHECK returned_qty <= delivered_qty guards it in the database too
                ln.save(update_fields=["returned_qty"])
                if ret.kind == K.EXCHANGE:
                    reserve.append(ReserveLine(variant_id=rl.line.variant_id, warehouse_id=ret.suborder.warehouse_id,
                                               quantity=accepted, owner=f"return_line:{rl.pk}"))
            accepted_total += accepted
            requested_total += rl.quantity
        ret.inspection = (Inspection.REJECTED if accepted_total == 0 else
                          Inspection.ACCEPTED if accepted_total == requested_total else Inspection.PARTIALLY_ACCEPTED)
        if reserve:
            stock_reserve(lines=reserve, expires_at=None, actor=actor, reference=f"exchange {ret.number}")
        _transition(ret=ret, to=S.INSPECTED, action="inspected", actor=actor, reason=note or ret.get_inspection_display(),
                    details={"inspection": ret.inspection})
        if accepted_total == 0:
            return _transition(ret=ret, to=S.CLOSED, action="closed", actor=actor, reason=_("Nothing was accepted back."))
        if ret.kind == K.RETURN and ret.refund_id is not None:  # refunded before receipt (the policy allowed it)
            return _transition(ret=ret, to=S.REFUNDED, action="refunded", actor=actor, reason=_("Refunded before receipt."))
        return ret


@merchant_only
def return_refund(*, return_id: int, actor, reason: str = "") -> ReturnRequest:
    """Finance refunds through payments (refund_for_suborder_lines: never more than was paid per line).
    A return is refunded for the units accepted at inspection, or, when the policy does not require receipt,
    for the units asked once the store approved; a refund-only request for its units once approved."""
    from payments.services.refunds import refund_for_suborder_lines

    _authorize(actor, "refunds.create")
    text = clean_text(reason, field="reason", max_length=300)
    merchant = current_merchant()
    with transaction.atomic():
        ret = _lock(return_id)
        if ret.kind == K.EXCHANGE:
            raise Conflict(_("An exchange is not refunded; it ships a replacement."), field="kind", code="not_refundable")
        if ret.refund_id is not None:
            raise Conflict(_("Return %(number)s was already refunded.") % {"number": ret.number}, field="status",
                           code="already_refunded")
        early = False
        if ret.kind == K.REFUND_ONLY:
            if ret.status != S.APPROVED:
                raise _not_status(ret, _("refunded"))
            units = [(rl, rl.quantity) for rl in ret.lines.select_related("line")]
        elif ret.status == S.INSPECTED:
            units = [(rl, rl.accepted_qty or 0) for rl in ret.lines.select_related("line")]
        elif ret.status in (S.AWAITING_RETURN_SHIPMENT, S.IN_TRANSIT, S.RECEIVED):
            if return_policy_get().refund_requires_receipt:
                raise Conflict(_("The store's policy refunds a return only after the goods are received and inspected."),
                               field="status", code="refund_before_receipt")
            early = True
            units = [(rl, rl.quantity) for rl in ret.lines.select_related("line")]
        else:
            raise _not_status(ret, _("refunded"))
        pairs = [(rl.line.variant_id, q) for rl, q in units if q > 0]
        if not pairs:
            raise Conflict(_("Nothing of this return was accepted, so nothing is refunded."), field="lines", code="nothing_to_refund")
        with in_public_schema():
            refund = refund_for_suborder_lines(merchant_id=merchant.pk, suborder_id=ret.suborder_id, lines=pairs,
                                               reason=(text or f"return {ret.number}")[:300], shipping_minor=0, actor=actor,
                                               idempotency_key=f"return:{merchant.pk}:{ret.pk}")
        if refund is None:
            raise Conflict(_("This order has not been paid, so nothing can be refunded."), field="order", code="not_paid")
        ret.refund_id, ret.refund_minor = refund.pk, refund.amount_minor
        if early:
            return _transition(ret=ret, to=ret.status, action="refund_issued", actor=actor, reason=text or _("Refunded before receipt."))
        return _transition(ret=ret, to=S.REFUNDED, action="refunded", actor=actor, reason=text)


@merchant_only
def return_ship_replacement(*, return_id: int, actor, carrier: str, tracking_number: str) -> ReturnRequest:
    """The replacement of an exchange leaves as a fulfillment shipment of the suborder (carrier and tracking
    checked, tracked like any parcel); its reserved stock is committed (the stock journal's shipment)."""
    from catalog.services import stock_commit_shipment
    from fulfillment.shipments import replacement_shipment_create

    _authorize(actor, "suborders.ship")
    carrier = clean_text(carrier, field="carrier", max_length=60, required=True)
    tracking = clean_text(tracking_number, field="tracking_number", max_length=60, required=True)
    with transaction.atomic():
        ret = _lock(return_id)
        if ret.kind != K.EXCHANGE or ret.status != S.INSPECTED:
            raise _not_status(ret, _("sent a replacement"))
        shipment = replacement_shipment_create(suborder_id=ret.suborder_id, warehouse_id=ret.suborder.warehouse_id,
                                               carrier=carrier, tracking_number=tracking, actor=actor)
        for rl in ret.lines.filter(accepted_qty__gt=0).order_by("pk"):
            stock_commit_shipment(owner=f"return_line:{rl.pk}", actor=actor,
                                  reference=f"exchange {ret.number} {shipment.tracking_number}"[:120])
        ret.replacement_tracking = f"{shipment.carrier} {shipment.tracking_number}"[:60]
        return _transition(ret=ret, to=S.EXCHANGED, action="exchanged", actor=actor, reason=ret.replacement_tracking)


# --- deadlines --------------------------------------------------------------------------------------

@merchant_only
def return_deadline_apply(*, return_id: int, now=None) -> ReturnRequest | None:
    """A deadline passed: the store did not answer (approved automatically) or the shopper did not ship
    (closed). Re-checked under the lock, so two sweeps act once."""
    now = now or timezone.now()
    with transaction.atomic():
        ret = ReturnRequest.objects.select_for_update(of=("self",)).select_related("suborder").filter(pk=return_id).first()
        if ret is None:
            return None
        if ret.status == S.REQUESTED and ret.answer_by is not None and ret.answer_by <= now:
            return _approve(ret, actor=None, action="auto_approved", reason="the store did not answer in time", now=now)
        if ret.status == S.AWAITING_RETURN_SHIPMENT and ret.ship_by is not None and ret.ship_by <= now:
            ret.lines.update(accepted_qty=0)
            return _transition(ret=ret, to=S.CLOSED, action="closed", reason="not shipped back in time", now=now)
        if ret.status in TERMINAL:
            _due_index_write(ret)  # a stale index row: drop it
        return None
