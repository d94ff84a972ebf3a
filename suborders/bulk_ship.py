"""Mark many suborders shipped from a CSV/XLSX of (suborder, carrier, tracking_number): every row is
checked first and shown in a preview with its problem; nothing is written until the user confirms,
and then only the good rows ship (each in its own transaction, re-checked)."""
from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.spreadsheets import MAX_ROWS, table_rows_parse
from fulfillment.carriers import carrier_get
from permissions.decorators import require_capability
from suborders.models import SubOrder

HEADERS = ("suborder", "carrier", "tracking_number")


def parse_rows(name: str, data: bytes) -> list[dict]:
    """Rows as dicts with the three columns (header row required), from CSV (UTF-8) or XLSX."""
    return table_rows_parse(name, data, required=HEADERS, max_rows=MAX_ROWS)


def check_rows(rows: list[dict]) -> list[dict]:
    """Each row with `problem` ('' when it can ship) and the suborder id; reads only."""
    numbers = {r["suborder"] for r in rows}
    found = {so.number: so for so in SubOrder.objects.filter(number__in=numbers).prefetch_related("lines")}
    seen: set[str] = set()
    out = []
    for i, r in enumerate(rows, start=2):
        so = found.get(r["suborder"])
        carrier = carrier_get(r["carrier"])
        number = r["tracking_number"].upper().replace(" ", "")
        problem = ""
        if so is None:
            problem = _("No suborder %(n)s in this store.") % {"n": r["suborder"] or "—"}
        elif so.status not in ("accepted", "partially_shipped"):
            problem = _("Suborder is %(s)s: it cannot ship.") % {"s": so.get_status_display()}
        elif not any(ln.to_ship_qty for ln in so.lines.all()):
            problem = _("Nothing left to ship.")
        elif carrier is None:
            problem = _("Unknown carrier %(c)s.") % {"c": r["carrier"] or "—"}
        elif not carrier.valid(number):
            problem = _("%(t)s is not a %(c)s tracking number.") % {"t": number or "—", "c": carrier.name}
        elif r["suborder"] in seen:
            problem = _("This suborder appears twice in the file.")
        seen.add(r["suborder"])
        out.append({"row": i, **r, "tracking_number": number, "suborder_id": so.pk if so else None, "problem": problem})
    return out


@require_capability("suborders.ship")
def bulk_ship(request):
    from fulfillment.shipments import shipment_create

    if request.method == "POST" and request.POST.get("confirm") == "1":
        try:
            rows = json.loads(request.POST.get("rows", "[]"))[:MAX_ROWS]
        except ValueError:
            rows = []
        shipped, failed = 0, []
        for r in check_rows([{h: str(x.get(h, "")) for h in HEADERS} for x in rows if isinstance(x, dict)]):
            if r["problem"]:
                failed.append(f"{r['suborder']}: {r['problem']}")
                continue
            try:
                shipment_create(suborder_id=r["suborder_id"], actor=request.user, lines=None, carrier=r["carrier"],
                                tracking_number=r["tracking_number"])
                shipped += 1
            except DomainError as err:
                failed.append(f"{r['suborder']}: {err.message}")
        messages.success(request, _("%(n)s suborders shipped.") % {"n": shipped})
        for f in failed[:20]:
            messages.error(request, f)
        return redirect("suborders-bulk-ship")
    preview = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise DomainError(_("Choose a CSV or XLSX file."), field="file")
            preview = check_rows(parse_rows(upload.name, upload.read()))
        except DomainError as err:
            messages.error(request, err.message)
    good = [r for r in preview or [] if not r["problem"]]
    return render(request, "suborders/bulk_ship.html", {
        "preview": preview, "good": len(good), "bad": len(preview or []) - len(good),
        "rows_json": json.dumps([{h: r[h] for h in HEADERS} for r in good])})
