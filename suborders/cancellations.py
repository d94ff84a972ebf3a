"""Shopper cancellations (merchant schema): before acceptance at once, after acceptance as a request the
store decides before a deadline (else the lifecycle sweep approves it).

Every cancellation of units goes through suborders.services.suborder_cancel_lines, which releases the
stock and emits `suborder.changed` (action `lines_cancelled`); payments.handlers.refund_released_units
refunds those units exactly once. This module adds no second refund path. `_transition` is the only
code that assigns CancellationRequest.status (CANCELLATION_TRANSITIONS); it writes the audit row and
the `cancellation.*` outbox event in the caller's transaction. The open request's deadline is kept on
the suborder (`cancellation_due_at`) and mirrored to public, where the sweep finds it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from core.outbox import outbox_emit
from core.tenancy import current_merchant, merchant_only
from suborders import services as lifecycle
from suborders.models import SubOrder
from suborders.models_cancellations import CANCELLATION_TRANSITIONS, CancellationRequest, CancellationStatus
from suborders.states import SubOrderStatus

S = SubOrderStatus
C = CancellationStatus
IMMEDIATE = frozenset({S.AWAITING_ACCEPTANCE})  # nobody at the store has committed to it yet
BY_REQUEST = frozenset({S.ACCEPTED, S.PARTIALLY_SHIPPED})  # units accepted and not shipped


def decide_hours() -> int:
    return int(getattr(settings, "MALLARD_CANCELLATION_DECIDE_HOURS", 48))


@dataclass(frozen=True)
class CancelOutcome:
    suborder_id: int
    number: str
    outcome: str  # "cancelled" (done at once) or "requested" (the store decides)
    request_id: int | None = None


def _clean_reason(reason: str, *, field: str = "reason", required: bool = False) -> str:
    text = (reason or "").strip()
    if "\x00" in text or len(text) > 300:
        raise ValidationFailed(_("The reason must be at most 300 characters."), field=field)
    if required and not text:
        raise ValidationFailed(_("Say why, in a few words."), field=field)
    return text


def _payload(req: CancellationRequest, so: SubOrder) -> dict:
    return {"request_id": req.pk, "suborder_id": so.pk, "number": so.number, "order_id": so.order_id,
            "order_number": so.order_number, "merchant_id": current_merchant().pk, "status": req.status,
            "lines": req.lines, "reason": req.reason, "decision_reason": req.decision_reason,
            "decide_by": req.decide_by.isoformat(), "automatic": req.automatic}


def _transition(*, req: CancellationRequest, so: SubOrder, to: str, actor, reason: str = "", automatic: bool = False,
                now=None) -> CancellationRequest:
    """The only code that assigns CancellationRequest.status; `req` is locked by the caller."""
    current = req.status
    if to not in CANCELLATION_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(_("This cancellation request is already %(status)s.") % {"status": req.get_status_display()},
                                field="status", details={"from": current, "to": to})
    req.status, req.decided_at, req.decision_reason, req.automatic = to, now or timezone.now(), reason[:300], automatic
    req.decided_by = actor if getattr(actor, "pk", None) else None
    req.save(update_fields=["status", "decided_at", "decision_reason", "automatic", "decided_by"])
    _audit(actor, req, so, action=f"cancellation_{to}", before={"status": current},
           after={"status": to, "reason": reason[:300], "automatic": automatic})
    outbox_emit(topic=f"cancellation.{to}", aggregate_type="cancellation_request", aggregate_id=req.pk, payload=_payload(req, so))
    return req


def _audit(actor, req, so, *, action, before, after) -> None:
    if actor is None:
        return
    from permissions.services import audit_record

    audit_record(actor=actor, entity="cancellation_request", entity_id=f"{so.number}#{req.pk}", action=action,
                 before=before, after=after)


# --- the shopper asks ------------------------------------------------------------------------------

@merchant_only
def suborder_shopper_cancel(*, suborder_id: int, shopper_email: str, actor=None, lines: list[tuple[int, int]] | None = None,
                            reason: str = "", now=None) -> CancelOutcome:
    """The shopper cancels units of their suborder (lines = (suborder line id, quantity); None = all that
    can be). Awaiting acceptance: cancelled now. Accepted, units not shipped: a request to the store."""
    text = _clean_reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        so, all_lines = lifecycle._lock(suborder_id)
        if (so.shopper_email or "").lower() != (shopper_email or "").strip().lower():
            raise NotFound(_("No such order."), field="suborder")  # someone else's: not even its existence
        if so.status in IMMEDIATE:
            done = lifecycle.suborder_cancel_lines(suborder_id=so.pk, actor=actor, lines=lines, reason_code="customer_request",
                                                   reason=text or _("cancelled by the shopper"), system=True)
            return CancelOutcome(suborder_id=done.pk, number=done.number, outcome="cancelled")
        if so.status not in BY_REQUEST:
            raise InvalidTransition(
                _("Suborder %(number)s is %(status)s: it can no longer be cancelled (ask for a return once it arrives).")
                % {"number": so.number, "status": so.get_status_display()}, field="status")
        if CancellationRequest.objects.filter(suborder=so, status=C.REQUESTED).exists():
            raise Conflict(_("A cancellation request for %(number)s is already waiting for the store.") % {"number": so.number},
                           field="suborder", code="cancellation_pending")
        if lines is None and not any(ln.to_ship_qty for ln in all_lines):
            raise ValidationFailed(_("Everything of %(number)s has shipped: nothing is left to cancel.") % {"number": so.number},
                                   field="lines")
        picked = lifecycle._pick(all_lines, lines, lambda ln: ln.to_ship_qty, verb=_("cancelled (not shipped yet)"))
        req = CancellationRequest.objects.create(
            suborder=so, lines=lifecycle._changed(picked), reason=text, shopper_email=so.shopper_email,
            requested_by=actor if getattr(actor, "pk", None) else None, created_at=now,
            decide_by=now + timedelta(hours=decide_hours()))
        so.cancellation_due_at = req.decide_by
        lifecycle._transition(so=so, lines=all_lines, action="cancellation_requested", actor=actor,
                              changed=lifecycle._changed(picked), reason=text, now=now)
        _audit(actor, req, so, action="cancellation_requested", before=None,
               after={"status": req.status, "lines": req.lines, "reason": text})
        outbox_emit(topic="cancellation.requested", aggregate_type="cancellation_request", aggregate_id=req.pk,
                    payload=_payload(req, so))
        return CancelOutcome(suborder_id=so.pk, number=so.number, outcome="requested", request_id=req.pk)


# --- the store decides -----------------------------------------------------------------------------

def _next_due(so: SubOrder, *, excluding: int) -> None:
    so.cancellation_due_at = (CancellationRequest.objects.filter(suborder=so, status=C.REQUESTED).exclude(pk=excluding)
                              .order_by("decide_by").values_list("decide_by", flat=True).first())


@merchant_only
def cancellation_decide(*, request_id: int, actor, approve: bool, reason: str = "", system: bool = False,
                        now=None) -> CancellationRequest | None:
    """Approve (the units are cancelled and refunded) or refuse (a reason is required) an open request.
    Two people deciding at once: the second finds it decided and is refused. `system`: the deadline sweep
    (acts only when the deadline has passed; returns None otherwise)."""
    lifecycle._authorize(actor, "cancellations.decide", system)
    text = _clean_reason(reason, required=not approve)
    now = now or timezone.now()
    suborder_id = CancellationRequest.objects.filter(pk=request_id).values_list("suborder_id", flat=True).first()
    if suborder_id is None:
        raise NotFound(_("No such cancellation request in this store."), field="request")
    with transaction.atomic():
        so, all_lines = lifecycle._lock(suborder_id)  # lock order: the suborder, then its request
        req = CancellationRequest.objects.select_for_update().get(pk=request_id)
        if system and (req.status != C.REQUESTED or req.decide_by > now):
            return None
        if req.status != C.REQUESTED:
            raise InvalidTransition(_("This cancellation request is already %(status)s.") % {"status": req.get_status_display()},
                                    field="status")
        by_id = {ln.pk: ln for ln in all_lines}
        wanted = [(e["line"], min(e["quantity"], by_id[e["line"]].to_ship_qty)) for e in req.lines if e["line"] in by_id]
        wanted = [(line_id, q) for line_id, q in wanted if q > 0]
        if approve and not wanted:
            if not system:
                raise InvalidTransition(_("These units have shipped meanwhile: refuse the request (the shopper can return them)."),
                                        field="lines")
            approve, text = False, "shipped before the deadline"
        _next_due(so, excluding=req.pk)
        SubOrder.objects.filter(pk=so.pk).update(cancellation_due_at=so.cancellation_due_at)
        if approve:
            _transition(req=req, so=so, to=C.APPROVED, actor=actor, reason=text, automatic=system, now=now)
            lifecycle.suborder_cancel_lines(suborder_id=so.pk, actor=actor, lines=wanted, reason_code="customer_request",
                                            reason=req.reason or _("cancellation request approved"), system=True)
        else:
            _transition(req=req, so=so, to=C.REFUSED, actor=actor, reason=text, automatic=system, now=now)
            lifecycle._transition(so=so, lines=all_lines, action="cancellation_refused", actor=actor, reason=text, now=now)
        return req


@merchant_only
def cancellation_requests_lapsed(*, suborder_id: int, now=None) -> CancellationRequest | None:
    """The lifecycle sweep: approve this suborder's open request whose deadline passed, once."""
    now = now or timezone.now()
    req = CancellationRequest.objects.filter(suborder_id=suborder_id, status=C.REQUESTED, decide_by__lte=now).first()
    if req is None:
        return None
    return cancellation_decide(request_id=req.pk, actor=None, approve=True, system=True, now=now)


# --- reads -----------------------------------------------------------------------------------------

@merchant_only
def cancellations_pending(*, limit: int = 200) -> list[CancellationRequest]:
    """Open requests of this store, the nearest deadline first (the dashboard queue and the API list).
    The caller has checked `cancellations.decide`."""
    return list(CancellationRequest.objects.filter(status=C.REQUESTED).select_related("suborder").order_by("decide_by", "pk")[:limit])


@merchant_only
def cancellation_get(*, request_id: int) -> CancellationRequest:
    req = CancellationRequest.objects.select_related("suborder", "decided_by").filter(pk=request_id).first()
    if req is None:
        raise NotFound(_("No such cancellation request in this store."), field="request")
    return req


@merchant_only
def cancellation_state_for_order(*, order_id: int, shopper_email: str) -> dict[int, dict]:
    """For the shopper's order page, per suborder of this store: how it can be cancelled now
    ("immediate", "request" or None), what each line (by variant) can still be cancelled, and its requests."""
    from suborders.models import SubOrderLine

    out: dict[int, dict] = {}
    email = (shopper_email or "").strip().lower()
    suborders = [so for so in SubOrder.objects.filter(order_id=order_id).order_by("pk") if (so.shopper_email or "").lower() == email]
    lines: dict[int, list] = {}
    for ln in SubOrderLine.objects.filter(suborder__in=suborders).order_by("pk"):
        lines.setdefault(ln.suborder_id, []).append(ln)
    requests: dict[int, list] = {}
    for req in CancellationRequest.objects.filter(suborder__in=suborders).order_by("-pk"):
        requests.setdefault(req.suborder_id, []).append(req)
    for so in suborders:
        open_request = any(r.status == C.REQUESTED for r in requests.get(so.pk, []))
        if so.status in IMMEDIATE:
            mode, left = "immediate", {ln.variant_id: ln.undecided_qty for ln in lines.get(so.pk, [])}
        elif so.status in BY_REQUEST and not open_request:
            mode, left = "request", {ln.variant_id: ln.to_ship_qty for ln in lines.get(so.pk, [])}
        else:
            mode, left = None, {}
        if not any(left.values()):
            mode, left = None, {}
        out[so.pk] = {"mode": mode, "cancellable": left, "requests": requests.get(so.pk, [])}
    return out
