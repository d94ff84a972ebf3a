"""Lifecycle deadlines, found once across all merchants through the mirror's partial indexes, then
applied merchant by merchant in its own schema. Every per-suborder service re-checks its condition
under the row lock, so two sweeps running at once act once."""
from __future__ import annotations

from collections import defaultdict

from django.utils import timezone

from core.tenancy import in_merchant_schema, platform_only
from orders.models import SubOrderMirror

# kind -> (mirror statuses, deadline column, extra filter)
DUE = {
    "accept": (("awaiting_acceptance",), "accept_by", {}),
    "late": (("accepted", "partially_shipped"), "ship_by", {"is_late": False}),
    "receipt": (("shipped",), "auto_receipt_at", {}),
    "complete": (("delivered",), "complete_after", {}),
    # an open shopper cancellation request the store left undecided: approved (suborders.cancellations)
    "cancellation": (("accepted", "partially_shipped", "shipped", "delivered"), "cancellation_due_at", {}),
}


@platform_only
def suborders_due(*, kind: str, now=None, limit: int = 1000) -> dict[int, list[int]]:
    statuses, column, extra = DUE[kind]
    now = now or timezone.now()
    rows = (SubOrderMirror.objects.filter(status__in=statuses, **{f"{column}__lte": now}, **extra)
            .order_by(column).values_list("merchant_id", "suborder_id")[:limit])
    due: dict[int, list[int]] = defaultdict(list)
    for merchant_id, suborder_id in rows:
        due[merchant_id].append(suborder_id)
    return dict(due)


def apply_due(*, kind: str, suborder_ids: list[int], now=None) -> int:
    """In a merchant schema: apply one kind of deadline to these suborders; returns how many acted."""
    from fulfillment.shipments import suborders_auto_receipt
    from suborders.cancellations import cancellation_requests_lapsed
    from suborders.services import suborder_acceptance_lapsed, suborder_complete, suborder_mark_late

    func = {"accept": lambda pk: suborder_acceptance_lapsed(suborder_id=pk, now=now),
            "late": lambda pk: suborder_mark_late(suborder_id=pk, now=now),
            "receipt": lambda pk: suborders_auto_receipt(suborder_id=pk, now=now),
            "complete": lambda pk: suborder_complete(suborder_id=pk, now=now),
            "cancellation": lambda pk: cancellation_requests_lapsed(suborder_id=pk, now=now)}[kind]
    return sum(1 for pk in suborder_ids if func(pk))


@platform_only
def suborders_sweep(*, kind: str, now=None, dispatch=None) -> int:
    """Find due suborders once, then per merchant apply them (inline, or through `dispatch(merchant,
    kind, ids)` which sends a task carrying that merchant's schema)."""
    from tenants.models import Merchant

    due = suborders_due(kind=kind, now=now)
    done = 0
    for merchant in Merchant.objects.filter(pk__in=list(due)).order_by("pk"):
        with in_merchant_schema(merchant):
            if dispatch is not None:
                dispatch(merchant, kind, due[merchant.pk])
            else:
                done += apply_due(kind=kind, suborder_ids=due[merchant.pk], now=now)
    return done
