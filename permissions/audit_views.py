"""The audit trail's pages: a store's owners and managers search and export their own books
(merchant host, /audit/); operators search every store's (mall host, /console/audit/)."""
from urllib.parse import urlencode

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import PermissionDenied
from core.exports import export_csv_chunks
from core.tenancy import assert_public_schema, current_merchant
from permissions.decorators import require_platform_capability
from permissions.selectors import AUDIT_PAGE, audit_changes, audit_entries_for_actor, audit_filters_parse

EXPORT_LIMIT = 100_000
FILTER_KEYS = ("entity", "entity_id", "action", "actor", "merchant", "date_from", "date_to")


def _page(request, *, merchant, template: str, base: dict):
    filters, problems = audit_filters_parse(request.GET)
    try:
        rows = list(audit_entries_for_actor(actor=request.user, merchant=merchant, filters=filters, limit=AUDIT_PAGE + 1))
    except PermissionDenied as exc:
        return render(request, "error.html", {"title": _("Not allowed"), "message": exc.message}, status=403)
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    keep = {k: request.GET[k][:254] for k in FILTER_KEYS if request.GET.get(k)}

    return render(request, template, {
        **base, "entries": [{"e": e, "changes": audit_changes(e)} for e in rows], "problems": problems,
        "f": {k: keep.get(k, "") for k in FILTER_KEYS},
        "next_query": urlencode({**keep, "before": rows[-1].pk}) if more else "",
        "export_query": urlencode(keep),
    }, status=400 if problems else 200)


def _export(request, *, merchant, filename: str):
    filters, problems = audit_filters_parse(request.GET)
    if problems:
        field, problem = next(iter(problems.items()))
        return render(request, "error.html", {"title": _("Check the filters"), "message": f"{field}: {problem}",
                                              "field": field}, status=400)
    try:
        rows = audit_entries_for_actor(actor=request.user, merchant=merchant, filters=filters, limit=EXPORT_LIMIT)
    except PermissionDenied as exc:
        return render(request, "error.html", {"title": _("Not allowed"), "message": exc.message}, status=403)

    def lines():
        yield ["time", "schema", "actor", "role", "via", "ip", "request_id", "entity", "entity_id", "action",
               "field", "before", "after", "seq", "hash"]
        for e in rows.iterator(chunk_size=2000):
            changes = audit_changes(e) or [("", None, None)]
            for field, before, after in changes:
                yield [timezone.localtime(e.at).isoformat(timespec="seconds"), e.schema_name, e.actor_email, e.role,
                       e.via, e.ip or "", e.request_id, e.entity, e.entity_id, e.action, field,
                       "" if before is None else before, "" if after is None else after, e.seq or "", e.hash]

    response = StreamingHttpResponse(export_csv_chunks(lines()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def audit_page(request):
    merchant = current_merchant()
    return _page(request, merchant=merchant, template="permissions/audit.html",
                 base={"base_template": "merchants/base_dashboard.html", "merchant": merchant})


def audit_export(request):
    merchant = current_merchant()
    return _export(request, merchant=merchant, filename=f"audit-{merchant.slug}.csv")


@require_platform_capability("audit.view_all")
def console_audit(request):
    assert_public_schema()
    from tenants.models import Merchant

    return _page(request, merchant=None, template="permissions/audit.html", base={
        "base_template": "base.html", "console": True,
        "merchants": Merchant.objects.filter(is_template=False).order_by("name").values("name", "schema_name")})


@require_platform_capability("audit.view_all")
def console_audit_export(request):
    assert_public_schema()
    return _export(request, merchant=None, filename="audit-mall.csv")
