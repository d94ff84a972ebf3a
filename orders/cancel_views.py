"""The shopper's cancel buttons on the order page (mall host): cancel the order, one store's part, or
some lines. Parses the form, calls orders.services.cancellations, redirects back with a message."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.inputs import clean_text, parse_id, parse_int


def _form_lines(post) -> list[tuple[int, int]]:
    picked = []
    for key, value in post.items():
        if key.startswith("qty_") and (value or "").strip() not in ("", "0"):
            picked.append((parse_id(key[4:], field=key), parse_int(value, field=key, minimum=1, maximum=9999)))
    return picked


@require_POST
def order_cancel(request, number: str):
    from orders.services.cancellations import order_shopper_cancel
    from orders.views import _order_for

    order = _order_for(request, number)
    try:
        scope = request.POST.get("scope", "")
        reason = clean_text(request.POST.get("reason", ""), field="reason", max_length=300)
        kw = {}
        if scope == "lines":
            kw["lines"] = _form_lines(request.POST)
        elif scope == "suborder":
            kw["merchant_id"] = parse_id(request.POST.get("merchant_id"), field="merchant_id")
            kw["suborder_id"] = parse_id(request.POST.get("suborder_id"), field="suborder_id")
        elif scope != "order":
            raise DomainError(_("Choose what to cancel."), field="scope")
        outcomes = order_shopper_cancel(order=order, actor=request.user if request.user.is_authenticated else None,
                                        reason=reason, **kw)
    except DomainError as err:
        messages.error(request, err.message)
    else:
        if any(o.outcome == "requested" for o in outcomes):
            messages.success(request, _("Your cancellation request was sent to the store; it answers within %(hours)s hours "
                                        "(or it is approved).") % {"hours": _decide_hours()})
        if any(o.outcome == "cancelled" for o in outcomes):
            messages.success(request, _("Cancelled. What you paid for it is refunded to your original payment method."))
    return redirect("order-detail", number=number)


def _decide_hours() -> int:
    from suborders.cancellations import decide_hours

    return decide_hours()
