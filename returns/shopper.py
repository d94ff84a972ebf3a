"""The shopper's side of returns (mall host, public schema): each call finds the shopper's order and the
store's suborder through the public order and its mirror rows, then acts in that store's schema."""
from __future__ import annotations

from django.utils.translation import gettext as _

from core.errors import NotFound
from core.tenancy import in_merchant_schema, platform_only


def _mirror(order, merchant_id: int, suborder_id: int | None = None):
    for m in order.suborders.all():
        if m.merchant_id == merchant_id and (suborder_id is None or m.suborder_id == suborder_id):
            return m
    raise NotFound(_("No such parcel in this order."), field="suborder_id")


@platform_only
def shopper_return_request(*, order, merchant_id: int, suborder_id: int, kind: str, lines: list[tuple[int, int]],
                           reason_code: str, reason: str = "", photos: list[bytes] | None = None, actor=None) -> dict:
    from returns.selectors import return_body, return_get
    from returns.services import return_request_create

    mirror = _mirror(order, merchant_id, suborder_id)
    with in_merchant_schema(mirror.merchant):
        ret = return_request_create(suborder_id=suborder_id, shopper_email=order.email, kind=kind, lines=lines,
                                    reason_code=reason_code, reason=reason, photos=photos, actor=actor)
        return {"merchant_id": merchant_id, **return_body(return_get(return_id=ret.pk), staff=False)}


@platform_only
def shopper_returns_for_order(*, order) -> list[dict]:
    """Every return of this order, store by store (one schema per store that has a suborder in it)."""
    from returns.selectors import return_body, returns_for_order

    out = []
    merchants = {m.merchant_id: m.merchant for m in order.suborders.all()}
    for merchant_id in sorted(merchants):
        with in_merchant_schema(merchants[merchant_id]):
            for ret in returns_for_order(order_id=order.pk, shopper_email=order.email):
                out.append({"merchant_id": merchant_id, "store": merchants[merchant_id].name,
                            **return_body(ret, staff=False)})
    return out


@platform_only
def shopper_return_get(*, order, merchant_id: int, return_id: int) -> dict:
    from returns.selectors import return_body, return_get_for_shopper

    mirror = _mirror(order, merchant_id)
    with in_merchant_schema(mirror.merchant):
        ret = return_get_for_shopper(return_id=return_id, shopper_email=order.email)
        if ret.order_id != order.pk:
            raise NotFound(_("No such return."), field="return")
        return {"merchant_id": merchant_id, "store": mirror.merchant.name, **return_body(ret, staff=False)}


@platform_only
def shopper_return_mark_shipped(*, order, merchant_id: int, return_id: int, carrier: str, tracking_number: str,
                                actor=None) -> dict:
    from returns.selectors import return_body, return_get, return_get_for_shopper
    from returns.services import return_mark_shipped

    mirror = _mirror(order, merchant_id)
    with in_merchant_schema(mirror.merchant):
        ret = return_get_for_shopper(return_id=return_id, shopper_email=order.email)
        if ret.order_id != order.pk:
            raise NotFound(_("No such return."), field="return")
        return_mark_shipped(return_id=return_id, shopper_email=order.email, carrier=carrier, tracking_number=tracking_number,
                            actor=actor)
        return {"merchant_id": merchant_id, **return_body(return_get(return_id=return_id), staff=False)}


@platform_only
def shopper_returnable(*, order) -> dict[tuple[int, int], list[dict]]:
    """(merchant_id, suborder_id) -> [{line, left}] for each delivered suborder of the order."""
    from returns.selectors import returnable_lines
    from suborders.models import SubOrder

    out = {}
    for m in order.suborders.all():
        if m.status != "delivered":
            continue
        with in_merchant_schema(m.merchant):
            so = SubOrder.objects.filter(pk=m.suborder_id).first()
            if so is not None:
                out[(m.merchant_id, m.suborder_id)] = [{"line_id": r["line"].pk, "sku": r["line"].sku, "name": r["line"].name,
                                                        "delivered": r["line"].delivered_qty, "left": r["left"]}
                                                       for r in returnable_lines(suborder=so)]
    return out
