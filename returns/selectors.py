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
