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
