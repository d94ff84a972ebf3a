"""The shopper cancels (public side): the whole order, one store's suborder, or some lines with quantities.

Resolves the order's public lines to each store's suborder lines and calls
suborders.cancellations.suborder_shopper_cancel in that store's schema, all stores in ONE transaction
in merchant order (like checkout): one refused part refuses the whole request and nothing changes.
"""
from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from core.tenancy import in_merchant_schema, platform_only

WHOLE_ORDER_OK = ("awaiting_acceptance", "accepted")  # nothing of it has shipped
DONE = ("cancelled", "refused")


def _renamed(err: DomainError, index_map: dict[int, int]) -> DomainError:
    """A store's error names `lines[k]` of its own group: rename it to the shopper's `lines[i]`."""
    field = err.field or ""
    if field.startswith("lines[") and "]" in field:
        k = int(field[6:field.index("]")])
        if k in index_map:
            err.field = f"lines[{index_map[k]}]{field[field.index(']') + 1:]}"
    return err


@platform_only
def order_shopper_cancel(*, order, actor=None, merchant_id: int | None = None, suborder_id: int | None = None,
                         lines: list[tuple[int, int]] | None = None, reason: str = "") -> list:
    """`lines` are (order line id, quantity) of this order; or `merchant_id` + `suborder_id` for one
    store's part; or nothing for the whole order. Returns the CancelOutcome of every suborder touched."""
    from suborders.cancellations import suborder_shopper_cancel
    from suborders.models import SubOrderLine

    mirrors = {(m.merchant_id, m.suborder_id): m for m in order.suborders.select_related("merchant")}
    plan: dict[tuple[int, int], list[tuple[int, int, int]] | None] = {}  # (merchant, suborder) -> [(variant, qty, i)] | None
    if lines is not None:
        if not lines:
            raise ValidationFailed(_("Choose at least one line."), field="lines")
        by_id = {ln.pk: ln for ln in order.lines.all()}
        seen = set()
        for i, (line_id, qty) in enumerate(lines):
            ln = by_id.get(line_id)
            if ln is None or ln.suborder_id is None:
                raise NotFound(_("Line %(id)s is not part of this order.") % {"id": line_id}, field=f"lines[{i}].line_id")
            if line_id in seen:
                raise ValidationFailed(_("A line appears twice."), field=f"lines[{i}].line_id")
            seen.add(line_id)
            plan.setdefault((ln.merchant_id, ln.suborder_id), []).append((ln.variant_id, qty, i))
    elif suborder_id is not None or merchant_id is not None:
        if (merchant_id, suborder_id) not in mirrors:
            raise NotFound(_("This order has no such store part."), field="suborder_id")
        plan[(merchant_id, suborder_id)] = None
    else:
        open_parts = [m for m in mirrors.values() if m.status not in DONE]
        shipped = [m for m in open_parts if m.status not in WHOLE_ORDER_OK]
        if shipped:
            raise InvalidTransition(_("%(store)s has already shipped or is not paid yet: cancel the other stores' parts one by one.")
                                    % {"store": shipped[0].merchant.name}, field="order")
        if not open_parts:
            raise InvalidTransition(_("Nothing of this order is left to cancel."), field="order")
        plan = {(m.merchant_id, m.suborder_id): None for m in open_parts}
    outcomes = []
    with transaction.atomic():
        for key in sorted(plan):  # merchant order, then suborder: the lock order of checkout
            mirror = mirrors[key]
            wanted = plan[key]
            with in_merchant_schema(mirror.merchant):
                so_lines, index_map = None, {}
                if wanted is not None:
                    ids = dict(SubOrderLine.objects.filter(suborder_id=key[1]).values_list("variant_id", "pk"))
                    so_lines = []
                    for k, (variant_id, qty, i) in enumerate(wanted):
                        if variant_id not in ids:
                            raise NotFound(_("This line is no longer part of the store's order."), field=f"lines[{i}].line_id")
                        so_lines.append((ids[variant_id], qty))
                        index_map[k] = i
                try:
                    outcomes.append(suborder_shopper_cancel(suborder_id=key[1], shopper_email=order.email, actor=actor,
                                                            lines=so_lines, reason=reason))
                except DomainError as err:
                    raise _renamed(err, index_map) from None
    return outcomes


@platform_only
def order_cancellation_state(*, order) -> dict[tuple[int, int], dict]:
    """Per (merchant, suborder) of the order: the cancel mode, what each order line can still be cancelled
    (by order line id) and the store's requests. One read per store, in its schema."""
    from suborders.cancellations import cancellation_state_for_order

    by_store = defaultdict(list)
    for m in order.suborders.select_related("merchant"):
        by_store[m.merchant_id].append(m)
    order_lines = defaultdict(list)
    for ln in order.lines.all():
        order_lines[(ln.merchant_id, ln.suborder_id)].append(ln)
    out = {}
    for merchant_id in sorted(by_store):
        with in_merchant_schema(by_store[merchant_id][0].merchant):
            state = cancellation_state_for_order(order_id=order.pk, shopper_email=order.email)
        for suborder_id, s in state.items():
            key = (merchant_id, suborder_id)
            s["lines"] = {ln.pk: s["cancellable"].get(ln.variant_id, 0) for ln in order_lines[key]}
            out[key] = s
    return out
