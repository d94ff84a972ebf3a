"""Return deadlines, found once across all merchants through the public due index (returns.due_index),
then applied merchant by merchant in its own schema. return_deadline_apply re-checks under the row lock,
so two sweeps running at once act once."""
from __future__ import annotations

from collections import defaultdict

from django.utils import timezone

from core.tenancy import in_merchant_schema, platform_only


@platform_only
def returns_due(*, now=None, limit: int = 1000) -> dict[int, list[int]]:
    from returns.due_index.models import ReturnDue

    now = now or timezone.now()
    due: dict[int, list[int]] = defaultdict(list)
    for merchant_id, return_id in (ReturnDue.objects.filter(due_at__lte=now).order_by("due_at")
                                   .values_list("merchant_id", "return_id")[:limit]):
        due[merchant_id].append(return_id)
    return dict(due)


def apply_due(*, return_ids: list[int], now=None) -> int:
    """In a merchant schema: apply the deadlines of these returns; returns how many acted."""
    from returns.services import return_deadline_apply

    return sum(1 for pk in return_ids if return_deadline_apply(return_id=pk, now=now))


@platform_only
def returns_sweep(*, now=None, dispatch=None) -> int:
    """Find due returns once, then per merchant apply them (inline, or through `dispatch(merchant, ids)`,
    which sends a task carrying that merchant's schema)."""
    from tenants.models import Merchant

    due = returns_due(now=now)
    done = 0
    for merchant in Merchant.objects.filter(pk__in=list(due)).order_by("pk"):
        with in_merchant_schema(merchant):
            if dispatch is not None:
                dispatch(merchant, due[merchant.pk])
            else:
                done += apply_due(return_ids=due[merchant.pk], now=now)
    return done
