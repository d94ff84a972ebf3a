"""Merchant dashboard: shoppers' cancellation requests waiting for a decision, and approve/refuse (also on
the suborder page). Capability `cancellations.decide` (owner, manager, customer service)."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from permissions.decorators import require_capability


@require_capability("cancellations.decide")
def cancellation_queue(request):
    from suborders.cancellations import cancellations_pending

    return render(request, "suborders/cancellations/queue.html", {"requests": cancellations_pending()})


@require_capability("cancellations.decide")
@require_POST
def cancellation_decide_view(request, request_id: int):
    from suborders.cancellations import cancellation_decide

    approve = request.POST.get("decision") == "approve"
    try:
        if request.POST.get("decision") not in ("approve", "refuse"):
            raise DomainError(_("Choose approve or refuse."), field="decision")
        cancellation_decide(request_id=request_id, actor=request.user, approve=approve, reason=request.POST.get("reason", ""))
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Approved: the units are cancelled and refunded.") if approve else _("Refused."))
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) or not back.startswith("/"):
        back = reverse("cancellations-queue")
    return redirect(back)
