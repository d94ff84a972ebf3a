"""The public read mirror of suborder status (so shopper and operator lists never fan out)."""
from orders.models import SubOrderMirror


def mirror_status_set(*, merchant_id: int, suborder_id: int, status: str, at) -> None:
    SubOrderMirror.objects.filter(merchant_id=merchant_id, suborder_id=suborder_id).update(status=status, updated_at=at)
