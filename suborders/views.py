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
from suborders.selectors import suborder_filters_for_actor, suborder_get, suborder_list_for_merchant
from suborders.states import SubOrderStatus

STATUS_LABELS = dict(SubOrderStatus.choices)
# One row of the suborder list (suborders/suborder_list.html), filled with escaped values in suborder_list.
_ROW = ('<tr data-number="{number}">{check}\n      <td><a href="{url}">{number}</a></td><td>{created}</td>\n'
        '      <td><span class="badge">{status}</span>{late}</td>\n'
        '      <td>{shopper}</td><td>{total}</td><td>{warehouse}</td><td>{channel}</td></tr>')
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
    from permissions.visibility import field_access, mask_name
    from suborders.selectors import suborder_list_filters_parse

    filters, errors = suborder_list_filters_parse(request.GET)
    see = field_access(user=request.user, merchant=current_merchant())
    if not see.amounts and filters.ordering in ("-total", "total"):
        from dataclasses import replace

        filters = replace(filters, ordering="-created")  # no sorting by what this role may not see
    page = suborder_list_for_merchant(filters=suborder_filters_for_actor(filters, actor=request.user))
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
    row_format = _ROW if see.amounts else _ROW.replace("<td>{total}</td>", "")
    for so in page.rows:
        number = escape(so.number)
        status = labels.get(so.status) or labels.setdefault(so.status, escape(str(STATUS_LABELS.get(so.status, so.status))))
        rows.append(row_format.format(
            number=number, url=escape(detail.replace("987654321", str(so.pk))),
            check=_CHECKBOX.format(pk=so.pk, label=escape(f"{select_label} {so.number}")) if checkboxes else "",
            created=timezone.localtime(so.created_at).strftime("%Y-%m-%d %H:%M"), status=status,
            late=late if so.is_late else "",
            shopper=escape(name if see.contacts else mask_name(name)) if (name := (so.shipping_address or {}).get("name", "")) else "",
            total=escape(Money(so.total_minor, so.currency).format()) if see.amounts else "",
            warehouse=escape(so.warehouse_name),
            channel="" if so.channel == "mallard" else
            f'<span class="badge" data-testid="channel">{escape(so.channel)}</span> {escape(so.external_order_id)}'))
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
        "orderings": [o for o in (("-created", _("Newest first")), ("created", _("Oldest first")), ("-total", _("Highest total")),
                                  ("total", _("Lowest total")), ("status", _("Status A–Z")), ("-status", _("Status Z–A")))
                      if see.amounts or "total" not in o[0]],
        "warehouses": warehouse_list(), "first_url": first_url, "rows": mark_safe("\n  ".join(rows)),  # noqa: S308  every value escaped above
        "can_bulk": can_bulk, "see": see,
    })


@require_capability("suborders.view")
def suborder_detail(request, suborder_id: int):
    try:
        so = suborder_get(suborder_id=suborder_id, actor=request.user)
    except NotFound as err:
        raise Http404(err.message) from None
    so.status_label = STATUS_LABELS.get(so.status, so.status)
    events = list(so.events.select_related("actor"))
    for ev in events:
        ev.from_label = STATUS_LABELS.get(ev.from_status, ev.from_status)
        ev.to_label = STATUS_LABELS.get(ev.to_status, ev.to_status)
    merchant = current_merchant()
    from automation.selectors import rule_runs_for_suborder

    for run in rule_runs_for_suborder(suborder_id=so.pk):  # automation rules that fired, on the same timeline
        run.is_rule_run = True
        events.append(run)
    events.sort(key=lambda ev: ev.at)
    from permissions.visibility import address_for, field_access, mask_name, mask_phone
    from suborders.edits import SWAPPABLE
    from suborders.states import HOLDS_RESERVATION

    see = field_access(user=request.user, merchant=merchant)
    if not see.contacts:  # a contact change's before → after, masked like the address itself
        masks = {"phone": mask_phone, "name": mask_name, "line1": lambda v: "***" if v else "",
                 "line2": lambda v: "***" if v else "", "note": lambda v: "***" if v else ""}
        for ev in events:
            if ev.action == "contact_changed":
                ev.lines = [{**c, "before": masks[c["field"]](c["before"]), "after": masks[c["field"]](c["after"])}
                            if c.get("field") in masks else c for c in ev.lines]
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
    from django.utils.translation import gettext as _

    from fulfillment.tracking_entry import KINDS

    can_edit_contact = (user_can(user=request.user, merchant=merchant, capability="suborders.edit_address")
                        and so.status in HOLDS_RESERVATION and not any(ln.shipped_qty for ln in lines))
    contact_labels = (("name", _("Recipient")), ("phone", _("Phone")), ("line1", _("Street")), ("line2", _("Street (more)")),
                      ("city", _("City")), ("region", _("Region")), ("postcode", _("Postcode")), ("country", _("Country")))
    swaps = []
    if user_can(user=request.user, merchant=merchant, capability="suborders.edit_lines") and so.status in SWAPPABLE:
        from catalog.models import Variant

        open_lines = [ln for ln in lines if not (ln.shipped_qty or ln.refused_qty or ln.cancelled_qty)]
        products = dict(Variant.objects.filter(pk__in=[ln.variant_id for ln in open_lines]).values_list("pk", "product_id"))
        siblings = {}
        for v in Variant.objects.filter(product_id__in=set(products.values()), is_active=True).order_by("id"):
            siblings.setdefault(v.product_id, []).append(v)
        for ln in open_lines:
            choices = [v for v in siblings.get(products.get(ln.variant_id), []) if v.pk != ln.variant_id]
            if choices:
                swaps.append({"line": ln, "choices": choices})
    from suborders.models import SubOrderUserObjectPermission

    assigned_to = ", ".join(SubOrderUserObjectPermission.objects.filter(content_object_id=so.pk).values_list("user__email", flat=True))
    agents = []
    if user_can(user=request.user, merchant=merchant, capability="suborders.assign"):
        from permissions.models import Membership

        agents = list(Membership.objects.filter(merchant=merchant, is_active=True, roles__contains=["customer_service"])
                      .select_related("user").order_by("user__email"))
    return render(request, "suborders/suborder_detail.html", {
        "swaps": swaps, "assigned_to": assigned_to, "agents": agents,
        "see": see, "shown_address": address_for(see, so.shipping_address), "can_edit_contact": can_edit_contact,
        "contact_fields": [(k, label, (so.shipping_address or {}).get(k, "")) for k, label in contact_labels]
        if can_edit_contact else [],
        "can_decide_cancellations": user_can(user=request.user, merchant=merchant, capability="cancellations.decide"),
        "can_release": so.held_at is not None and user_can(user=request.user, merchant=merchant, capability="suborders.accept"),
        "so": so, "lines": lines, "events": events, "money": money, "idempotency_key": uuid.uuid4().hex,
        "shipments": shipments, "can_print": user_can(user=request.user, merchant=merchant, capability="suborders.ship"),
        "tracking_kinds": KINDS.items(), "now_local": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "actions": suborder_actions_for(so=so, lines=lines, user=request.user, merchant=merchant),
        "reasons": [(k, v) for k, v in REASONS.items() if k != "not_accepted_in_time"], "carriers": CARRIERS.values()})
