"""Merchant dashboard pages about parcels (mounted at /parcels/ on merchant hosts): the flagged parcels,
a tracking event entered on the suborder page, and tracking events from a CSV/XLSX (preview, then
confirm). Each parses its input, calls one service or selector and renders or redirects."""
from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotFound
from core.spreadsheets import table_rows_parse
from permissions.decorators import require_capability


@require_capability("suborders.view")
def flagged_parcels(request):
    """This store's parcels with a carrier exception or without a scan for TRACKING_STALE_DAYS:
    exceptions first, then the longest silent."""
    from fulfillment.tracking import parcels_flagged_for_merchant

    reason = request.GET.get("reason", "")
    parcels = parcels_flagged_for_merchant()
    if reason in ("exception", "stale"):
        parcels = [p for p in parcels if p.reason == reason]
    detail = reverse("suborders-detail", args=[987654321])
    rows = [{"p": p, "url": detail.replace("987654321", str(p.suborder_id))} for p in parcels]
    return render(request, "fulfillment/flagged_parcels.html", {"rows": rows, "reason": reason,
                                                                "stale_days": settings.TRACKING_STALE_DAYS})


@require_POST
@require_capability("suborders.ship")
def tracking_event_add(request, shipment_id: int):
    """The suborder page's "add tracking event" form: kind, time (the viewer's zone), location, description."""
    from fulfillment.selectors import shipment_get
    from fulfillment.tracking_entry import shipment_tracking_event_enter, tracking_time_parse

    try:
        shipment = shipment_get(shipment_id=shipment_id)
    except NotFound as err:
        raise Http404(err.message) from None
    post = request.POST
    try:
        at_text = post.get("at", "").strip()
        at = tracking_time_parse(at_text, zone=timezone.get_current_timezone()) if at_text else None
        _event, created = shipment_tracking_event_enter(
            shipment_id=shipment.pk, actor=request.user, kind=post.get("kind", ""), at=at,
            location=post.get("location", ""), description=post.get("description", ""), key=post.get("key", ""))
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Tracking event added.") if created else _("This tracking event was already added."))
    return redirect(reverse("suborders-detail", args=[shipment.suborder_id]))


@require_capability("suborders.ship")
def tracking_import(request):
    """Tracking events from a CSV or XLSX: every row is checked and shown with its problem; nothing is
    written until the user confirms, and then only the good rows are recorded (checked again)."""
    from fulfillment.tracking_entry import (
        CSV_ALIASES,
        CSV_COLUMNS,
        CSV_ONE_OF,
        CSV_OPTIONAL,
        CSV_REQUIRED,
        tracking_rows_apply,
        tracking_rows_check,
    )

    zone = timezone.get_current_timezone()
    if request.method == "POST" and request.POST.get("confirm") == "1":
        try:
            raw = json.loads(request.POST.get("rows", "[]"))
        except ValueError:
            raw = []
        rows = [{c: str(r.get(c, ""))[:400] for c in CSV_COLUMNS} for r in raw[:2000] if isinstance(r, dict)]
        result = tracking_rows_apply(rows=rows, actor=request.user, zone=zone)
        messages.success(request, _("%(n)s tracking events recorded; %(a)s were already recorded.")
                         % {"n": result.recorded, "a": result.already})
        for row, problem in result.failed[:20]:
            messages.error(request, _("Row %(row)s: %(problem)s") % {"row": row, "problem": problem})
        return redirect("parcels-tracking-import")
    preview = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise DomainError(_("Choose a CSV or XLSX file."), field="file")
            rows = table_rows_parse(upload.name, upload.read(), required=CSV_REQUIRED, optional=CSV_OPTIONAL,
                                    one_of=CSV_ONE_OF, aliases=CSV_ALIASES)
            preview = tracking_rows_check(rows=rows, zone=zone)
        except DomainError as err:
            messages.error(request, err.message)
    good = [r for r in preview or [] if r.ok]
    return render(request, "fulfillment/tracking_import.html", {
        "preview": preview, "good": len(good), "already": sum(1 for r in preview or [] if r.already),
        "bad": sum(1 for r in preview or [] if r.problem), "columns": CSV_COLUMNS, "zone": str(zone),
        "rows_json": json.dumps([{c: r.values.get(c, "") for c in CSV_COLUMNS} for r in good], ensure_ascii=False)},
        status=200)
