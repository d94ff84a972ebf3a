"""The store's customers on the merchant dashboard (/customers/): list with search and tag filter, CSV/XLSX
export, and a customer's page with their orders here, tags and private notes. Reads and writes go through
suborders.customers; contacts are masked for roles without contacts.view (finance)."""
from __future__ import annotations

import io
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotFound
from core.exports import export_csv_chunks, export_xlsx
from core.tenancy import current_merchant
from permissions.decorators import require_capability
from permissions.selectors import user_can
from permissions.visibility import field_access, mask_address, mask_email, mask_name, mask_phone

PAGE = 50


def shown(customer, see) -> dict:
    """A customer's row as this viewer may see it (finance: email, name, phone and address masked)."""
    c = customer
    if see.contacts:
        email, name, phone, address = c.email, c.name, c.phone, c.address
    else:
        email, name, phone, address = mask_email(c.email), mask_name(c.name), mask_phone(c.phone), mask_address(c.address)
    row = {"key": c.key, "email": email, "name": name, "phone": phone, "address": address, "orders": c.orders,
           "first_order_at": c.first_order_at, "last_order_at": c.last_order_at, "tags": c.tags, "returns": c.returns,
           "tickets": c.tickets, "currency": c.currency}
    if see.amounts:
        row["spent_minor"] = c.spent_minor
    return row


def _filters(request) -> dict:
    return {"q": (request.GET.get("q") or "")[:100], "tag": (request.GET.get("tag") or "")[:40],
            "order": request.GET.get("order") or "-last"}


@require_capability("customers.view")
def customer_list(request):
    from suborders.customers import customers_list

    f = _filters(request)
    try:
        page = max(0, int(request.GET.get("page") or 0)) if (request.GET.get("page") or "0").isdigit() else 0
    except ValueError:
        page = 0
    see = field_access(user=request.user, merchant=current_merchant())
    try:
        rows = customers_list(actor=request.user, q=f["q"], tag=f["tag"], order=f["order"], limit=PAGE + 1, offset=page * PAGE)
        problem = ""
    except DomainError as err:
        rows, problem = [], err.message
    keep = {k: v for k, v in f.items() if v}
    return render(request, "suborders/customers/list.html", {
        "customers": [shown(c, see) for c in rows[:PAGE]], "f": f, "see": see, "problem": problem,
        "next_query": urlencode({**keep, "page": page + 1}) if len(rows) > PAGE else "",
        "export_query": urlencode(keep)}, status=400 if problem else 200)


@require_capability("customers.view")
def customer_export(request, fmt: str):
    from django.http import Http404

    from suborders.customers import customers_export_rows

    if fmt not in ("csv", "xlsx"):
        raise Http404(_("Export as csv or xlsx."))
    f = _filters(request)
    see = field_access(user=request.user, merchant=current_merchant())
    try:
        rows = [shown(c, see) for c in customers_export_rows(actor=request.user, q=f["q"], tag=f["tag"])]
    except DomainError as err:
        return render(request, "error.html", {"title": _("Check the search"), "message": err.message}, status=400)
    header = ["email", "name", "phone", "orders", *(["spent_minor", "currency"] if see.amounts else []),
              "first_order_at", "last_order_at", "returns", "tickets", "tags"]

    def lines():
        yield header
        for r in rows:
            yield [r["email"], r["name"], r["phone"], r["orders"], *([r["spent_minor"], r["currency"]] if see.amounts else []),
                   r["first_order_at"].isoformat(), r["last_order_at"].isoformat(), r["returns"] if r["returns"] is not None else "",
                   r["tickets"] if r["tickets"] is not None else "", " ".join(r["tags"])]

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    name = f"customers-{current_merchant().slug}-{stamp}"
    if fmt == "xlsx":
        buf = io.BytesIO()
        export_xlsx(lines(), buf, sheet="customers")
        resp = HttpResponse(buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        resp["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return resp
    resp = StreamingHttpResponse(export_csv_chunks(lines()), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return resp


@require_capability("customers.view")
def customer_detail(request, key: str):
    from django.http import Http404

    from suborders.customers import customer_get
    from suborders.states import SubOrderStatus

    try:
        detail = customer_get(actor=request.user, key=key)
    except NotFound as err:
        raise Http404(err.message) from None
    merchant = current_merchant()
    see = field_access(user=request.user, merchant=merchant)
    labels = dict(SubOrderStatus.choices)
    for so in detail.suborders:
        so.status_label = labels.get(so.status, so.status)
    return render(request, "suborders/customers/detail.html", {
        "c": shown(detail.customer, see), "suborders": detail.suborders, "notes": detail.notes, "see": see,
        "can_edit": user_can(user=request.user, merchant=merchant, capability="customers.edit")})


@require_capability("customers.edit")
@require_POST
def customer_note_view(request, key: str):
    from suborders.customers import customer_note_add

    try:
        customer_note_add(actor=request.user, key=key, text=request.POST.get("text", ""))
    except NotFound as err:
        from django.http import Http404

        raise Http404(err.message) from None
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Note added."))
    return redirect("customers-detail", key=key)


@require_capability("customers.edit")
@require_POST
def customer_tags_view(request, key: str):
    from suborders.customers import customer_tags_update

    try:
        customer_tags_update(actor=request.user, key=key, tags=request.POST.get("tags", ""))
    except NotFound as err:
        from django.http import Http404

        raise Http404(err.message) from None
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Tags saved."))
    return redirect("customers-detail", key=key)
