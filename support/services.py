"""Support writes: tickets (open, messages, status, assignment), SLA clocks and their sweep, canned replies,
support policies, disputes and the operator's decisions.

Every write locks the ticket row first (`select_for_update(of=("self",))`), then writes the change, its
`TicketEvent` and its outbox event in one transaction (public schema). `ticket_transition` is the only code
that assigns `Ticket.status`. Who may act is decided here, through permissions.policy.authorize, for pages,
API and tasks alike.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from core.inputs import clean_text
from core.outbox import outbox_emit
from core.tenancy import platform_only
from permissions.policy import authorize
from support import errors
from support.attachments import CheckedFile
from support.models import (
    CannedReply,
    Dispute,
    DisputeDecision,
    SupportPolicy,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)
from support.sla import BusinessCalendar, business_add, business_seconds_between
from support.states import (
    CLOCK_RUNS,
    DEFAULT_TARGETS,
    DONE,
    WARN_AT_PERCENT,
    DisputeOutcome,
    Party,
    Priority,
    TicketStatus,
    can_transition,
)

T = TicketStatus
MAX_BODY = 5000
MAX_SUBJECT = 200


# --- policy and calendar -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    calendar: BusinessCalendar
    targets: dict[str, tuple[int, int]]  # priority -> (first response s, resolution s), business seconds
    reopen_days: int


def policy_for_merchant(merchant_id: int) -> Policy:
    row = SupportPolicy.objects.filter(merchant_id=merchant_id).first()
    targets = {p: (fr * 60, res * 60) for p, (fr, res) in DEFAULT_TARGETS.items()}
    if row is None:
        return Policy(BusinessCalendar(), targets, 7)
    for p, pair in (row.targets or {}).items():
        if p in targets and isinstance(pair, list | tuple) and len(pair) == 2:
            targets[p] = (int(pair[0]) * 60, int(pair[1]) * 60)
    cal = BusinessCalendar(time_zone=row.time_zone, opens=_as_time(row.opens), closes=_as_time(row.closes),
                           weekdays=frozenset(row.weekdays or (0, 1, 2, 3, 4)), holidays=frozenset(row.holidays or ()))
    return Policy(cal, targets, row.reopen_days)


def _as_time(value) -> dt.time:
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


# --- the SLA clock -------------------------------------------------------------------------------------

def clock_elapsed(ticket: Ticket, now: dt.datetime, cal: BusinessCalendar) -> int:
    """Business seconds the clock has run so far."""
    running = business_seconds_between(ticket.clock_started_at, now, cal) if ticket.clock_started_at else 0
    return ticket.clock_elapsed_s + running


def _at_elapsed(ticket: Ticket, seconds: int, cal: BusinessCalendar) -> dt.datetime | None:
    """When the running clock reaches `seconds` of business time (None while paused)."""
    if ticket.clock_started_at is None:
        return None
    if seconds <= ticket.clock_elapsed_s:  # already used up before the clock (re)started: due at once
        return ticket.clock_started_at
    return business_add(ticket.clock_started_at, seconds - ticket.clock_elapsed_s, cal)


def _checks(ticket: Ticket, cal: BusinessCalendar) -> list[tuple[str, str, dt.datetime]]:
    """The clock's pending marks: (clock, warning|breach, when)."""
    out = []
    pending = []
    if ticket.first_response_at is None:
        pending.append(("first_response", ticket.first_response_target_s, ticket.first_response_warned_at,
                        ticket.first_response_breached_at))
    if ticket.status not in DONE:
        pending.append(("resolution", ticket.resolution_target_s, ticket.resolution_warned_at, ticket.resolution_breached_at))
    for clock, target, warned, breached in pending:
        if breached is not None:
            continue
        if warned is None:
            at = _at_elapsed(ticket, target * WARN_AT_PERCENT // 100, cal)
            if at is not None:
                out.append((clock, "warning", at))
        at = _at_elapsed(ticket, target, cal)
        if at is not None:
            out.append((clock, "breach", at))
    return out


def _clock_refresh(ticket: Ticket, cal: BusinessCalendar) -> None:
    """Due times and the sweep's next check, from the clock fields (null while paused or stopped)."""
    ticket.first_response_due_at = (_at_elapsed(ticket, ticket.first_response_target_s, cal)
                                    if ticket.first_response_at is None else None)
    ticket.resolution_due_at = _at_elapsed(ticket, ticket.resolution_target_s, cal) if ticket.status not in DONE else None
    marks = [at for _c, _k, at in _checks(ticket, cal)]
    ticket.sla_next_check_at = min(marks) if marks else None


def _clock_follow_status(ticket: Ticket, now: dt.datetime, cal: BusinessCalendar) -> None:
    """Run the clock while the store owes an answer; pause it otherwise (its elapsed time is kept)."""
    runs = ticket.status in CLOCK_RUNS
    if runs and ticket.clock_started_at is None:
        ticket.clock_started_at = now
    elif not runs and ticket.clock_started_at is not None:
        ticket.clock_elapsed_s = clock_elapsed(ticket, now, cal)
        ticket.clock_started_at = None
    _clock_refresh(ticket, cal)


# --- events -----------------------------------------------------------------------------------------

def _payload(ticket: Ticket, **extra) -> dict:
    return {"ticket_id": ticket.pk, "merchant_id": ticket.merchant_id, "order_id": ticket.order_id,
            "suborder_id": ticket.suborder_id, "status": ticket.status, **extra}


def _emit(topic: str, ticket: Ticket, **extra) -> None:
    outbox_emit(topic=topic, aggregate_type="ticket", aggregate_id=ticket.pk, payload=_payload(ticket, **extra))


def _event(ticket: Ticket, action: str, *, actor=None, reason: str = "", from_status: str = "", to_status: str = "",
           now=None) -> TicketEvent:
    return TicketEvent.objects.create(ticket=ticket, actor=actor if getattr(actor, "pk", None) else None, action=action,
                                      from_status=from_status, to_status=to_status, reason=reason[:300],
                                      at=now or timezone.now())


def _lock(ticket_id: int) -> Ticket:
    ticket = Ticket.objects.select_for_update(of=("self",)).filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(_("No such ticket."), field="ticket")
    return ticket


# --- who is acting, and may they -----------------------------------------------------------------------

@dataclass(frozen=True)
class Acting:
    """Who acts on a ticket, and as which party: the shopper (mall host), a store's staff (its host, with the
    store), or an operator (console)."""

    user: object
    party: str
    merchant: object | None = None


def as_shopper(user) -> Acting:
    return Acting(user, Party.SHOPPER)


def as_merchant(user, merchant) -> Acting:
    return Acting(user, Party.MERCHANT, merchant)


def as_operator(user) -> Acting:
    return Acting(user, Party.OPERATOR)


def _assigned_only(user, merchant) -> bool:
    from permissions.models import Membership

    return Membership.objects.filter(user_id=user.pk, merchant_id=merchant.pk, is_active=True, assigned_only=True).exists()


def _check_access(acting: Acting, ticket: Ticket, capability: str) -> None:
    """Refuse an actor who is not a party (as 404: the ticket is not visible to them) or lacks the capability."""
    user = acting.user
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to do this."), code="not_authenticated")
    if acting.party == Party.SHOPPER:
        if ticket.shopper_id != user.pk:
            raise NotFound(_("No such ticket."), field="ticket", code=errors.NOT_PARTY)
        return
    if acting.party == Party.MERCHANT:
        authorize(user, capability, merchant=acting.merchant)
        if acting.merchant is None or ticket.merchant_id != acting.merchant.pk:
            raise NotFound(_("No such ticket."), field="ticket", code=errors.NOT_PARTY)
        if ticket.assigned_to_id != user.pk and _assigned_only(user, acting.merchant):
            raise NotFound(_("No such ticket."), field="ticket", code=errors.NOT_PARTY)
        return
    if acting.party == Party.OPERATOR:
        authorize(user, {"tickets.view": "tickets.view_all", "tickets.reply": "tickets.operate"}.get(capability, capability))
        return
    raise PermissionDenied(_("Not allowed."))


# --- tickets --------------------------------------------------------------------------------------------

def _files_save(message: TicketMessage, files: list[CheckedFile]) -> None:
    TicketAttachment.objects.bulk_create([
        TicketAttachment(message=message, filename=f.filename, content_type=f.content_type, size=len(f.data),
                         sha256=f.sha256, data=f.data) for f in files])


@platform_only
def ticket_open(*, shopper, order_number: str, merchant_id: int, subject: str, body: str, priority: str = Priority.NORMAL,
                suborder_id: int | None = None, order_line_id: int | None = None, return_id: int | None = None,
                files: list[CheckedFile] | None = None, idempotency_key: str = "", now=None) -> tuple[Ticket, bool]:
    """A shopper opens a ticket with one store of their order. Returns (ticket, created); a retry with the same
    idempotency key returns the first ticket."""
    from orders.models import Order, OrderLine, SubOrderMirror

    if shopper is None or not getattr(shopper, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to contact a store."), code="not_authenticated")
    key = (idempotency_key or "").strip()[:200]
    if key:
        existing = Ticket.objects.filter(shopper_id=shopper.pk, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    subject = clean_text(subject, field="subject", max_length=MAX_SUBJECT, required=True)
    body = clean_text(body, field="body", max_length=MAX_BODY, required=True)
    if priority not in Priority.values:
        raise ValidationFailed(_("Choose a priority: %(list)s.") % {"list": ", ".join(Priority.values)}, field="priority")
    order = Order.objects.filter(number=str(order_number)[:32], shopper_id=shopper.pk).first()
    if order is None:
        raise NotFound(_("No such order of yours."), field="order")
    mirrors = list(SubOrderMirror.objects.filter(order=order, merchant_id=merchant_id).order_by("suborder_id"))
    if not mirrors:
        raise ValidationFailed(_("This store has no part in the order."), field="merchant_id")
    if suborder_id is not None and suborder_id not in {m.suborder_id for m in mirrors}:
        raise ValidationFailed(_("No such suborder of this store in the order."), field="suborder_id")
    if suborder_id is None and len(mirrors) == 1:
        suborder_id = mirrors[0].suborder_id
    line = None
    if order_line_id is not None:
        line = OrderLine.objects.filter(pk=order_line_id, order=order, merchant_id=merchant_id).first()
        if line is None:
            raise ValidationFailed(_("No such line of this store in the order."), field="order_line_id")
        suborder_id = suborder_id or line.suborder_id
    policy = policy_for_merchant(merchant_id)
    first_s, resolution_s = policy.targets[priority]
    now = now or timezone.now()
    try:
        with transaction.atomic():
            ticket = Ticket(shopper=shopper, order=order, merchant_id=merchant_id, suborder_id=suborder_id, order_line=line,
                            return_id=return_id, subject=subject, priority=priority, status=T.OPEN, created_at=now,
                            updated_at=now, last_message_at=now, first_response_target_s=first_s,
                            resolution_target_s=resolution_s, idempotency_key=key)
            _clock_follow_status(ticket, now, policy.calendar)
            ticket.save()
            message = TicketMessage.objects.create(ticket=ticket, author=shopper, party=Party.SHOPPER, body=body, created_at=now)
            _files_save(message, files or [])
            _event(ticket, "opened", actor=shopper, to_status=T.OPEN, reason=subject, now=now)
            _emit("ticket.opened", ticket, priority=priority)
    except IntegrityError:
        existing = Ticket.objects.filter(shopper_id=shopper.pk, idempotency_key=key).first() if key else None
        if existing is None:
            raise
        return existing, False
    return ticket, True


def ticket_transition(*, ticket: Ticket, to: str, actor=None, reason: str = "", now=None,
                      policy: Policy | None = None) -> Ticket:
    """The only code assigning `Ticket.status` (the caller holds the row lock): checks the table, moves the
    SLA clock, writes the TicketEvent and the outbox event."""
    if not can_transition(ticket.status, to):
        raise InvalidTransition(_("A ticket that is %(from)s cannot become %(to)s.")
                                % {"from": T(ticket.status).label, "to": T(to).label if to in T.values else to},
                                field="status")
    now = now or timezone.now()
    policy = policy or policy_for_merchant(ticket.merchant_id)
    before = ticket.status
    ticket.status = to
    if to == T.RESOLVED:
        ticket.resolved_at = now
    elif to == T.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif before in DONE:  # reopened
        ticket.closed_at = None
    _clock_follow_status(ticket, now, policy.calendar)
    ticket.updated_at = now
    ticket.save()
    _event(ticket, "status", actor=actor, from_status=before, to_status=to, reason=reason, now=now)
    _emit("ticket.status_changed", ticket, **{"from": before, "to": to, "reason": reason[:300]})
    return ticket


def _reopen_window_check(ticket: Ticket, policy: Policy, now) -> None:
    if ticket.status not in DONE:
        return
    ended = ticket.resolved_at or ticket.closed_at or now
    if now > ended + dt.timedelta(days=policy.reopen_days):
        raise Conflict(_("This ticket was closed more than %(days)s days ago and cannot be reopened; please open a new one.")
                       % {"days": policy.reopen_days}, field="ticket", code=errors.CLOSED)


@platform_only
def ticket_message_post(*, acting: Acting, ticket_id: int, body: str, internal: bool = False,
                        files: list[CheckedFile] | None = None, idempotency_key: str = "", now=None) -> TicketMessage:
    """A message on a ticket. The shopper's reopens a resolved ticket within the reopen window and puts the ball
    back with the store; the store's first visible answer stops the first-response clock and waits on the
    shopper. An internal note (staff only) changes nothing else and is never shown or sent to the shopper."""
    body = clean_text(body, field="body", max_length=MAX_BODY, required=True)
    if internal and acting.party == Party.SHOPPER:
        raise ValidationFailed(_("Only staff write internal notes."), field="internal")
    now = now or timezone.now()
    key = (idempotency_key or "").strip()[:200]
    with transaction.atomic():
        ticket = _lock(ticket_id)
        _check_access(acting, ticket, "tickets.reply")
        if key:
            existing = TicketMessage.objects.filter(ticket=ticket, author_id=acting.user.pk, idempotency_key=key).first()
            if existing is not None:
                return existing
        policy = policy_for_merchant(ticket.merchant_id)
        if not internal:
            _reopen_window_check(ticket, policy, now)
        message = TicketMessage.objects.create(ticket=ticket, author=acting.user, party=acting.party, body=body,
                                               internal=bool(internal), created_at=now, idempotency_key=key)
        _files_save(message, files or [])
        if internal:
            return message
        ticket.last_message_at = now
        if acting.party == Party.SHOPPER:
            if ticket.status in DONE or ticket.status == T.WAITING_ON_SHOPPER:
                ticket_transition(ticket=ticket, to=T.WAITING_ON_MERCHANT, actor=acting.user, now=now, policy=policy,
                                  reason="reopened by the shopper" if ticket.status in DONE else "the shopper answered")
        elif acting.party == Party.MERCHANT:
            if ticket.first_response_at is None:
                ticket.first_response_at = now
                ticket.first_response_s = clock_elapsed(ticket, now, policy.calendar)
                _clock_refresh(ticket, policy.calendar)
            if ticket.status in (T.OPEN, T.WAITING_ON_MERCHANT):
                ticket_transition(ticket=ticket, to=T.WAITING_ON_SHOPPER, actor=acting.user, now=now, policy=policy,
                                  reason="the store answered")
        elif acting.party == Party.OPERATOR and ticket.operator_joined_at is None:
            ticket.operator_joined_at = now
            _event(ticket, "operator_joined", actor=acting.user, now=now)
        ticket.updated_at = now
        ticket.save()
        _emit("ticket.replied", ticket, message_id=message.pk, party=acting.party)
    return message


# what each party may set the status to by hand (reopening goes through a message, or here within the window)
_PARTY_TARGETS = {
    Party.SHOPPER: {T.RESOLVED, T.CLOSED, T.WAITING_ON_MERCHANT},
    Party.MERCHANT: {T.WAITING_ON_SHOPPER, T.WAITING_ON_MERCHANT, T.RESOLVED, T.CLOSED},
    Party.OPERATOR: set(T.values) - {T.OPEN},
}


@platform_only
def ticket_status_set(*, acting: Acting, ticket_id: int, to: str, reason: str = "", now=None) -> Ticket:
    if to not in T.values or to not in _PARTY_TARGETS.get(acting.party, set()):
        raise ValidationFailed(_("Choose a status you may set."), field="status")
    reason = clean_text(reason, field="reason", max_length=300)
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _lock(ticket_id)
        _check_access(acting, ticket, "tickets.reply")
        policy = policy_for_merchant(ticket.merchant_id)
        if ticket.status in DONE and to not in DONE:
            _reopen_window_check(ticket, policy, now)
        return ticket_transition(ticket=ticket, to=to, actor=acting.user, reason=reason or f"set by the {acting.party}",
                                 now=now, policy=policy)


@platform_only
def ticket_assign(*, actor, merchant, ticket_id: int, assignee_id: int | None) -> Ticket:
    """Give a ticket to a member of the store who may answer tickets (None: unassign)."""
    from permissions.models import User
    from permissions.roles import roles_allow
    from permissions.selectors import membership_roles

    authorize(actor, "tickets.manage", merchant=merchant)
    assignee = None
    if assignee_id is not None:
        assignee = User.objects.filter(pk=assignee_id, is_active=True).first()
        if assignee is None or not roles_allow(membership_roles(user=assignee, merchant=merchant), "tickets.reply"):
            raise ValidationFailed(_("Assign the ticket to a member of this store who answers tickets."), field="assigned_to")
    with transaction.atomic():
        ticket = _lock(ticket_id)
        if ticket.merchant_id != merchant.pk:
            raise NotFound(_("No such ticket."), field="ticket", code=errors.NOT_PARTY)
        from permissions.services import audit_record

        audit_record(actor=actor, entity="ticket", entity_id=ticket.pk, action="assign",
                     before={"assigned_to": ticket.assigned_to.email if ticket.assigned_to else None},
                     after={"assigned_to": assignee.email if assignee else None}, schema_name=merchant.schema_name)
        ticket.assigned_to = assignee
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["assigned_to", "updated_at"])
        _event(ticket, "assigned", actor=actor, reason=assignee.email if assignee else "unassigned")
        _emit("ticket.assigned", ticket, assigned_to=assignee.pk if assignee else None)
    return ticket


# --- escalation and the SLA sweep ---------------------------------------------------------------------------

def _escalate(ticket: Ticket, *, reason: str, actor=None, now) -> None:
    if ticket.escalated_at is not None:
        return
    ticket.escalated_at = now
    ticket.escalation_reason = reason
    _event(ticket, "escalated", actor=actor, reason=reason, now=now)
    _emit("ticket.escalated", ticket, reason=reason)


def _sla_check(ticket: Ticket, now, policy: Policy) -> list[str]:
    """Warn and breach what is due at `now` (each at most once per ticket), escalate a breach, re-plan."""
    done = []
    for clock, kind, at in sorted(_checks(ticket, policy.calendar), key=lambda c: c[2]):
        if at > now:
            continue
        if kind == "warning" and getattr(ticket, f"{clock}_warned_at") is None:
            setattr(ticket, f"{clock}_warned_at", now)
            _event(ticket, "sla_warning", reason=clock, now=now)
            _emit("ticket.sla_warning", ticket, clock=clock, due_at=_at_elapsed(ticket, getattr(ticket, f"{clock}_target_s"),
                                                                                  policy.calendar).isoformat())
            done.append(f"{clock}:warning")
        elif kind == "breach" and getattr(ticket, f"{clock}_breached_at") is None:
            setattr(ticket, f"{clock}_warned_at", getattr(ticket, f"{clock}_warned_at") or now)
            setattr(ticket, f"{clock}_breached_at", now)
            _event(ticket, "sla_breached", reason=clock, now=now)
            _emit("ticket.sla_breached", ticket, clock=clock, due_at=at.isoformat())
            _escalate(ticket, reason=f"sla_{clock}", now=now)
            done.append(f"{clock}:breach")
    _clock_refresh(ticket, policy.calendar)
    return done


@platform_only
def sla_sweep(*, now=None, limit: int = 500) -> int:
    """Beat: tickets whose next SLA mark is due, found through the partial index on `sla_next_check_at`, across
    every store at once (all public rows). Rows locked by a concurrent sweep are skipped; each mark is written
    once (its *_at field), so two sweeps at once, or one run twice, warn and escalate once."""
    now = now or timezone.now()
    handled = 0
    with transaction.atomic():
        tickets = list(Ticket.objects.select_for_update(of=("self",), skip_locked=True)
                       .filter(sla_next_check_at__isnull=False, sla_next_check_at__lte=now)
                       .order_by("sla_next_check_at", "pk")[:limit])
        policies: dict[int, Policy] = {}
        for ticket in tickets:
            policy = policies.setdefault(ticket.merchant_id, policy_for_merchant(ticket.merchant_id))
            _sla_check(ticket, now, policy)
            ticket.save()
            handled += 1
    return handled


@platform_only
def ticket_clock_recompute(*, merchant_id: int, now=None) -> int:
    """After a store changes its hours or holidays: re-plan the due times of its running tickets."""
    now = now or timezone.now()
    policy = policy_for_merchant(merchant_id)
    count = 0
    with transaction.atomic():
        for ticket in Ticket.objects.select_for_update(of=("self",)).filter(merchant_id=merchant_id,
                                                                            clock_started_at__isnull=False).order_by("pk"):
            ticket.clock_elapsed_s = clock_elapsed(ticket, now, policy.calendar)
            ticket.clock_started_at = now
            _clock_refresh(ticket, policy.calendar)
            ticket.save()
            count += 1
    return count


# --- disputes ---------------------------------------------------------------------------------------------

@platform_only
def dispute_open(*, acting: Acting, ticket_id: int, reason: str, requested_minor: int = 0, now=None) -> Dispute:
    """The shopper or the store asks the mall to decide: the ticket is escalated to the operator."""
    if acting.party not in (Party.SHOPPER, Party.MERCHANT):
        raise PermissionDenied(_("Only the shopper or the store opens a dispute."))
    reason = clean_text(reason, field="reason", max_length=1000, required=True)
    if not isinstance(requested_minor, int) or isinstance(requested_minor, bool) or not 0 <= requested_minor <= 10**12:
        raise ValidationFailed(_("The amount must be a whole number of minor units, 0 or more."), field="requested_minor")
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _lock(ticket_id)
        _check_access(acting, ticket, "tickets.reply")
        if Dispute.objects.filter(ticket=ticket).exists():
            raise Conflict(_("This ticket is already before the mall's operator."), field="ticket", code=errors.DISPUTE_EXISTS)
        if requested_minor > ticket.order.total_minor:
            raise ValidationFailed(_("You cannot ask back more than the order's total."), field="requested_minor")
        dispute = Dispute.objects.create(ticket=ticket, opened_by=acting.user, opened_by_party=acting.party, reason=reason,
                                         requested_minor=requested_minor, currency=ticket.order.currency, created_at=now)
        TicketMessage.objects.create(ticket=ticket, author=acting.user, party=acting.party, created_at=now,
                                     body=_("Asked the mall's operator to decide: %(reason)s") % {"reason": reason})
        _event(ticket, "dispute_opened", actor=acting.user, reason=reason, now=now)
        _emit("dispute.opened", ticket, dispute_id=dispute.pk, party=acting.party, requested_minor=requested_minor,
              currency=dispute.currency)
        _escalate(ticket, reason="dispute", actor=acting.user, now=now)
        ticket.last_message_at = ticket.updated_at = now
        ticket.save()
    return dispute


@platform_only
def dispute_decide(*, actor, dispute_id: int, outcome: str, amount_minor: int, reason: str, now=None) -> DisputeDecision:
    """The operator decides: refund from the store's share, refund at the mall's cost, or refuse. A refund goes
    through payments.services.refund_create (limits checked under the payment's lock; sent after commit); the
    decision records who bears it, and `dispute.decided` carries it to settlements. Audited in the store's books."""
    from orders.models import SubOrderMirror
    from payments.services import refund_create
    from permissions.services import audit_record

    authorize(actor, "disputes.decide")
    if outcome not in DisputeOutcome.values:
        raise ValidationFailed(_("Choose an outcome: %(list)s.") % {"list": ", ".join(DisputeOutcome.values)}, field="outcome")
    reason = clean_text(reason, field="reason", max_length=1000, required=True)
    refunding = outcome != DisputeOutcome.REFUSED
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor < 0 or amount_minor > 10**12:
        raise ValidationFailed(_("The amount must be a whole number of minor units."), field="amount")
    if refunding and amount_minor <= 0:
        raise ValidationFailed(_("A refund decision needs an amount above zero."), field="amount")
    if not refunding:
        amount_minor = 0
    now = now or timezone.now()
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update(of=("self",)).filter(pk=dispute_id).first()
        if dispute is None:
            raise NotFound(_("No such dispute."), field="dispute")
        ticket = _lock(dispute.ticket_id)
        if dispute.status != Dispute.Status.OPEN:
            raise Conflict(_("This dispute was already decided."), field="dispute", code=errors.DISPUTE_DECIDED)
        suborder_id = ticket.suborder_id
        if suborder_id is None:
            suborder_id = (SubOrderMirror.objects.filter(order_id=ticket.order_id, merchant_id=ticket.merchant_id)
                           .order_by("suborder_id").values_list("suborder_id", flat=True).first())
        refund = None
        if refunding:
            if suborder_id is None:
                raise Conflict(_("The order has no suborder of this store to refund."), field="dispute", code=errors.NO_SUBORDER)
            refund, _created = refund_create(actor=actor, merchant_id=ticket.merchant_id, suborder_id=suborder_id,
                                             custom_minor=amount_minor, reason=f"Dispute {ticket.number}: {reason}"[:300],
                                             idempotency_key=f"dispute-{dispute.pk}", system=True)
        bearer = {DisputeOutcome.MERCHANT_REFUND: DisputeDecision.Bearer.MERCHANT,
                  DisputeOutcome.PLATFORM_REFUND: DisputeDecision.Bearer.PLATFORM}.get(outcome, DisputeDecision.Bearer.NONE)
        decision = DisputeDecision.objects.create(dispute=dispute, outcome=outcome, bearer=bearer, amount_minor=amount_minor,
                                                  currency=dispute.currency, reason=reason, decided_by=actor, decided_at=now,
                                                  refund=refund, merchant_id=ticket.merchant_id, suborder_id=suborder_id)
        dispute.status = Dispute.Status.DECIDED
        dispute.save(update_fields=["status"])
        from core.money import Money

        text = {DisputeOutcome.MERCHANT_REFUND: _("The mall's operator decided: %(amount)s refunded from the store's share."),
                DisputeOutcome.PLATFORM_REFUND: _("The mall's operator decided: %(amount)s refunded at the mall's cost."),
                DisputeOutcome.REFUSED: _("The mall's operator decided: no refund.")}[outcome]
        TicketMessage.objects.create(ticket=ticket, author=actor, party=Party.OPERATOR, created_at=now,
                                     body=f"{text % {'amount': Money(amount_minor, dispute.currency).format()}} {reason}")
        ticket.operator_joined_at = ticket.operator_joined_at or now
        ticket.last_message_at = now
        _event(ticket, "dispute_decided", actor=actor, reason=f"{outcome}: {reason}", now=now)
        from tenants.models import Merchant

        audit_record(actor=actor, entity="dispute", entity_id=dispute.pk, action="decide",
                     after={"ticket": ticket.number, "outcome": outcome, "bearer": bearer, "amount_minor": amount_minor,
                            "currency": dispute.currency, "reason": reason, "refund_id": refund.pk if refund else None},
                     schema_name=Merchant.objects.filter(pk=ticket.merchant_id).values_list("schema_name", flat=True).first())
        _emit("dispute.decided", ticket, dispute_id=dispute.pk, decision_id=decision.pk, outcome=outcome, bearer=bearer,
              amount_minor=amount_minor, currency=dispute.currency, refund_id=refund.pk if refund else None,
              decided_by=actor.pk)
        if ticket.status not in DONE:
            ticket_transition(ticket=ticket, to=T.RESOLVED, actor=actor, reason="dispute decided", now=now)
        else:
            ticket.save()
    return decision


# --- the store's side: canned replies and support hours ------------------------------------------------------

@platform_only
def canned_reply_save(*, actor, merchant, title: str, body: str, reply_id: int | None = None) -> CannedReply:
    authorize(actor, "tickets.manage", merchant=merchant)
    title = clean_text(title, field="title", max_length=80, required=True)
    body = clean_text(body, field="body", max_length=MAX_BODY, required=True)
    with transaction.atomic():
        if reply_id is not None:
            reply = CannedReply.objects.select_for_update().filter(pk=reply_id, merchant_id=merchant.pk).first()
            if reply is None:
                raise NotFound(_("No such canned reply."), field="reply_id")
        else:
            reply = CannedReply(merchant_id=merchant.pk)
        if CannedReply.objects.filter(merchant_id=merchant.pk, title=title).exclude(pk=reply.pk).exists():
            raise ValidationFailed(_("A canned reply with this title exists."), field="title")
        reply.title, reply.body, reply.updated_by, reply.updated_at = title, body, actor, timezone.now()
        reply.save()
    return reply


@platform_only
def canned_reply_delete(*, actor, merchant, reply_id: int) -> None:
    authorize(actor, "tickets.manage", merchant=merchant)
    deleted, _n = CannedReply.objects.filter(pk=reply_id, merchant_id=merchant.pk).delete()
    if not deleted:
        raise NotFound(_("No such canned reply."), field="reply_id")


@platform_only
def support_policy_update(*, actor, merchant, time_zone: str, opens: str, closes: str, weekdays: list[int],
                          holidays: list[str], reopen_days: int, targets: dict[str, tuple[int, int]] | None = None) -> SupportPolicy:
    """A store's support hours, holidays, reopen window and SLA targets; running clocks are re-planned."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    authorize(actor, "tickets.manage", merchant=merchant)
    try:
        ZoneInfo(str(time_zone)[:64])
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(_("Unknown time zone."), field="time_zone") from None
    try:
        t_open, t_close = dt.time.fromisoformat(str(opens)[:8]), dt.time.fromisoformat(str(closes)[:8])
    except ValueError:
        raise ValidationFailed(_("Write times as HH:MM."), field="opens") from None
    if t_close <= t_open:
        raise ValidationFailed(_("Closing must be after opening."), field="closes")
    if not weekdays or any(d not in range(7) for d in weekdays):
        raise ValidationFailed(_("Choose at least one working day."), field="weekdays")
    days = []
    for i, text in enumerate(holidays[:400]):
        try:
            days.append(dt.date.fromisoformat(str(text).strip()[:10]))
        except ValueError:
            raise ValidationFailed(_("Write dates as YYYY-MM-DD."), field=f"holidays[{i}]") from None
    if not 0 <= reopen_days <= 90:
        raise ValidationFailed(_("Must be between 0 and 90."), field="reopen_days")
    clean_targets = {}
    for p, pair in (targets or {}).items():
        if p not in Priority.values:
            raise ValidationFailed(_("Unknown priority."), field=f"targets.{p}")
        fr, res = pair
        if not (1 <= fr <= 60 * 24 * 30 and fr <= res <= 60 * 24 * 90):
            raise ValidationFailed(_("First response must be 1 minute or more and no longer than the resolution."),
                                   field=f"targets.{p}")
        clean_targets[p] = [fr, res]
    with transaction.atomic():
        row, _created = SupportPolicy.objects.select_for_update().get_or_create(merchant_id=merchant.pk)
        before = {"time_zone": row.time_zone, "opens": str(row.opens), "closes": str(row.closes), "weekdays": row.weekdays,
                  "holidays": [str(d) for d in row.holidays], "reopen_days": row.reopen_days, "targets": row.targets}
        row.time_zone, row.opens, row.closes = str(time_zone), t_open, t_close
        row.weekdays, row.holidays, row.reopen_days = sorted(set(weekdays)), sorted(set(days)), reopen_days
        if targets is not None:
            row.targets = clean_targets
        row.updated_at = timezone.now()
        row.save()
        from permissions.services import audit_record

        audit_record(actor=actor, entity="support_policy", entity_id=merchant.pk, action="update", before=before,
                     after={"time_zone": row.time_zone, "opens": str(row.opens), "closes": str(row.closes),
                            "weekdays": row.weekdays, "holidays": [str(d) for d in row.holidays],
                            "reopen_days": row.reopen_days, "targets": row.targets}, schema_name=merchant.schema_name)
        ticket_clock_recompute(merchant_id=merchant.pk)
    return row
