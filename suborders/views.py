"""Merchant dashboard: this store's suborders (list with a status filter, detail with its timeline).

The request runs in the merchant's own schema, so these pages can only ever read its suborders.
"""
import uuid

from django.http import Http404
from django.shortcuts import render

from core.errors import NotFound
from core.tenancy import current_merchant, in_public_schema
from payments.selectors import suborder_money_summary
from permissions.decorators import require_capability
from permissions.selectors import user_can
from suborders.selectors import suborder_get, suborder_list_for_merchant
from suborders.states import SubOrderStatus

STATUS_LABELS = dict(SubOrderStatus.choices)


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
    # Per-row values are made here, not by template tags: 50 rows of {% url %}, |date and |money were
    # most of the page's time (docs/benchmarks.md, dashboard).
    detail = reverse("suborders-detail", args=[987654321])
    labels = {}
    for so in page.rows:
        so.status_label = labels.get(so.status) or labels.setdefault(so.status, str(STATUS_LABELS.get(so.status, so.status)))
        so.detail_url = detail.replace("987654321", str(so.pk))
        so.created_label = timezone.localtime(so.created_at).strftime("%Y-%m-%d %H:%M")
        so.total_label = Money(so.total_minor, so.currency).format()
        so.shopper_name = (so.shipping_address or {}).get("name", "")
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
        "warehouses": warehouse_list(), "first_url": first_url,
        "can_bulk": user_can(user=request.user, merchant=current_merchant(), capability="suborders.accept"),
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
