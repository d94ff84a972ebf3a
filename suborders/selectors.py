"""Reads of suborders for the merchant's dashboard and API (current merchant schema only)."""
from django.utils.translation import gettext as _

from core.errors import NotFound
from core.tenancy import merchant_only
from suborders.models import SubOrder


@merchant_only
def suborder_list_for_merchant(*, status: str | None = None, limit: int = 100):
    qs = SubOrder.objects.all().order_by("-id")
    if status:
        qs = qs.filter(status=status)
    return qs[:limit]


@merchant_only
def suborder_get(*, suborder_id: int) -> SubOrder:
    try:
        return SubOrder.objects.prefetch_related("lines", "events").get(pk=suborder_id)
    except (SubOrder.DoesNotExist, ValueError):
        raise NotFound(_("No such suborder in this store.")) from None


def suborder_actions_for(*, so, lines, user, merchant) -> dict:
    """Exactly the actions the suborder's state and the user's role allow (the page shows only these)."""
    from permissions.selectors import user_can
    from suborders.states import SubOrderStatus as S

    can_accept = user_can(user=user, merchant=merchant, capability="suborders.accept")
    can_ship = user_can(user=user, merchant=merchant, capability="suborders.ship")
    undecided = sum(ln.undecided_qty for ln in lines)
    to_ship = sum(ln.to_ship_qty for ln in lines)
    return {
        "accept": can_accept and so.status == S.AWAITING_ACCEPTANCE and undecided > 0,
        "refuse": can_accept and so.status == S.AWAITING_ACCEPTANCE and undecided > 0,
        "cancel": can_accept and so.status in (S.AWAITING_ACCEPTANCE, S.ACCEPTED, S.PARTIALLY_SHIPPED) and (undecided + to_ship) > 0,
        "ship": can_ship and so.status in (S.ACCEPTED, S.PARTIALLY_SHIPPED) and to_ship > 0,
        "deliver": can_ship and so.status in (S.PARTIALLY_SHIPPED, S.SHIPPED),
    }
