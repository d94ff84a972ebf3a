"""Dashboard pages of returns (merchant host): the queue (to decide, to receive, to inspect, to refund), one
return with the actions the viewer's role allows (approve/refuse, receive and inspect with restock or
write-off per line, refund, ship an exchange's replacement), its photos, and the store's return policy."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotFound
from core.tenancy import current_merchant
from permissions.decorators import require_capability
from permissions.selectors import user_can
from returns.selectors import QUEUES, return_get, return_list_for_merchant
from returns.states import REASONS, ReturnKind, ReturnStatus

QUEUE_LABELS = {"decide": gettext_lazy("To decide"), "receive": gettext_lazy("To receive"),
                "inspect": gettext_lazy("To inspect"), "refund": gettext_lazy("To refund"), "all": gettext_lazy("All")}


def _can(request, cap: str) -> bool:
    return user_can(user=request.user, merchant=current_merchant(), capability=cap)


@require_capability("returns.view")
def return_list(request):
    queue = request.GET.get("queue", "decide")
    if queue not in QUEUES:
        queue = "decide"
    return render(request, "returns/return_list.html", {
        "queue": queue, "queues": [(k, QUEUE_LABELS[k]) for k in QUEUES],
        "returns": return_list_for_merchant(queue=queue),
        "status_labels": dict(ReturnStatus.choices), "kind_labels": dict(ReturnKind.choices),
    })


def _get_or_404(return_id: int):
    try:
        return return_get(return_id=return_id)
    except NotFound:
        raise Http404(_("No such return in this store.")) from None


@require_capability("returns.view")
def return_detail(request, return_id: int):
    from catalog.selectors import warehouse_list
    from fulfillment.carriers import CARRIERS
    from permissions.visibility import field_access

    ret = _get_or_404(return_id)
    S = ReturnStatus
    can = {"decide": _can(request, "returns.decide") and ret.status == S.REQUESTED,
           "receive": _can(request, "returns.receive") and ret.status in (S.AWAITING_RETURN_SHIPMENT, S.IN_TRANSIT),
           "inspect": _can(request, "returns.receive") and ret.status == S.RECEIVED,
           "refund": _can(request, "refunds.create") and ret.refund_id is None and ret.kind != ReturnKind.EXCHANGE
           and (ret.status == S.INSPECTED or (ret.kind == ReturnKind.REFUND_ONLY and ret.status == S.APPROVED)
                or ret.status in (S.AWAITING_RETURN_SHIPMENT, S.IN_TRANSIT, S.RECEIVED)),
           "ship_replacement": _can(request, "suborders.ship") and ret.kind == ReturnKind.EXCHANGE and ret.status == S.INSPECTED}
    return render(request, "returns/return_detail.html", {
        "ret": ret, "can": can, "amounts": field_access(user=request.user, merchant=current_merchant()).amounts,
        "warehouses": warehouse_list() if can["inspect"] else [], "reasons": REASONS,
        "status_label": dict(ReturnStatus.choices).get(ret.status), "kind_label": dict(ReturnKind.choices).get(ret.kind),
        "carriers": [(code, c.name) for code, c in CARRIERS.items()] if can["ship_replacement"] else [],
        "photos": list(ret.photos.values_list("pk", flat=True)), "reason_label": REASONS.get(ret.reason_code, ret.reason_code),
    })


@require_capability("returns.view")
def return_photo(request, return_id: int, photo_id: int):
    ret = _get_or_404(return_id)
    photo = ret.photos.filter(pk=photo_id).first()
    if photo is None:
        raise Http404(_("No such photo."))
    response = HttpResponse(bytes(photo.data), content_type=photo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _act(request, return_id: int, func, success: str):
    try:
        func()
        messages.success(request, success)
    except DomainError as err:
        messages.error(request, f"{err.message}" + (f" ({err.field})" if err.field else ""))
    return redirect("returns-detail", return_id=return_id)


@require_POST
@require_capability("returns.decide")
def return_decide(request, return_id: int):
    from returns.services import return_approve, return_refuse

    reason = request.POST.get("reason", "")
    if request.POST.get("decision") == "refuse":
        return _act(request, return_id, lambda: return_refuse(return_id=return_id, actor=request.user, reason=reason),
                    _("Refused; the shopper is told why."))
    return _act(request, return_id, lambda: return_approve(return_id=return_id, actor=request.user, reason=reason),
                _("Approved."))


@require_POST
@require_capability("returns.receive")
def return_receive_view(request, return_id: int):
    from returns.services import return_receive

    return _act(request, return_id, lambda: return_receive(return_id=return_id, actor=request.user), _("Received."))


@require_POST
@require_capability("returns.receive")
def return_inspect_view(request, return_id: int):
    from core.inputs import parse_int, parse_optional_id
    from returns.services import InspectLine, return_inspect

    def run():
        ret = _get_or_404(return_id)
        lines = []
        for i, rl in enumerate(ret.lines.all()):
            lines.append(InspectLine(
                rl.pk, parse_int(request.POST.get(f"restock_{rl.pk}") or "0", field=f"lines[{i}].restock_qty", minimum=0, maximum=10**6),
                parse_int(request.POST.get(f"write_off_{rl.pk}") or "0", field=f"lines[{i}].write_off_qty", minimum=0, maximum=10**6),
                parse_optional_id(request.POST.get(f"warehouse_{rl.pk}"), field=f"lines[{i}].warehouse_id")))
        return_inspect(return_id=return_id, actor=request.user, lines=lines, note=request.POST.get("note", ""))

    return _act(request, return_id, run, _("Inspected; the stock journal shows what was restocked or written off."))


@require_POST
@require_capability("refunds.create")
def return_refund_view(request, return_id: int):
    from returns.services import return_refund

    return _act(request, return_id, lambda: return_refund(return_id=return_id, actor=request.user,
                                                          reason=request.POST.get("reason", "")), _("Refund sent."))


@require_POST
@require_capability("suborders.ship")
def return_ship_replacement_view(request, return_id: int):
    from returns.services import return_ship_replacement

    return _act(request, return_id, lambda: return_ship_replacement(
        return_id=return_id, actor=request.user, carrier=request.POST.get("carrier", ""),
        tracking_number=request.POST.get("tracking_number", "")), _("Replacement shipped."))


@require_capability("returns.view")
def return_policy(request):
    from returns.services import return_policy_get, return_policy_update

    can_edit = _can(request, "returns.policy")
    error = None
    if request.method == "POST":
        if not can_edit:
            return render(request, "error.html", {"title": _("Not allowed"), "message": _(
                "Your role does not allow this (%(capability)s).") % {"capability": "returns.policy"}}, status=403)
        try:
            return_policy_update(actor=request.user, window_days=request.POST.get("window_days", ""),
                                 no_approval_reasons=request.POST.getlist("no_approval_reasons"),
                                 return_shipping_payer=request.POST.get("return_shipping_payer", ""),
                                 refund_requires_receipt=request.POST.get("refund_requires_receipt") == "on",
                                 answer_days=request.POST.get("answer_days", ""), ship_days=request.POST.get("ship_days", ""))
            messages.success(request, _("Return policy saved."))
            return redirect("returns-policy")
        except DomainError as err:
            error = err
    return render(request, "returns/return_policy.html", {"policy": return_policy_get(), "reasons": REASONS,
                                                          "can_edit": can_edit, "error": error}, status=400 if error else 200)
