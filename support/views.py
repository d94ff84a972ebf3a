"""Support pages: the shopper's tickets on the mall host (/support/tickets/), the store's inbox, threads, canned
replies and support hours on its host (/tickets/), and the operator's queue, threads, dispute decisions and SLA
records on the console (/console/support/). Each view parses input, calls one service, renders."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.errors import DomainError, NotFound
from core.inputs import parse_id, parse_optional_id
from core.tenancy import assert_public_schema, current_merchant, in_public_schema
from permissions.decorators import require_capability, require_platform_capability
from support import selectors, services
from support.attachments import MAX_BYTES, attachments_check
from support.states import DisputeOutcome, Priority, TicketStatus

MAX_READ = MAX_BYTES + 1


def _files(request) -> list:
    """Uploaded files as (name, bytes), each read to one byte past the limit (the check refuses it)."""
    return [(f.name or "", f.read(MAX_READ)) for f in request.FILES.getlist("files")[:20]]


def _error_status(err: DomainError) -> int:
    return err.status


def _attachment_response(att) -> HttpResponse:
    resp = HttpResponse(bytes(att.data), content_type=att.content_type)
    disposition = "inline" if att.content_type.startswith("image/") or att.content_type == "application/pdf" else "attachment"
    resp["Content-Disposition"] = f'{disposition}; filename="{att.filename.encode("ascii", "replace").decode()}"'
    resp["X-Content-Type-Options"] = "nosniff"
    resp["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return resp


# --- the shopper (mall host) -------------------------------------------------------------------------------

@login_required
def my_tickets(request):
    assert_public_schema()
    rows = selectors.tickets_with_sla(selectors.tickets_for_shopper(shopper=request.user))
    return render(request, "support/my_tickets.html", {"rows": rows})


@login_required
def ticket_new(request):
    """"Contact the store" from an order page: the order and the store are named in the query (GET) or form."""
    from orders.models import Order, SubOrderMirror

    assert_public_schema()
    src = request.POST if request.method == "POST" else request.GET
    number = (src.get("order") or "")[:32]
    order = Order.objects.filter(number=number, shopper_id=request.user.pk).first()
    if order is None:
        raise Http404("No such order of yours.")
    stores = list(SubOrderMirror.objects.filter(order=order).select_related("merchant").order_by("merchant_id", "suborder_id"))
    ctx = {"order": order, "stores": stores, "priorities": Priority.choices, "form": src, "error": None}
    if request.method == "POST":
        try:
            merchant_id = parse_id(src.get("merchant", ""), field="merchant_id")
            ticket, _created = services.ticket_open(
                shopper=request.user, order_number=order.number, merchant_id=merchant_id,
                suborder_id=parse_optional_id(src.get("suborder", ""), field="suborder_id"),
                order_line_id=parse_optional_id(src.get("line", ""), field="order_line_id"),
                return_id=parse_optional_id(src.get("return", ""), field="return_id"),
                subject=src.get("subject", ""), body=src.get("body", ""), priority=src.get("priority", "normal"),
                files=attachments_check(_files(request), field="files"), idempotency_key=src.get("idempotency_key", ""))
            return redirect("support-my-ticket", ticket.pk)
        except DomainError as err:
            ctx["error"] = err
            return render(request, "support/ticket_new.html", ctx, status=_error_status(err))
    return render(request, "support/ticket_new.html", ctx)


@login_required
def my_ticket(request, ticket_id: int):
    """The shopper's thread (never an internal note) and their reply."""
    assert_public_schema()
    acting = services.as_shopper(request.user)
    error, status = None, 200
    if request.method == "POST":
        try:
            services.ticket_message_post(acting=acting, ticket_id=ticket_id, body=request.POST.get("body", ""),
                                         files=attachments_check(_files(request), field="files"),
                                         idempotency_key=request.POST.get("idempotency_key", ""))
            return redirect("support-my-ticket", ticket_id)
        except NotFound:
            raise Http404("No such ticket.") from None
        except DomainError as err:
            error, status = err, err.status
    try:
        ticket = selectors.ticket_get(acting=acting, ticket_id=ticket_id)
    except NotFound:
        raise Http404("No such ticket.") from None
    return render(request, "support/my_ticket.html", {
        "ticket": ticket, "thread": selectors.ticket_messages(ticket=ticket, acting=acting), "error": error,
        "form": request.POST, "sla": selectors.ticket_sla_state(ticket),
        "dispute": getattr(ticket, "dispute", None) if hasattr(ticket, "dispute") else None}, status=status)


@login_required
def my_ticket_action(request, ticket_id: int):
    """resolve | close | reopen | dispute."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    assert_public_schema()
    acting = services.as_shopper(request.user)
    action = request.POST.get("action", "")
    try:
        if action == "dispute":
            services.dispute_open(acting=acting, ticket_id=ticket_id, reason=request.POST.get("reason", ""))
            messages.success(request, _("The mall's customer service will look at it and decide."))
        else:
            to = {"resolve": TicketStatus.RESOLVED, "close": TicketStatus.CLOSED,
                  "reopen": TicketStatus.WAITING_ON_MERCHANT}.get(action, action)
            services.ticket_status_set(acting=acting, ticket_id=ticket_id, to=to)
    except NotFound:
        raise Http404("No such ticket.") from None
    except DomainError as err:
        messages.error(request, f"{err.field}: {err.message}" if err.field else err.message)
    return redirect("support-my-ticket", ticket_id)


@login_required
def my_ticket_attachment(request, ticket_id: int, attachment_id: int):
    try:
        att = selectors.attachment_get(acting=services.as_shopper(request.user), ticket_id=ticket_id,
                                       attachment_id=attachment_id)
    except NotFound:
        raise Http404("No such file.") from None
    return _attachment_response(att)


# --- the store (merchant host) -----------------------------------------------------------------------------

def _merchant():
    merchant = current_merchant()
    if merchant is None:
        raise Http404
    return merchant


@require_capability("tickets.view")
def inbox(request):
    merchant = _merchant()
    status = (request.GET.get("status") or "active")[:30]
    q = (request.GET.get("q") or "")[:100]
    with in_public_schema():
        rows = selectors.tickets_with_sla(selectors.tickets_for_merchant(actor=request.user, merchant=merchant,
                                                                         status=status, q=q))
    return render(request, "support/inbox.html", {"rows": rows, "status": status, "q": q,
                                                  "filters": selectors.STATUS_FILTERS})


def _staff_who_answer(merchant) -> list:
    from permissions.models import Membership
    from permissions.roles import roles_allow

    return [m.user for m in Membership.objects.filter(merchant_id=merchant.pk, is_active=True).select_related("user")
            .order_by("user__email") if roles_allow(m.roles, "tickets.reply")]


def _thread_context(request, merchant, ticket_id: int) -> dict:
    from permissions.selectors import user_can

    acting = services.as_merchant(request.user, merchant)
    try:
        ticket = selectors.ticket_get(acting=acting, ticket_id=ticket_id)
    except NotFound:
        raise Http404("No such ticket.") from None
    return {"ticket": ticket, "thread": selectors.ticket_messages(ticket=ticket, acting=acting),
            "sla": selectors.ticket_sla_state(ticket), "canned": selectors.canned_replies_for_merchant(merchant=merchant),
            "staff": _staff_who_answer(merchant), "statuses": TicketStatus.choices,
            "dispute": getattr(ticket, "dispute", None) if hasattr(ticket, "dispute") else None,
            "events": list(ticket.events.select_related("actor").order_by("-pk")[:30]),
            "can_reply": user_can(user=request.user, merchant=merchant, capability="tickets.reply"),
            "can_manage": user_can(user=request.user, merchant=merchant, capability="tickets.manage")}


@require_capability("tickets.view")
def thread(request, ticket_id: int):
    merchant = _merchant()
    with in_public_schema():
        ctx = _thread_context(request, merchant, ticket_id)
    return render(request, "support/thread.html", ctx)


def _merchant_post(request, ticket_id: int, do) -> HttpResponse:
    """Run one write for a thread page; a refusal re-renders the thread with the field named."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    merchant = _merchant()
    with in_public_schema():  # rendering happens back on the store's host (its URLconf and base page)
        try:
            do(merchant)
            return redirect("support-ticket", ticket_id)
        except NotFound:
            raise Http404("No such ticket.") from None
        except DomainError as err:
            ctx, error = _thread_context(request, merchant, ticket_id), err
    return render(request, "support/thread.html", {**ctx, "error": error, "form": request.POST}, status=error.status)


@require_capability("tickets.reply")
def reply(request, ticket_id: int):
    return _merchant_post(request, ticket_id, lambda merchant: services.ticket_message_post(
        acting=services.as_merchant(request.user, merchant), ticket_id=ticket_id, body=request.POST.get("body", ""),
        internal=request.POST.get("internal") == "on", files=attachments_check(_files(request), field="files"),
        idempotency_key=request.POST.get("idempotency_key", "")))


@require_capability("tickets.reply")
def status_set(request, ticket_id: int):
    return _merchant_post(request, ticket_id, lambda merchant: services.ticket_status_set(
        acting=services.as_merchant(request.user, merchant), ticket_id=ticket_id, to=request.POST.get("status", ""),
        reason=request.POST.get("reason", "")))


@require_capability("tickets.manage")
def assign(request, ticket_id: int):
    return _merchant_post(request, ticket_id, lambda merchant: services.ticket_assign(
        actor=request.user, merchant=merchant, ticket_id=ticket_id,
        assignee_id=parse_optional_id(request.POST.get("assigned_to", ""), field="assigned_to")))


@require_capability("tickets.reply")
def dispute(request, ticket_id: int):
    return _merchant_post(request, ticket_id, lambda merchant: services.dispute_open(
        acting=services.as_merchant(request.user, merchant), ticket_id=ticket_id, reason=request.POST.get("reason", "")))


@require_capability("tickets.view")
def attachment(request, ticket_id: int, attachment_id: int):
    merchant = _merchant()
    with in_public_schema():
        try:
            att = selectors.attachment_get(acting=services.as_merchant(request.user, merchant), ticket_id=ticket_id,
                                           attachment_id=attachment_id)
        except NotFound:
            raise Http404("No such file.") from None
    return _attachment_response(att)


@require_capability("tickets.manage")
def canned(request):
    merchant = _merchant()
    error, status = None, 200
    with in_public_schema():
        if request.method == "POST":
            try:
                if request.POST.get("action") == "delete":
                    services.canned_reply_delete(actor=request.user, merchant=merchant,
                                                 reply_id=parse_id(request.POST.get("reply_id", ""), field="reply_id"))
                else:
                    services.canned_reply_save(actor=request.user, merchant=merchant, title=request.POST.get("title", ""),
                                               body=request.POST.get("body", ""),
                                               reply_id=parse_optional_id(request.POST.get("reply_id", ""), field="reply_id"))
                return redirect("support-canned")
            except DomainError as err:
                error, status = err, err.status
        replies = selectors.canned_replies_for_merchant(merchant=merchant)
    return render(request, "support/canned.html", {"replies": replies, "error": error, "form": request.POST},
                  status=status)


WEEKDAYS = [(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")), (6, _("Sun"))]


@require_capability("tickets.manage")
def support_settings(request):
    """Support hours, time zone, holidays, reopen window and SLA targets per priority."""
    from core.inputs import parse_int

    merchant = _merchant()
    error, status = None, 200
    with in_public_schema():
        policy = services.policy_for_merchant(merchant.pk)
        if request.method == "POST":
            p = request.POST
            try:
                targets = {pr: (parse_int(p.get(f"first_{pr}", ""), field=f"targets.{pr}.first_response", minimum=1),
                                parse_int(p.get(f"resolution_{pr}", ""), field=f"targets.{pr}.resolution", minimum=1))
                           for pr in Priority.values}
                services.support_policy_update(
                    actor=request.user, merchant=merchant, time_zone=p.get("time_zone", "")[:64], opens=p.get("opens", ""),
                    closes=p.get("closes", ""), weekdays=[int(d) for d in p.getlist("weekdays") if len(d) == 1 and d in "0123456"],
                    holidays=[h for h in p.get("holidays", "").replace(",", "\n").split() if h][:400],
                    reopen_days=parse_int(p.get("reopen_days", ""), field="reopen_days", minimum=0, maximum=90),
                    targets=targets)
                messages.success(request, _("Support hours saved; running SLA clocks were re-planned."))
                return redirect("support-settings")
            except DomainError as err:
                error, status = err, err.status
    cal = policy.calendar
    return render(request, "support/settings.html", {
        "policy": policy, "cal": cal, "weekdays": WEEKDAYS, "holidays": "\n".join(sorted(d.isoformat() for d in cal.holidays)),
        "targets": [(value, label, policy.targets[value][0] // 60, policy.targets[value][1] // 60)
                    for value, label in Priority.choices], "error": error}, status=status)


# --- the operator (console) ----------------------------------------------------------------------------------

@require_platform_capability("tickets.view_all")
def console_queue(request):
    from permissions.selectors import platform_can

    assert_public_schema()
    show = "all" if request.GET.get("show") == "all" else "open"
    rows = selectors.tickets_with_sla(selectors.escalations_for_operator(show=show))
    return render(request, "support/console_queue.html", {"rows": rows, "show": show,
                                                          "can_decide": platform_can(request.user, "disputes.decide")})


def _console_ticket_context(request, ticket_id: int) -> dict:
    from permissions.selectors import platform_can

    acting = services.as_operator(request.user)
    try:
        ticket = selectors.ticket_get(acting=acting, ticket_id=ticket_id)
    except NotFound:
        raise Http404("No such ticket.") from None
    dispute_row = getattr(ticket, "dispute", None) if hasattr(ticket, "dispute") else None
    return {"ticket": ticket, "thread": selectors.ticket_messages(ticket=ticket, acting=acting),
            "sla": selectors.ticket_sla_state(ticket), "dispute": dispute_row,
            "decision": getattr(dispute_row, "decision", None) if dispute_row and hasattr(dispute_row, "decision") else None,
            "outcomes": DisputeOutcome.choices, "events": list(ticket.events.select_related("actor").order_by("-pk")[:50]),
            "can_decide": platform_can(request.user, "disputes.decide"),
            "can_operate": platform_can(request.user, "tickets.operate")}


@require_platform_capability("tickets.view_all")
def console_ticket(request, ticket_id: int):
    assert_public_schema()
    return render(request, "support/console_ticket.html", _console_ticket_context(request, ticket_id))


@require_platform_capability("tickets.operate")
def console_ticket_reply(request, ticket_id: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    assert_public_schema()
    try:
        services.ticket_message_post(acting=services.as_operator(request.user), ticket_id=ticket_id,
                                     body=request.POST.get("body", ""), internal=request.POST.get("internal") == "on",
                                     files=attachments_check(_files(request), field="files"))
    except NotFound:
        raise Http404("No such ticket.") from None
    except DomainError as err:
        ctx = _console_ticket_context(request, ticket_id)
        return render(request, "support/console_ticket.html", {**ctx, "error": err, "form": request.POST}, status=err.status)
    return redirect("console-support-ticket", ticket_id)


@require_platform_capability("disputes.decide")
def console_dispute_decide(request, dispute_id: int):
    """Decide with an outcome, an amount (major units, the order's currency) and a reason; audited."""
    from core.money import Money
    from support.models import Dispute

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    assert_public_schema()
    found = Dispute.objects.filter(pk=dispute_id).first()
    if found is None:
        raise Http404("No such dispute.")
    try:
        outcome = request.POST.get("outcome", "")
        amount_text = (request.POST.get("amount") or "").strip()
        amount = Money.parse(amount_text, found.currency, field="amount").minor if amount_text and outcome != "refused" else 0
        decision = services.dispute_decide(actor=request.user, dispute_id=dispute_id, outcome=outcome, amount_minor=amount,
                                           reason=request.POST.get("reason", ""))
        messages.success(request, _("Decided: %(outcome)s.") % {"outcome": DisputeOutcome(decision.outcome).label})
    except DomainError as err:
        ctx = _console_ticket_context(request, found.ticket_id)
        return render(request, "support/console_ticket.html", {**ctx, "error": err, "form": request.POST}, status=err.status)
    return redirect("console-support-ticket", found.ticket_id)


@require_platform_capability("tickets.view_all")
def console_sla(request):
    from core.inputs import parse_int

    assert_public_schema()
    try:
        days = parse_int(request.GET.get("days") or "90", field="days", minimum=1, maximum=3650)
    except DomainError:
        days = 90
    return render(request, "support/console_sla.html", {"records": selectors.sla_records(days=days), "days": days})


@require_platform_capability("tickets.view_all")
def console_attachment(request, ticket_id: int, attachment_id: int):
    assert_public_schema()
    try:
        att = selectors.attachment_get(acting=services.as_operator(request.user), ticket_id=ticket_id,
                                       attachment_id=attachment_id)
    except NotFound:
        raise Http404("No such file.") from None
    return _attachment_response(att)
