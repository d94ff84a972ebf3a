"""Shopper pages of returns (mall host): the "Return or exchange" form of a delivered parcel (per line and
quantity, reason, photos) and a return's progress with "I sent it back"."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.errors import DomainError, NotFound
from returns.states import REASONS, ReturnKind


def _order(request, number: str):
    from orders.selectors import order_get_for_shopper

    try:
        return order_get_for_shopper(number=number, shopper=request.user)
    except NotFound:
        raise Http404(_("No such order.")) from None


@login_required
def return_new(request, number: str, merchant_id: int, suborder_id: int):
    from core.inputs import parse_int
    from returns.shopper import shopper_return_request, shopper_returnable

    order = _order(request, number)
    lines = shopper_returnable(order=order).get((merchant_id, suborder_id))
    if lines is None:
        raise Http404(_("This parcel cannot be returned."))
    error, form = None, {}
    if request.method == "POST":
        form = request.POST
        try:
            wanted = []
            for i, ln in enumerate(lines):
                raw = request.POST.get(f"qty_{ln['line_id']}", "").strip() or "0"
                q = parse_int(raw, field=f"lines[{i}].quantity", minimum=0, maximum=10**6)
                if q:
                    wanted.append((ln["line_id"], q))
            if not wanted:
                raise DomainError(_("Choose at least one item and how many."), field="lines")
            photos = [f.read(2 * 1024 * 1024 + 1) for f in request.FILES.getlist("photos")]
            out = shopper_return_request(order=order, merchant_id=merchant_id, suborder_id=suborder_id,
                                         kind=request.POST.get("kind", ""), lines=wanted,
                                         reason_code=request.POST.get("reason_code", ""), reason=request.POST.get("reason", ""),
                                         photos=photos, actor=request.user)
            messages.success(request, _("Your request was sent to the store."))
            return redirect("returns-shopper-detail", number=number, merchant_id=merchant_id, return_id=out["id"])
        except DomainError as err:
            error = err
    return render(request, "returns/shopper_new.html", {
        "order": order, "merchant_id": merchant_id, "suborder_id": suborder_id, "lines": lines, "reasons": REASONS,
        "kinds": ReturnKind.choices, "error": error, "form": form}, status=400 if error else 200)


@login_required
def return_progress(request, number: str, merchant_id: int, return_id: int):
    from returns.shopper import shopper_return_get, shopper_return_mark_shipped

    order = _order(request, number)
    if request.method == "POST":
        try:
            shopper_return_mark_shipped(order=order, merchant_id=merchant_id, return_id=return_id,
                                        carrier=request.POST.get("carrier", ""),
                                        tracking_number=request.POST.get("tracking_number", ""), actor=request.user)
            messages.success(request, _("Thank you: the store will look out for your parcel."))
        except DomainError as err:
            messages.error(request, err.message)
        return redirect("returns-shopper-detail", number=number, merchant_id=merchant_id, return_id=return_id)
    try:
        ret = shopper_return_get(order=order, merchant_id=merchant_id, return_id=return_id)
    except NotFound:
        raise Http404(_("No such return.")) from None
    return render(request, "returns/shopper_progress.html", {"order": order, "ret": ret, "merchant_id": merchant_id,
                                                             "reason_label": REASONS.get(ret["reason_code"], "")})
