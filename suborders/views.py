"""Merchant dashboard: this store's suborders (list with a status filter, detail with its timeline).

The request runs in the merchant's own schema, so these pages can only ever read its suborders.
"""
import uuid
from html import escape

from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch
from django.utils.safestring import mark_safe

from core.errors import NotFound
from core.tenancy import current_merchant, in_public_schema
from payments.selectors import suborder_money_summary
from permissions.decorators import require_capability
from permissions.selectors import user_can
from suborders.selectors import suborder_get, suborder_list_for_merchant
from suborders.states import SubOrderStatus

STATUS_LABELS = dict(SubOrderStatus.choices)
# One row of the suborder list (suborders/suborder_list.html), filled with escaped values in suborder_list.
_ROW = ('<tr data-number="{number}">{check}\n      <td><a href="{url}">{number}</a></td><td>{created}</td>\n'
        '      <td><span class="badge">{status}</span>{late}</td>\n'
        '      <td>{shopper}</td><td>{total}</td><td>{warehouse}</td></tr>')
_CHECKBOX = ('<td><input type="checkbox" name="ids" value="{pk}" form="bulk-form" aria-label="{label}" '
             'data-testid="select-{pk}"></td>')


@require_capability("suborders.view")
def suborder_list(request):
    """Filters, search box, sort, a page at a time (next-page link), bulk-select for suborders-bulk.

    A refused filter value is named in a message and left out; the list is shown without it.
    """
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from catalog.selectors import warehouse_list
    from core.money import Money
    from fulfillment.carriers import CARRIERS
    from suborders.selectors import suborder_list_filters_parse

    filters, errors = suborder_list_filters_parse(request.GET)
    page = suborder_list_for_merchant(filters=filters)
    can_bulk = user_can(user=request.user, merchant=current_merchant(), capability="suborders.accept")
    try:
        checkboxes = can_bulk and bool(reverse("suborders-bulk"))
    except NoReverseMatch:
        checkboxes = False
    # The rows are made here as HTML, every value escaped (html.escape, which Django's escape wraps), not
    # by the template: 50 rows of {% url %}, |date and |money, and then the ~700 variable and tag nodes
    # of the row loop, were most of the page's time (docs/benchmarks.md, dashboard).
    detail = reverse("suborders-detail", args=[987654321])
    labels, select_label = {}, _("Select")
    late = f' <span class="badge low" data-testid="late">{escape(_("Late"))}</span>'
    rows = []
    for so in page.rows:
        number = escape(so.number)
        status = labels.get(so.status) or labels.setdefault(so.status, escape(str(STATUS_LABELS.get(so.status, so.status))))
        rows.append(_ROW.format(
            number=number, url=escape(detail.replace("987654321", str(so.pk))),
            check=_CHECKBOX.format(pk=so.pk, label=escape(f"{select_label} {so.number}")) if checkboxes else "",
            created=timezone.localtime(so.created_at).strftime("%Y-%m-%d %H:%M"), status=status,
            late=late if so.is_late else "", shopper=escape((so.shipping_address or {}).get("name", "")),
            total=escape(Money(so.total_minor, so.currency).format()), warehouse=escape(so.warehouse_name)))
    query = request.GET.copy()
    query.pop("cursor", None)
    first_url = "?" + query.urlencode() if filters.after else ""
    next_url = ""
    if page.next_cursor:
        query["cursor"] = page.next_cursor
        next_url = "?" + query.urlencode()
    return render(request, "suborders/suborder_list.html", {
        "suborders": page.rows, "errors": errors, "searched": page.searched, "next_url": next_url,
        "params": request.GET, "status": filters.status or "", "ordering": filters.ordering,
        "statuses": SubOrderStatus.choices, "carriers": CARRIERS.values(),
        "orderings": [("-created", _("Newest first")), ("created", _("Oldest first")), ("-total", _("Highest total")),
                      ("total", _("Lowest total")), ("status", _("Status A–Z")), ("-status", _("Status Z–A"))],
        "warehouses": warehouse_list(), "first_url": first_url, "rows": mark_safe("\n  ".join(rows)),  # noqa: S308  every value escaped above
        "can_bulk": can_bulk,
    })


@require_capability("suborders.view")
def suborder_detail(request, suborder_id: int):
    try:
        so = suborder_get(suborder_id=suborder_id)
    except NotFound as err:
        raise Http404(err.message) from None
    so.status_label = STATUS_LABELS.get(so.status, so.status)
    events = list(so.events.select_related("actor"))
    for ev in events:
        ev.from_label = STATUS_LABELS.get(ev.from_status, ev.from_status)
        ev.to_label = STATUS_LABELS.get(ev.to_status, ev.to_status)
    merchant = current_merchant()
    money = {}
    if user_can(user=request.user, merchant=merchant, capability="payments.view"):
        with in_public_schema():
            money = suborder_money_summary(merchant_id=merchant.pk, suborder_id=so.pk)
        money["can_refund"] = money.get("paid") and user_can(user=request.user, merchant=merchant, capability="refunds.create")
    lines = list(so.lines.all())
    from fulfillment.carriers import CARRIERS, carrier_get
    from suborders.selectors import suborder_actions_for
    from suborders.states import REASONS

    shipments = list(so.shipments.prefetch_related("lines__line", "events"))
    for sh in shipments:
        c = carrier_get(sh.carrier)
        sh.carrier_name, sh.track_link = (c.name, c.link(sh.tracking_number)) if c else (sh.carrier, "")
    from django.utils import timezone

    from fulfillment.tracking_entry import KINDS

    return render(request, "suborders/suborder_detail.html", {
        "so": so, "lines": lines, "events": events, "money": money, "idempotency_key": uuid.uuid4().hex,
        "shipments": shipments, "can_print": user_can(user=request.user, merchant=merchant, capability="suborders.ship"),
        "tracking_kinds": KINDS.items(), "now_local": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "actions": suborder_actions_for(so=so, lines=lines, user=request.user, merchant=merchant),
        "reasons": [(k, v) for k, v in REASONS.items() if k != "not_accepted_in_time"], "carriers": CARRIERS.values()})
