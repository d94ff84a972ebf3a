"""Return reads: the store's queue, one return with its lines and events, a shopper's returns of an order."""
from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from core.errors import NotFound
from core.tenancy import merchant_only
from returns.models import ReturnEvent, ReturnLine, ReturnRequest
from returns.states import OPEN, ReturnKind, ReturnStatus

S = ReturnStatus
# The merchant's queue tabs: which statuses each shows.
QUEUES = {
    "decide": (S.REQUESTED,),
    "receive": (S.AWAITING_RETURN_SHIPMENT, S.IN_TRANSIT),
    "inspect": (S.RECEIVED,),
    "refund": (S.INSPECTED, S.APPROVED),
    "all": tuple(S.values),
}


def _with_lines(qs):
    return qs.select_related("suborder").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.select_related("line")))


@merchant_only
def return_list_for_merchant(*, queue: str = "all", limit: int = 200) -> list[ReturnRequest]:
    statuses = QUEUES.get(queue, QUEUES["all"])
    qs = ReturnRequest.objects.filter(status__in=statuses)
    if queue == "refund":  # approved refund-only requests, and inspected returns with something accepted
        from django.db.models import Q

        qs = qs.filter(Q(kind=ReturnKind.REFUND_ONLY, status=S.APPROVED) | Q(status=S.INSPECTED)).filter(refund_id__isnull=True)
    return list(_with_lines(qs.order_by("-id"))[:limit])


@merchant_only
def return_get(*, return_id: int) -> ReturnRequest:
    ret = _with_lines(ReturnRequest.objects.filter(pk=return_id)).prefetch_related(
        Prefetch("events", queryset=ReturnEvent.objects.select_related("actor"))).first()
    if ret is None:
        raise NotFound(_("No such return in this store."), field="return")
    return ret


@merchant_only
def return_get_for_shopper(*, return_id: int, shopper_email: str) -> ReturnRequest:
    ret = return_get(return_id=return_id)
    if ret.shopper_email.lower() != (shopper_email or "").lower():
        raise NotFound(_("No such return."), field="return")
    return ret


@merchant_only
def returns_for_order(*, order_id: int, shopper_email: str) -> list[ReturnRequest]:
    return list(_with_lines(ReturnRequest.objects.filter(order_id=order_id, shopper_email__iexact=shopper_email)).order_by("id"))


@merchant_only
def suborder_has_open_return(*, suborder_id: int) -> bool:
    """The suborder's auto-complete waits while one of its returns is open (suborders.services.suborder_complete)."""
    return ReturnRequest.objects.filter(suborder_id=suborder_id, status__in=OPEN).exists()


@merchant_only
def returnable_lines(*, suborder) -> list[dict]:
    """Each line of a delivered suborder with the units that can still be returned."""
    from returns.services import _claimed

    lines = list(suborder.lines.all())
    claimed = _claimed([ln.pk for ln in lines])
    return [{"line": ln, "left": max(ln.delivered_qty - claimed.get(ln.pk, 0), 0)} for ln in lines]


def return_body(ret: ReturnRequest, *, staff: bool, amounts: bool = True) -> dict:
    """A return as the API and pages show it (read inside its merchant's schema). Staff see the events'
    actors; the shopper sees the same steps without who did them. `amounts` False hides the refund."""
    from returns.states import Inspection

    status_labels, kind_labels = dict(S.choices), dict(ReturnKind.choices)
    body = {
        "id": ret.pk, "number": ret.number, "suborder_id": ret.suborder_id, "suborder_number": ret.suborder.number,
        "order_number": ret.suborder.order_number, "kind": ret.kind, "kind_label": str(kind_labels.get(ret.kind, ret.kind)),
        "status": ret.status, "status_label": str(status_labels.get(ret.status, ret.status)),
        "reason_code": ret.reason_code, "reason": ret.reason, "decision_reason": ret.decision_reason,
        "inspection": ret.inspection, "inspection_label": str(dict(Inspection.choices).get(ret.inspection, "")),
        "return_shipping_payer": ret.return_shipping_payer, "answer_by": ret.answer_by, "ship_by": ret.ship_by,
        "return_carrier": ret.return_carrier, "return_tracking": ret.return_tracking,
        "replacement_tracking": ret.replacement_tracking, "created_at": ret.created_at, "updated_at": ret.updated_at,
        "photos": ret.photos.count(),
        "lines": [{"id": rl.pk, "line_id": rl.line_id, "sku": rl.line.sku, "name": rl.line.name, "quantity": rl.quantity,
                   "accepted_qty": rl.accepted_qty, "restocked_qty": rl.restocked_qty, "written_off_qty": rl.written_off_qty,
                   "restock_warehouse_id": rl.restock_warehouse_id} for rl in ret.lines.all()],
        "events": [{"action": ev.action, "from": ev.from_status, "to": ev.to_status, "reason": ev.reason, "at": ev.at,
                    **({"actor": ev.actor.email if ev.actor_id else None} if staff else {})}
                   for ev in ret.events.all()],
    }
    if amounts:
        body["refund_minor"] = ret.refund_minor
        body["currency"] = ret.suborder.currency
    return body
