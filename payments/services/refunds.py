"""Refunds: per line (quantity), shipping, or a custom amount, always with a reason.

A refund never exceeds what may still be refunded for the order (captured − refunds held), for its
suborder (its total) and for each line (its quantity and amount): checked under the payment's row
lock, so two finance users refunding at once cannot over-refund. Refunds in `requested`, `pending`
or `succeeded` hold their amount; a failed one gives it back and can be retried.

requested → pending (committed before the gateway is called) → succeeded | failed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.money import Money
from core.tenancy import in_merchant_schema, in_public_schema, platform_only
from orders.models import OrderLine, SubOrderMirror
from payments.gateways import gateway_get
from payments.gateways.base import GatewayError, Notification
from payments.models import GatewayEvent, Payment, Refund, RefundEvent, RefundLine
from payments.services.ledger import ledger_record_refund
from payments.services.offline import OFFLINE
from payments.services.transitions import payment_lock, payment_transition, refund_transition
from payments.states import PAID, REFUND_HOLDS, PaymentStatus, RefundStatus

log = logging.getLogger("mallard.payments")
RS = RefundStatus


@dataclass(frozen=True)
class RefundLineRequest:
    order_line_id: int
    quantity: int


def _fmt(minor: int, currency: str) -> str:
    return Money(minor, currency).format()


def _authorize(actor, merchant_id: int, system: bool) -> None:
    if system:
        return
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to refund."))
    from permissions.selectors import user_can
    from tenants.models import Merchant

    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if actor.is_staff:  # an operator refunds any store's suborder when their platform role does (refunds.operator)
        from permissions.policy import authorize

        authorize(actor, "refunds.create", merchant=merchant)
        return
    if merchant is None or not user_can(user=actor, merchant=merchant, capability="refunds.create"):
        raise PermissionDenied(_("Your role does not allow refunds (refunds.create)."))


def _clean_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(_("A refund needs a reason."), field="reason")
    if len(text) > 300 or "\x00" in text:
        raise ValidationFailed(_("The reason must be at most 300 characters."), field="reason")
    return text


def _held(payment_id: int, *, merchant_id: int | None = None, suborder_id: int | None = None, exclude: int | None = None) -> dict:
    qs = Refund.objects.filter(payment_id=payment_id, status__in=REFUND_HOLDS)
    if suborder_id is not None:
        qs = qs.filter(merchant_id=merchant_id, suborder_id=suborder_id)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    agg = qs.aggregate(amount=Sum("amount_minor"), shipping=Sum("shipping_minor"))
    return {"amount": agg["amount"] or 0, "shipping": agg["shipping"] or 0}


def _line_held(line_ids: list[int], exclude: int | None) -> dict[int, tuple[int, int]]:
    qs = RefundLine.objects.filter(order_line_id__in=line_ids, refund__status__in=REFUND_HOLDS)
    if exclude is not None:
        qs = qs.exclude(refund_id=exclude)
    return {row["order_line_id"]: (row["q"] or 0, row["a"] or 0)
            for row in qs.values("order_line_id").annotate(q=Sum("quantity"), a=Sum("amount_minor"))}


def _check_limits(*, payment: Payment, mirror: SubOrderMirror, amount: int, shipping: int,
                  lines: list[tuple[OrderLine, int, int]], exclude: int | None = None) -> None:
    cur = payment.currency
    if payment.status not in PAID:
        raise Conflict(_("This order has not been paid, so nothing can be refunded."), field="order", code="not_paid")
    line_held = _line_held([ln.pk for ln, _q, _a in lines], exclude)
    for i, (ln, q, a) in enumerate(lines):
        held_q, held_a = line_held.get(ln.pk, (0, 0))
        if q > ln.quantity - held_q or a > ln.line_total_minor - held_a:
            raise Conflict(_("Only %(left)s of %(qty)s × %(name)s can still be refunded.")
                           % {"left": ln.quantity - held_q, "qty": ln.quantity, "name": ln.name},
                           field=f"lines[{i}].quantity", code="over_refund")
    order_left = payment.captured_minor - _held(payment.pk, exclude=exclude)["amount"]
    if amount > order_left:
        raise Conflict(_("%(amount)s is more than the %(left)s that can still be refunded for this order.")
                       % {"amount": _fmt(amount, cur), "left": _fmt(max(order_left, 0), cur)}, field="amount", code="over_refund")
    held = _held(payment.pk, merchant_id=mirror.merchant_id, suborder_id=mirror.suborder_id, exclude=exclude)
    sub_left = mirror.total_minor - held["amount"]
    if amount > sub_left:
        raise Conflict(_("%(amount)s is more than the %(left)s that can still be refunded for suborder %(number)s.")
                       % {"amount": _fmt(amount, cur), "left": _fmt(max(sub_left, 0), cur), "number": mirror.number},
                       field="amount", code="over_refund")
    if shipping > mirror.shipping_minor - held["shipping"]:
        raise Conflict(_("At most %(left)s of shipping can still be refunded.")
                       % {"left": _fmt(max(mirror.shipping_minor - held["shipping"], 0), cur)}, field="shipping", code="over_refund")


def _line_amount(ln: OrderLine, quantity: int, held: tuple[int, int]) -> int:
    """The amount of `quantity` units of a line: the rest of the line when it is the last of it,
    else the units' share rounded down, so the parts of a line never exceed its total."""
    held_q, held_a = held
    if quantity == ln.quantity - held_q:
        return ln.line_total_minor - held_a
    return ln.line_total_minor * quantity // ln.quantity


@platform_only
def refund_create(*, actor, merchant_id: int, suborder_id: int, lines: list[RefundLineRequest] | None = None,
                  shipping_minor: int = 0, custom_minor: int = 0, reason: str, restock: bool = False,
                  idempotency_key: str = "", system: bool = False) -> tuple[Refund, bool]:
    """Request a refund of a suborder's lines / shipping / a custom amount. Returns (refund, created);
    a retry with the same Idempotency-Key returns the first refund. The gateway is called after commit."""
    _authorize(actor, merchant_id, system)
    reason = _clean_reason(reason)
    lines = lines or []
    for name, value in (("shipping_minor", shipping_minor), ("custom_minor", custom_minor)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > 10**12:
            raise ValidationFailed(_("%(field)s must be a whole number of minor units, 0 or more.") % {"field": name}, field=name)
    seen = set()
    for i, rl in enumerate(lines):
        if not isinstance(rl.quantity, int) or isinstance(rl.quantity, bool) or not 0 < rl.quantity <= 10**6:
            raise ValidationFailed(_("The quantity must be a whole number of at least 1."), field=f"lines[{i}].quantity")
        if rl.order_line_id in seen:
            raise ValidationFailed(_("A line appears twice."), field=f"lines[{i}].order_line_id")
        seen.add(rl.order_line_id)
    if not lines and not shipping_minor and not custom_minor:
        raise ValidationFailed(_("Choose lines, shipping or an amount to refund."), field="lines")
    scope = f"user:{getattr(actor, 'pk', None) or 'system'}"
    key = (idempotency_key or "").strip()[:200]
    if key:
        existing = Refund.objects.filter(idempotency_scope=scope, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    mirror = SubOrderMirror.objects.filter(merchant_id=merchant_id, suborder_id=suborder_id).first()
    if mirror is None:
        raise NotFound(_("No such suborder."), field="suborder")
    order_lines = {ln.pk: ln for ln in OrderLine.objects.filter(order_id=mirror.order_id, merchant_id=merchant_id,
                                                              suborder_id=suborder_id, pk__in=[rl.order_line_id for rl in lines])}
    for i, rl in enumerate(lines):
        if rl.order_line_id not in order_lines:
            raise NotFound(_("Line %(id)s is not a line of suborder %(number)s.") % {"id": rl.order_line_id, "number": mirror.number},
                           field=f"lines[{i}].order_line_id")
    payment_id = Payment.objects.filter(order_id=mirror.order_id).values_list("pk", flat=True).first()
    if payment_id is None:
        raise Conflict(_("This order has not been paid, so nothing can be refunded."), field="order", code="not_paid")
    try:
        with transaction.atomic():
            payment = payment_lock(payment_id=payment_id)
            held = _line_held(list(order_lines), None)
            priced = [(order_lines[rl.order_line_id], rl.quantity,
                       _line_amount(order_lines[rl.order_line_id], rl.quantity, held.get(rl.order_line_id, (0, 0)))) for rl in lines]
            if any(q > ln.quantity - held.get(ln.pk, (0, 0))[0] for ln, q, _a in priced):
                priced = [(ln, q, ln.line_total_minor * q // ln.quantity) for ln, q, _a in priced]  # refused just below
            amount = sum(a for _ln, _q, a in priced) + shipping_minor + custom_minor
            if amount <= 0:
                raise ValidationFailed(_("The refund amount must be more than zero."), field="lines")
            _check_limits(payment=payment, mirror=mirror, amount=amount, shipping=shipping_minor, lines=priced)
            now = timezone.now()
            refund = Refund.objects.create(
                payment=payment, order_id=mirror.order_id, merchant_id=merchant_id, suborder_id=suborder_id, amount_minor=amount,
                shipping_minor=shipping_minor, custom_minor=custom_minor, currency=payment.currency, reason=reason,
                restock=bool(restock), idempotency_scope=scope, idempotency_key=key, requested_by=actor if getattr(actor, "pk", None) else None,
                created_at=now, updated_at=now)
            RefundLine.objects.bulk_create([RefundLine(refund=refund, order_line=ln, quantity=q, amount_minor=a) for ln, q, a in priced])
            RefundEvent.objects.create(refund=refund, from_status="", to_status=RS.REQUESTED, actor_id=getattr(actor, "pk", None),
                                       reason=reason, at=now)
            from core.outbox import outbox_emit

            outbox_emit(topic="refund.requested", aggregate_type="refund", aggregate_id=refund.pk,
                        payload={"order_id": refund.order_id, "merchant_id": merchant_id, "suborder_id": suborder_id,
                                 "amount_minor": amount, "currency": refund.currency})
            if not system and getattr(actor, "pk", None):  # a person's refund: one audit row in the store's books
                from permissions.services import audit_record
                from tenants.models import Merchant

                audit_record(actor=actor, entity="refund", entity_id=refund.pk, action="request",
                             after={"suborder": mirror.number, "amount_minor": amount, "currency": refund.currency,
                                    "lines": [[ln.sku, q] for ln, q, _a in priced], "shipping_minor": shipping_minor,
                                    "custom_minor": custom_minor, "reason": reason},
                             schema_name=Merchant.objects.filter(pk=merchant_id).values_list("schema_name", flat=True).first())
            transaction.on_commit(lambda: _submit_in_public(refund.pk))
    except IntegrityError:
        if key:
            existing = Refund.objects.filter(idempotency_scope=scope, idempotency_key=key).first()
            if existing is not None:
                return existing, False
        raise
    return refund, True


@platform_only
def refund_for_suborder_lines(*, merchant_id: int, suborder_id: int, lines: list[tuple[int, int]], reason: str,
                              shipping_minor: int | None = 0, restock: bool = False, actor=None,
                              idempotency_key: str = "") -> Refund | None:
    """For the suborder lifecycle: refund refused or cancelled lines of a paid suborder, given as
    (variant_id, quantity); shipping_minor=None refunds the suborder's whole shipping. Nothing to refund
    (unpaid order) returns None; a repeated idempotency key returns the first refund."""
    mirror = SubOrderMirror.objects.filter(merchant_id=merchant_id, suborder_id=suborder_id).first()
    if mirror is None or not Payment.objects.filter(order_id=mirror.order_id, status__in=PAID).exists():
        return None
    by_variant = dict(OrderLine.objects.filter(order_id=mirror.order_id, merchant_id=merchant_id, suborder_id=suborder_id)
                      .values_list("variant_id", "pk"))
    requests = [RefundLineRequest(order_line_id=by_variant[v], quantity=q) for v, q in lines if v in by_variant and q > 0]
    refund, _created = refund_create(actor=actor, merchant_id=merchant_id, suborder_id=suborder_id, lines=requests,
                                     shipping_minor=mirror.shipping_minor if shipping_minor is None else shipping_minor,
                                     reason=reason, restock=restock, system=True, idempotency_key=idempotency_key)
    return refund


def _submit_in_public(refund_id: int) -> None:
    """On-commit hooks run in whatever schema the connection is in when the outer block commits."""
    with in_public_schema():
        refund_submit(refund_id=refund_id)


@platform_only
def refund_submit(*, refund_id: int) -> Refund:
    """Send a requested refund to the gateway (no lock held during the call) and record the answer."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status == RS.REQUESTED:
            refund_transition(refund=refund, to=RS.PENDING, reason="sent to the gateway")
        elif refund.status != RS.PENDING:
            return refund
        payment = Payment.objects.get(pk=refund.payment_id)
    if payment.gateway == OFFLINE:  # paid outside every gateway, so paid back outside it: no gateway to call
        return refund_settle(refund_id=refund_id, status=RS.SUCCEEDED, reference="refunded offline")
    try:
        result = gateway_get(payment.gateway).refund(payment=payment, refund=refund, amount_minor=refund.amount_minor,
                                                     idempotency_key=refund.idempotency_base)
    except GatewayError as exc:
        if exc.retryable:  # stays pending; the payments sweep sends it again with the same idempotency key
            log.warning("refund %s: gateway unavailable, will retry: %s", refund_id, exc.message)
            Refund.objects.filter(pk=refund_id).update(failure=exc.message[:300])
            return refund
        return refund_settle(refund_id=refund_id, status=RS.FAILED, failure=exc.message)
    if result.status == "pending":
        Refund.objects.filter(pk=refund_id).update(gateway_reference=result.reference[:120])
        return refund
    return refund_settle(refund_id=refund_id, status=RS.SUCCEEDED if result.status == "succeeded" else RS.FAILED,
                         reference=result.reference, failure=result.failure)


@platform_only
def refund_settle(*, refund_id: int, status: str, reference: str = "", failure: str = "", actor=None) -> Refund:
    """The gateway's final answer: record it, move the payment, write the ledger, restock. Idempotent."""
    payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status not in (RS.REQUESTED, RS.PENDING):
            return refund
        changes = {"gateway_reference": reference[:120] or refund.gateway_reference}
        if status == RS.FAILED:
            return refund_transition(refund=refund, to=RS.FAILED, actor=actor, reason=failure or "refused by the gateway",
                                     changes={**changes, "failure": (failure or _("Refused by the gateway."))[:300]})
        refund_transition(refund=refund, to=RS.SUCCEEDED, actor=actor, reason="refunded", changes={**changes, "failure": ""})
        refunded = payment.refunded_minor + refund.amount_minor
        to = PaymentStatus.REFUNDED if refunded >= payment.captured_minor else PaymentStatus.PARTIALLY_REFUNDED
        payment_transition(payment=payment, to=to, amount_minor=refund.amount_minor, actor=actor,
                           reason=f"refund {refund.pk}: {refund.reason}"[:300], changes={"refunded_minor": refunded})
        ledger_record_refund(refund=refund, now=timezone.now())
        if refund.restock:
            _restock(refund)
    return refund


def _restock(refund: Refund) -> None:
    from tenants.models import Merchant

    rows = []
    for rl in refund.lines.select_related("order_line"):
        ln = rl.order_line
        refunded_q = (RefundLine.objects.filter(order_line=ln, refund__status=RS.SUCCEEDED).aggregate(q=Sum("quantity"))["q"] or 0)
        rows.append((ln.variant_id, rl.quantity, refunded_q >= ln.quantity))
    if not rows:
        return
    from suborders.services import suborder_restock_refunded

    with in_merchant_schema(Merchant.objects.get(pk=refund.merchant_id)):
        suborder_restock_refunded(suborder_id=refund.suborder_id, lines=rows, reference=f"refund {refund.pk}")


@platform_only
def refund_retry(*, refund_id: int, actor) -> Refund:
    """Send a failed refund again (a new gateway idempotency key), if it still fits the limits."""
    refund = Refund.objects.filter(pk=refund_id).first()
    if refund is None:
        raise NotFound(_("No such refund."), field="refund")
    _authorize(actor, refund.merchant_id, False)
    with transaction.atomic():
        payment = payment_lock(payment_id=refund.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RS.FAILED:
            raise Conflict(_("Only a failed refund can be retried."), field="refund", code="not_retryable")
        mirror = SubOrderMirror.objects.get(merchant_id=refund.merchant_id, suborder_id=refund.suborder_id)
        lines = [(rl.order_line, rl.quantity, rl.amount_minor) for rl in refund.lines.select_related("order_line")]
        _check_limits(payment=payment, mirror=mirror, amount=refund.amount_minor, shipping=refund.shipping_minor,
                      lines=lines, exclude=refund.pk)
        refund_transition(refund=refund, to=RS.REQUESTED, actor=actor, reason="retried",
                          changes={"attempts": refund.attempts + 1, "failure": ""})
        transaction.on_commit(lambda: _submit_in_public(refund_id))
    return refund


def refund_apply_notification(*, gateway_code: str, note: Notification) -> tuple[str, str, int | None]:
    """A refund notification (e.g. Stripe's refund.updated): settle the refund it names."""
    R = GatewayEvent.Result
    refund = None
    ref = note.refund_reference
    if ref.startswith("mallard-refund-"):
        try:
            refund = Refund.objects.filter(pk=int(ref.split("-")[2])).first()
        except (IndexError, ValueError):
            refund = None
    if refund is None and ref:
        refund = Refund.objects.filter(Q(gateway_reference=ref)).first()
    if refund is None:
        return R.UNKNOWN_ORDER, _("No refund matches %(ref)s.") % {"ref": ref or "—"}, None
    if refund.status not in (RS.REQUESTED, RS.PENDING):
        return R.NO_CHANGE, "", refund.payment_id
    refund_settle(refund_id=refund.pk, status=RS.SUCCEEDED if note.refund_status == "succeeded" else RS.FAILED,
                  reference=note.reference if note.reference.startswith("re_") else "", failure=note.raw.get("failure", "") if isinstance(note.raw, dict) else "")
    return R.APPLIED, "", refund.payment_id


@platform_only
def refunds_resubmit_stale(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Refunds left requested/pending by a crash or an unreachable gateway are sent again (same key)."""
    cutoff = timezone.now() - older_than
    ids = list(Refund.objects.filter(status__in=(RS.REQUESTED, RS.PENDING), updated_at__lte=cutoff)
               .values_list("pk", flat=True)[:100])
    for pk in ids:
        Refund.objects.filter(pk=pk).update(updated_at=timezone.now())
        refund_submit(refund_id=pk)
    return len(ids)
