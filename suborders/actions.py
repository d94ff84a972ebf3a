"""Merchant dashboard actions on a suborder (POST forms on the suborder page): accept, refuse or
cancel lines, ship lines, mark a shipment delivered, and accept many at once. Each parses the form,
calls one service and redirects back with a message; errors name the problem, nothing changes."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from permissions.decorators import require_capability


def _int(text: str, field: str) -> int:
    text = (text or "").strip()
    if not text or len(text) > 9 or not text.isascii() or not text.isdigit():
        raise DomainError(_("%(field)s must be a whole number.") % {"field": field}, field=field)
    return int(text)


def _lines(post) -> list[tuple[int, int]] | None:
    picked = []
    for key, value in post.items():
        if key.startswith("qty_") and (value or "").strip() not in ("", "0"):
            picked.append((_int(key[4:], "line"), _int(value, key)))
    return picked


def _back(suborder_id):
    return redirect(reverse("suborders-detail", args=[suborder_id]))


def _run(request, suborder_id, func, ok_message):
    try:
        func()
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, ok_message)
    return _back(suborder_id)


@require_capability("suborders.accept")
@require_POST
def suborder_accept_view(request, suborder_id: int):
    from suborders.services import suborder_accept

    return _run(request, suborder_id, lambda: suborder_accept(suborder_id=suborder_id, actor=request.user), _("Accepted."))


@require_capability("suborders.refuse")
@require_POST
def suborder_refuse_view(request, suborder_id: int):
    from suborders.services import suborder_refuse_lines

    def go():
        lines = _lines(request.POST)
        suborder_refuse_lines(suborder_id=suborder_id, actor=request.user, lines=lines or None,
                              reason_code=request.POST.get("reason_code", ""), reason=request.POST.get("reason", ""))

    return _run(request, suborder_id, go, _("Refused; the stock is released and paid units are refunded."))


@require_capability("suborders.refuse")
@require_POST
def suborder_cancel_view(request, suborder_id: int):
    from suborders.services import suborder_cancel_lines

    def go():
        lines = _lines(request.POST)
        suborder_cancel_lines(suborder_id=suborder_id, actor=request.user, lines=lines or None,
                              reason_code=request.POST.get("reason_code", ""), reason=request.POST.get("reason", ""))

    return _run(request, suborder_id, go, _("Cancelled; the stock is released and paid units are refunded."))


@require_capability("suborders.ship")
@require_POST
def suborder_ship_view(request, suborder_id: int):
    from fulfillment.shipments import shipment_create

    def go():
        lines = _lines(request.POST)
        weight = request.POST.get("weight_g", "").strip()
        parcels = request.POST.get("parcels", "").strip()
        shipment_create(suborder_id=suborder_id, actor=request.user, lines=lines or None,
                        carrier=request.POST.get("carrier", ""), tracking_number=request.POST.get("tracking_number", ""),
                        service=request.POST.get("service", ""), weight_g=_int(weight, "weight_g") if weight else 0,
                        parcels=_int(parcels, "parcels") if parcels else 1)

    return _run(request, suborder_id, go, _("Shipped."))


@require_capability("suborders.ship")
@require_POST
def shipment_delivered_view(request, shipment_id: int):
    from fulfillment.models import Shipment
    from fulfillment.shipments import shipment_mark_delivered

    shipment = Shipment.objects.filter(pk=shipment_id).first()
    if shipment is None:
        from django.http import Http404

        raise Http404(_("No such shipment."))
    return _run(request, shipment.suborder_id, lambda: shipment_mark_delivered(shipment_id=shipment_id, actor=request.user),
                _("Marked delivered."))


@require_capability("suborders.accept")
@require_POST
def suborders_bulk_view(request):
    """Bulk actions from the list: accept every selected suborder that can be accepted."""
    from suborders.services import suborder_accept

    ids = [int(x) for x in request.POST.getlist("ids") if x.isascii() and x.isdigit()][:500]
    action = request.POST.get("action", "accept")
    done, failed = 0, []
    if action == "accept":
        for pk in ids:
            try:
                suborder_accept(suborder_id=pk, actor=request.user)
                done += 1
            except DomainError as err:
                failed.append(err.message)
    if done:
        messages.success(request, _("%(n)s suborders accepted.") % {"n": done})
    for message in failed[:10]:
        messages.error(request, message)
    return redirect(reverse("suborders-list"))


@require_capability("suborders.ship")
def warehouse_queue(request):
    """The warehouse screen: accepted suborders to pick, pack and ship, oldest deadline first."""
    from django.shortcuts import render

    from catalog.selectors import warehouse_scope_for
    from core.tenancy import current_merchant
    from suborders.models import SubOrder

    qs = SubOrder.objects.filter(status__in=["accepted", "partially_shipped"])
    scope = warehouse_scope_for(user=request.user, merchant=current_merchant())
    if scope is not None:  # a warehouse user limited to some warehouses sees only theirs
        qs = qs.filter(warehouse_id__in=sorted(scope))
    rows = list(qs.order_by("ship_by", "id").prefetch_related("lines")[:100])
    return render(request, "suborders/warehouse_queue.html", {"suborders": rows})


@require_capability("suborders.ship")
def warehouse_pack(request, suborder_id: int):
    """Pack one suborder: scan (or type) each unit's SKU, then ship what was packed."""
    from django.http import Http404
    from django.shortcuts import render

    from core.errors import NotFound
    from fulfillment.carriers import CARRIERS
    from suborders.selectors import suborder_get

    try:
        so = suborder_get(suborder_id=suborder_id, actor=request.user)
    except NotFound:
        raise Http404(_("No such suborder in this store.")) from None
    lines = [ln for ln in so.lines.all() if ln.to_ship_qty]
    return render(request, "suborders/warehouse_pack.html", {"so": so, "lines": lines, "carriers": CARRIERS.values()})
