"""Support reads: each list and detail knows its audience (the shopper, a store's staff, the operator) and
filters in the query; the shopper's reads never contain an internal note."""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from support import errors
from support.models import CannedReply, Dispute, Ticket, TicketAttachment, TicketMessage
from support.services import Acting, _assigned_only, _check_access, clock_elapsed, policy_for_merchant
from support.states import ACTIVE, DONE, Party

STATUS_FILTERS = ("open", "waiting_on_merchant", "waiting_on_shopper", "resolved", "closed", "active", "breached",
                  "escalated", "mine", "unassigned")


def _base():
    return Ticket.objects.select_related("merchant", "order", "assigned_to", "shopper")


def tickets_for_shopper(*, shopper, limit: int = 200) -> list[Ticket]:
    return list(_base().filter(shopper_id=shopper.pk).order_by("-last_message_at", "-pk")[:limit])


def tickets_for_merchant(*, actor, merchant, status: str = "", q: str = "", limit: int = 200) -> list[Ticket]:
    """The store's tickets for this member (an agent limited to their assignments sees only theirs)."""
    qs = _base().filter(merchant_id=merchant.pk)
    if _assigned_only(actor, merchant):
        qs = qs.filter(assigned_to_id=actor.pk)
    if status == "active":
        qs = qs.filter(status__in=ACTIVE)
    elif status == "breached":
        qs = qs.filter(Q(first_response_breached_at__isnull=False) | Q(resolution_breached_at__isnull=False))
    elif status == "escalated":
        qs = qs.filter(escalated_at__isnull=False)
    elif status == "mine":
        qs = qs.filter(assigned_to_id=actor.pk)
    elif status == "unassigned":
        qs = qs.filter(assigned_to__isnull=True, status__in=ACTIVE)
    elif status in STATUS_FILTERS:
        qs = qs.filter(status=status)
    if q:
        text = q.strip()[:100]
        cond = Q(subject__icontains=text) | Q(order__number__icontains=text) | Q(shopper__email__icontains=text)
        if text.upper().startswith("T-") and text[2:].isascii() and text[2:].isdigit():
            cond |= Q(pk=int(text[2:]))
        qs = qs.filter(cond)
    return list(qs.order_by("-last_message_at", "-pk")[:limit])


def ticket_get(*, acting: Acting, ticket_id: int) -> Ticket:
    """One ticket as this actor may see it; not a party (or no such ticket): NotFound."""
    ticket = _base().filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(_("No such ticket."), field="ticket", code=errors.NOT_PARTY)
    _check_access(acting, ticket, "tickets.view")
    return ticket


def ticket_messages(*, ticket: Ticket, acting: Acting) -> list[TicketMessage]:
    """The thread; the shopper's never holds an internal note (filtered in the query)."""
    qs = TicketMessage.objects.filter(ticket=ticket).select_related("author").prefetch_related("attachments")
    if acting.party == Party.SHOPPER:
        qs = qs.filter(internal=False)
    return list(qs.order_by("pk"))


def attachment_get(*, acting: Acting, ticket_id: int, attachment_id: int) -> TicketAttachment:
    ticket = ticket_get(acting=acting, ticket_id=ticket_id)
    qs = TicketAttachment.objects.filter(pk=attachment_id, message__ticket=ticket)
    if acting.party == Party.SHOPPER:
        qs = qs.filter(message__internal=False)
    found = qs.first()
    if found is None:
        raise NotFound(_("No such file."), field="attachment")
    return found


def canned_replies_for_merchant(*, merchant) -> list[CannedReply]:
    return list(CannedReply.objects.filter(merchant_id=merchant.pk).order_by("title"))


@dataclass(frozen=True)
class ClockState:
    clock: str  # first_response | resolution
    state: str  # met | breached | running | paused | stopped
    seconds_left: int | None  # business seconds (negative: over by)
    due_at: dt.datetime | None

    @property
    def label(self) -> str:
        return {"met": _("met"), "breached": _("breached"), "running": _("running"), "paused": _("paused"),
                "stopped": _("stopped")}[self.state]

    @property
    def left_text(self) -> str:
        if self.seconds_left is None:
            return ""
        s = abs(self.seconds_left)
        text = f"{s // 3600}h {s % 3600 // 60:02d}m"
        return text if self.seconds_left >= 0 else _("%(t)s over") % {"t": text}


def ticket_sla_state(ticket: Ticket, *, now=None, policy=None) -> list[ClockState]:
    """Both clocks as the inbox shows them: time left in business hours, or breached."""
    now = now or timezone.now()
    policy = policy or policy_for_merchant(ticket.merchant_id)
    elapsed = clock_elapsed(ticket, now, policy.calendar)
    running = ticket.clock_started_at is not None
    out = []
    if ticket.first_response_at is not None:
        met = ticket.first_response_s is not None and ticket.first_response_s <= ticket.first_response_target_s
        out.append(ClockState("first_response", "met" if met and not ticket.first_response_breached_at else "breached",
                              None, None))
    else:
        left = ticket.first_response_target_s - elapsed
        state = "breached" if ticket.first_response_breached_at or left < 0 else ("running" if running else "paused")
        out.append(ClockState("first_response", state, left, ticket.first_response_due_at))
    if ticket.status in DONE:
        out.append(ClockState("resolution", "breached" if ticket.resolution_breached_at else "met", None, None))
    else:
        left = ticket.resolution_target_s - elapsed
        state = "breached" if ticket.resolution_breached_at or left < 0 else ("running" if running else "paused")
        out.append(ClockState("resolution", state, left, ticket.resolution_due_at))
    return out


def tickets_with_sla(tickets: list[Ticket], *, now=None) -> list[dict]:
    now = now or timezone.now()
    policies: dict = {}
    rows = []
    for t in tickets:
        policy = policies.setdefault(t.merchant_id, policy_for_merchant(t.merchant_id))
        rows.append({"ticket": t, "sla": ticket_sla_state(t, now=now, policy=policy)})
    return rows


# --- the operator ------------------------------------------------------------------------------------------

def escalations_for_operator(*, show: str = "open", limit: int = 300) -> list[Ticket]:
    """Escalated tickets of every store (an SLA breach or a dispute), open ones first by age."""
    qs = _base().filter(escalated_at__isnull=False).select_related("dispute")
    if show == "open":
        qs = qs.filter(Q(dispute__status=Dispute.Status.OPEN) | Q(dispute__isnull=True, status__in=ACTIVE))
    return list(qs.order_by("escalated_at", "pk")[:limit])


def disputes_open_for_operator() -> list[Dispute]:
    return list(Dispute.objects.filter(status=Dispute.Status.OPEN).select_related("ticket", "ticket__merchant", "opened_by")
                .order_by("created_at"))


@dataclass(frozen=True)
class SlaRecord:
    merchant_id: int
    merchant_name: str
    tickets: int
    breached: int
    escalated: int
    disputes: int
    median_first_response_s: int | None

    @property
    def breach_rate(self) -> float:
        return round(100 * self.breached / self.tickets, 1) if self.tickets else 0.0

    @property
    def median_first_response_text(self) -> str:
        s = self.median_first_response_s
        return "—" if s is None else f"{s // 3600}h {s % 3600 // 60:02d}m"


def sla_records(*, days: int = 90, now=None, merchant_id: int | None = None) -> list[SlaRecord]:
    """Each store's SLA record over the last `days`: tickets, breach rate, median first response (business time)."""
    from tenants.models import Merchant

    now = now or timezone.now()
    qs = Ticket.objects.filter(created_at__gte=now - dt.timedelta(days=days))
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    counts = {row["merchant_id"]: row for row in qs.values("merchant_id").annotate(
        n=Count("pk"), breached=Count("pk", filter=Q(first_response_breached_at__isnull=False)
                                      | Q(resolution_breached_at__isnull=False)),
        escalated=Count("pk", filter=Q(escalated_at__isnull=False)), disputes=Count("dispute"))}
    firsts: dict[int, list[int]] = {}
    for mid, s in qs.filter(first_response_s__isnull=False).values_list("merchant_id", "first_response_s"):
        firsts.setdefault(mid, []).append(s)
    names = dict(Merchant.objects.filter(pk__in=counts).values_list("pk", "name"))
    return sorted((SlaRecord(mid, names.get(mid, str(mid)), row["n"], row["breached"], row["escalated"], row["disputes"],
                             int(statistics.median(firsts[mid])) if firsts.get(mid) else None)
                   for mid, row in counts.items()), key=lambda r: (-r.breach_rate, r.merchant_name))
