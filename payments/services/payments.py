"""Paying an order: starting a gateway intent, applying verified gateway notifications, capture,
void, the authorization-lapse sweep and cancellation at expiry.

No gateway is called while a transaction or a row lock is open: each flow locks, decides, commits,
then calls the gateway, then records what it answered in a second short transaction.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.errors import Conflict, ValidationFailed
from core.outbox import outbox_batch
from core.tenancy import in_merchant_schema, in_public_schema, platform_only
from orders.models import Order, SubOrderMirror
from payments.gateways import gateway_get
from payments.gateways.base import GatewayError, Notification
from payments.models import GatewayEvent, Payment, PaymentEvent
from payments.selectors import payment_settings_get
from payments.services.ledger import ledger_record_capture
from payments.services.transitions import payment_lock, payment_transition
from payments.states import OPEN, PAID, PaymentStatus

log = logging.getLogger("mallard.payments")
P = PaymentStatus
CLAIM_SECONDS = 30  # an intent claim older than this (its request died) may be taken over
# Non-money statuses compete by (time, rank); money events (authorized, captured) always win.
_RANK = {P.PENDING: 0, P.REQUIRES_ACTION: 1, P.FAILED: 2}


def _release_suborders(order_id: int) -> None:
    from suborders.services import suborders_release_after_payment
    from tenants.models import Merchant

    merchant_ids = sorted(set(SubOrderMirror.objects.filter(order_id=order_id).values_list("merchant_id", flat=True)))
    for merchant in Merchant.objects.filter(pk__in=merchant_ids).order_by("pk"):
        with in_merchant_schema(merchant):
            suborders_release_after_payment(order_id=order_id)


# --- starting a payment -------------------------------------------------------------------------

@platform_only
def payment_start(*, order: Order, gateway_code: str, return_url: str, notify_url: str, actor=None,
                  wait_seconds: float = 20.0) -> Payment:
    """Make sure the order's payment has an intent at `gateway_code`; return it with its action URL.

    Many concurrent calls (double clicks, retried API requests) create ONE intent: the first claims
    the payment under its row lock, commits, and only then calls the gateway (with an idempotency
    key derived from our payment id); the others wait for the reference it records.
    """
    if gateway_code not in payment_settings_get().enabled_gateways:
        raise ValidationFailed(_("This payment method is not offered."), field="gateway")
    gateway = gateway_get(gateway_code)
    now = timezone.now()
    previous: tuple[str, str] | None = None
    with transaction.atomic():
        payment = payment_lock(payment_id=Payment.objects.only("pk").get(order_id=order.pk).pk)
        _check_payable(payment)
        # every new intent after the first (a decline, a switch of method) gets its own key: a gateway
        # must never replay an intent we already abandoned
        if payment.gateway == gateway_code and payment.gateway_reference and payment.status != P.FAILED:
            return payment
        if payment.status == P.FAILED and payment.gateway_reference:
            Payment.objects.filter(pk=payment.pk).update(gateway_reference="", intent_claimed_at=None)
            payment.gateway_reference, payment.intent_claimed_at = "", None
        claimed = (payment.gateway == gateway_code and payment.intent_claimed_at is not None
                   and payment.intent_claimed_at > now - timedelta(seconds=CLAIM_SECONDS))
        if not claimed:
            if payment.gateway_reference and payment.gateway != gateway_code:
                previous = (payment.gateway, payment.gateway_reference)
            attempt = payment.intent_attempts + (1 if (payment.gateway_reference or payment.status == P.FAILED
                                                       or payment.gateway not in ("", gateway_code)) else 0)
            Payment.objects.filter(pk=payment.pk).update(gateway=gateway_code, gateway_reference="", action_url="",
                                                         intent_claimed_at=now, intent_attempts=attempt, updated_at=now)
            payment.gateway, payment.gateway_reference, payment.intent_claimed_at = gateway_code, "", now
            payment.intent_attempts = attempt
    if claimed:
        return _wait_for_intent(payment.pk, gateway_code, wait_seconds)
    if previous is not None:  # the shopper switched method: cancel the old intent (best effort)
        _void_quietly(previous[0], payment, previous[1])
    try:
        key = f"{payment.idempotency_base}-{gateway_code}" + (f"-a{payment.intent_attempts}" if payment.intent_attempts else "")
        result = gateway.create_intent(payment=payment, order=order, idempotency_key=key,
                                       return_url=return_url, notify_url=notify_url)
    except GatewayError:
        Payment.objects.filter(pk=payment.pk, intent_claimed_at=now).update(intent_claimed_at=None)
        raise
    with transaction.atomic():
        payment = payment_lock(payment_id=payment.pk)
        if payment.gateway == gateway_code and not payment.gateway_reference:
            Payment.objects.filter(pk=payment.pk).update(gateway_reference=result.reference, action_url=result.action_url,
                                                         updated_at=timezone.now())
            payment.gateway_reference, payment.action_url = result.reference, result.action_url
    return payment


def _check_payable(payment: Payment) -> None:
    if payment.order.expired_at is not None or payment.status in (P.EXPIRED, P.CANCELLED):
        raise Conflict(_("This order was cancelled; it can no longer be paid."), field="order", code="order_cancelled")
    if payment.status not in OPEN:
        raise Conflict(_("This order is already paid."), field="order", code="already_paid")


def _wait_for_intent(payment_id: int, gateway_code: str, wait_seconds: float) -> Payment:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        payment = Payment.objects.select_related("order").get(pk=payment_id)
        if payment.gateway_reference or payment.intent_claimed_at is None or payment.gateway != gateway_code:
            if payment.gateway_reference:
                return payment
            break
        time.sleep(0.05)
    raise Conflict(_("The payment is being prepared; try again in a moment."), field="gateway", code="payment_in_progress")


def _void_quietly(gateway_code: str, payment: Payment, reference: str) -> None:
    try:
        gateway_get(gateway_code).void(payment=_with_reference(payment, reference),
                                       idempotency_key=f"{payment.idempotency_base}-{gateway_code}-void")
    except Exception:  # noqa: BLE001 - a stale intent that cannot be cancelled is refunded if it is ever paid
        log.warning("could not cancel %s intent %s of payment %s", gateway_code, reference, payment.pk, exc_info=True)


def _with_reference(payment: Payment, reference: str) -> Payment:
    copy = Payment(**{f.attname: getattr(payment, f.attname) for f in Payment._meta.concrete_fields})
    copy.gateway_reference = reference
    return copy


# --- notifications --------------------------------------------------------------------------------

def _note_to_json(note: Notification) -> dict:
    data = dataclasses.asdict(note)
    data["occurred_at"] = note.occurred_at.isoformat() if note.occurred_at else None
    return data


def _note_from_json(data: dict) -> Notification:
    data = dict(data)
    data["occurred_at"] = parse_datetime(data["occurred_at"]) if data.get("occurred_at") else None
    return Notification(**data)


@platform_only
def notification_receive(*, gateway_code: str, body: bytes, headers: dict[str, str], request_id: str = "") -> GatewayEvent:
    """Verify one incoming notification, store it once by (gateway, event id), and apply it.

    Raises NotificationRejected (bad signature, stale, malformed): nothing is stored then.
    A repeated event is answered with the stored row and applied no second time.
    """
    note = gateway_get(gateway_code).parse_notification(body=body, headers=headers)
    keep = {k: v for k, v in headers.items() if k.lower().startswith(("stripe", "wechatpay", "x-sandbox", "content-type"))}
    try:
        with transaction.atomic():
            event = GatewayEvent.objects.create(
                gateway=gateway_code, event_id=note.event_id[:120], kind=note.kind[:60], reference=note.reference[:120],
                body=body.decode("utf-8", "replace"), headers=keep, parsed=_note_to_json(note), request_id=request_id[:64])
    except IntegrityError:
        event = GatewayEvent.objects.get(gateway=gateway_code, event_id=note.event_id[:120])
        event.duplicate = True
        return event
    event.duplicate = False
    return gateway_event_process(event_id=event.pk)


@platform_only
def gateway_event_process(*, event_id: int, actor=None) -> GatewayEvent:
    """Apply one stored notification under the payment's row lock. Safe to call again (re-process from
    the console): an event already applied is left as it is."""
    if actor is not None:  # an operator re-processing from the console; the webhook itself passes none
        from permissions.policy import authorize

        authorize(actor, "gateway_events.reprocess")
    after: list = []
    with transaction.atomic():
        event = GatewayEvent.objects.select_for_update().get(pk=event_id)
        if event.result not in (GatewayEvent.Result.RECEIVED, GatewayEvent.Result.FAILED):
            return event
        note = _note_from_json(event.parsed)
        try:
            # One INSERT for the events of this notification (payment.captured, and two per suborder
            # moved on) instead of one ORM insert each; written when _apply returns, nothing if it raises.
            with transaction.atomic(), outbox_batch():
                result, error, payment_id = _apply(event.gateway, note, after)
        except Exception as exc:  # noqa: BLE001 - stored as failed, visible and re-processable in the console
            log.exception("gateway event %s (%s %s) failed", event.pk, event.gateway, event.event_id)
            result, error, payment_id = GatewayEvent.Result.FAILED, f"{type(exc).__name__}: {exc}"[:2000], event.payment_id
            after.clear()
        GatewayEvent.objects.filter(pk=event.pk).update(result=result, error=error, payment_id=payment_id,
                                                        attempts=event.attempts + 1, processed_at=timezone.now())
        event.result, event.error, event.payment_id, event.attempts = result, error, payment_id, event.attempts + 1
    for action in after:  # gateway calls, after commit and outside every lock
        try:
            outcome = action()
            failure = getattr(outcome, "failure", "") if getattr(outcome, "status", "succeeded") == "failed" else ""
        except Exception as exc:  # noqa: BLE001 - kept on the event; re-processing retries with the same key
            log.warning("gateway event %s: follow-up call failed", event.pk, exc_info=True)
            failure = f"{type(exc).__name__}: {exc}"
        if failure:
            error = f"returning the money failed: {failure}"[:2000]
            GatewayEvent.objects.filter(pk=event.pk).update(result=GatewayEvent.Result.FAILED, error=error)
            event.result, event.error = GatewayEvent.Result.FAILED, error
    return event


def _find_payment(gateway_code: str, note: Notification) -> Payment | None:
    pid = None
    if note.reference:
        pid = Payment.objects.filter(gateway=gateway_code, gateway_reference=note.reference).values_list("pk", flat=True).first()
    if pid is None and note.order_number:
        pid = Payment.objects.filter(order__number=note.order_number).values_list("pk", flat=True).first()
    return payment_lock(payment_id=pid) if pid is not None else None


def _apply(gateway_code: str, note: Notification, after: list) -> tuple[str, str, int | None]:
    R = GatewayEvent.Result
    if note.refund_status:
        from payments.services.refunds import refund_apply_notification

        return refund_apply_notification(gateway_code=gateway_code, note=note)
    if not note.target:
        return R.NO_CHANGE, f"event type {note.kind} is not acted on", None
    payment = _find_payment(gateway_code, note)
    if payment is None:
        return R.UNKNOWN_ORDER, _("No order matches reference %(ref)s / order %(num)s.") % {
            "ref": note.reference or "—", "num": note.order_number or "—"}, None
    if note.amount_minor is not None and (note.amount_minor != payment.amount_minor or
                                          (note.currency or payment.currency).upper() != payment.currency):
        return R.MISMATCH, _("The notification is for %(got)s %(gc)s; the order is %(want)s %(wc)s.") % {
            "got": note.amount_minor, "gc": note.currency, "want": payment.amount_minor, "wc": payment.currency}, payment.pk
    same_intent = payment.gateway == gateway_code and (not note.reference or note.reference == payment.gateway_reference)
    money = note.target in (P.AUTHORIZED, P.CAPTURED)
    if money and (payment.status in (P.EXPIRED, P.CANCELLED) or not same_intent and payment.status not in OPEN):
        # Paid after the order expired, or a second charge for an order already paid: give it back.
        why = _("paid after the order was cancelled") if payment.status in (P.EXPIRED, P.CANCELLED) else _("a second charge")
        PaymentEvent.objects.create(payment=payment, from_status=payment.status, to_status=payment.status,
                                    amount_minor=note.amount_minor or 0, gateway_event_id=note.event_id,
                                    reason=f"{why}: returned at the gateway"[:300])
        stale = _with_reference(payment, note.reference or payment.gateway_reference)
        gw = gateway_get(gateway_code)
        if note.target == P.AUTHORIZED:
            after.append(lambda: gw.void(payment=stale, idempotency_key=f"mallard-late-{note.event_id}"[:200]))
        else:
            after.append(lambda: gw.refund(payment=stale, refund=None, amount_minor=note.amount_minor or payment.amount_minor,
                                           idempotency_key=f"mallard-late-{note.event_id}"[:200]))
        return R.LATE_REFUNDED, why, payment.pk
    if money:
        if not same_intent:  # paid on an intent we had moved away from, while still open: that is the money
            Payment.objects.filter(pk=payment.pk).update(gateway=gateway_code, gateway_reference=note.reference[:120])
            payment.gateway, payment.gateway_reference = gateway_code, note.reference[:120]
        return _apply_money(payment, note), "", payment.pk
    # requires_action / failed: only the newest (time, rank) counts, and never over money received.
    if payment.status not in OPEN or not same_intent:
        return R.NO_CHANGE, "", payment.pk
    last = payment.last_gateway_event_at
    at = note.occurred_at or timezone.now()
    if note.target == payment.status or (last is not None and (at, _RANK.get(note.target, 0)) <= (last, _RANK.get(payment.status, 0))):
        return R.NO_CHANGE, "", payment.pk
    payment_transition(payment=payment, to=note.target, gateway_event_id=note.event_id, reason=note.kind,
                       changes={"last_gateway_event_at": at})
    return R.APPLIED, "", payment.pk


def _apply_money(payment: Payment, note: Notification) -> str:
    R = GatewayEvent.Result
    now = timezone.now()
    amount = note.amount_minor if note.amount_minor is not None else payment.amount_minor
    if note.target == P.AUTHORIZED:
        if payment.status not in OPEN:
            return R.NO_CHANGE
        payment_transition(payment=payment, to=P.AUTHORIZED, amount_minor=amount, gateway_event_id=note.event_id,
                           reason=note.kind, changes={"authorized_minor": amount, "last_gateway_event_at": note.occurred_at or now,
                                                      "authorized_until": now + timedelta(days=settings.PAYMENT_AUTHORIZATION_DAYS)})
        _release_suborders(payment.order_id)
        return R.APPLIED
    if payment.status in PAID:
        return R.NO_CHANGE
    was_open = payment.status in OPEN
    payment_transition(payment=payment, to=P.CAPTURED, amount_minor=amount, gateway_event_id=note.event_id, reason=note.kind,
                       changes={"captured_minor": amount, "last_gateway_event_at": note.occurred_at or now})
    ledger_record_capture(payment=payment, amount_minor=amount, now=now)
    if was_open:
        _release_suborders(payment.order_id)
    return R.APPLIED


# --- capture, void, lapse, expiry ------------------------------------------------------------------

@platform_only
def payment_capture(*, payment_id: int, amount_minor: int | None = None, actor=None, reason: str = "") -> Payment:
    """Capture an authorized payment (all of it unless `amount_minor`). A second capture is refused."""
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id)
        if payment.status != P.AUTHORIZED:
            raise Conflict(_("Only an authorized payment can be captured; this one is %(s)s.") % {"s": payment.status},
                           field="payment", code="not_capturable")
        amount = payment.authorized_minor if amount_minor is None else amount_minor
        if not 0 < amount <= payment.authorized_minor:
            raise ValidationFailed(_("The capture amount must be between 0.01 and the authorized amount."), field="amount_minor")
        snapshot = _with_reference(payment, payment.gateway_reference)
    result = gateway_get(snapshot.gateway).capture(payment=snapshot, amount_minor=amount,
                                                   idempotency_key=f"{snapshot.idempotency_base}-capture")
    if result.status == "failed":
        raise GatewayError(_("The gateway refused the capture: %(why)s") % {"why": result.failure}, retryable=False)
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id)
        if payment.status != P.AUTHORIZED:  # its notification got here first
            return payment
        now = timezone.now()
        payment_transition(payment=payment, to=P.CAPTURED, amount_minor=amount, actor=actor, reason=reason or "capture",
                           changes={"captured_minor": amount})
        ledger_record_capture(payment=payment, amount_minor=amount, now=now)
    return payment


@platform_only
def payment_void(*, payment_id: int, actor=None, reason: str = "") -> Payment:
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id)
        if payment.status != P.AUTHORIZED:
            raise Conflict(_("Only an authorized payment can be voided."), field="payment", code="not_voidable")
        snapshot = _with_reference(payment, payment.gateway_reference)
    gateway_get(snapshot.gateway).void(payment=snapshot, idempotency_key=f"{snapshot.idempotency_base}-void")
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id)
        if payment.status == P.AUTHORIZED:
            payment_transition(payment=payment, to=P.CANCELLED, actor=actor, reason=reason or "authorization voided")
    return payment


@platform_only
def payments_capture_due(*, now: datetime | None = None, margin: timedelta = timedelta(hours=12)) -> int:
    """Authorizations that would lapse within `margin` are captured (or voided, per settings)."""
    now = now or timezone.now()
    due = list(Payment.objects.filter(status=P.AUTHORIZED, authorized_until__lte=now + margin).values_list("pk", flat=True)[:200])
    done = 0
    for pk in due:
        try:
            if settings.PAYMENT_LAPSE_ACTION == "void":
                payment_void(payment_id=pk, reason="authorization about to lapse")
            else:
                payment_capture(payment_id=pk, reason="authorization about to lapse")
            done += 1
        except (GatewayError, Conflict):
            log.warning("lapse sweep could not settle payment %s", pk, exc_info=True)
    return done


@platform_only
def payment_cancel(*, payment: Payment, now=None, to: str = P.EXPIRED, reason: str = "order expired") -> Payment:
    """Cancel an open payment (its order expired or was cancelled). Call with the row locked; the
    gateway intent is cancelled after commit."""
    if payment.status not in OPEN:
        raise Conflict(f"Payment {payment.pk} is {payment.status}; only an open payment can be cancelled.", field="status")
    payment_transition(payment=payment, to=to, reason=reason)
    if payment.gateway and payment.gateway_reference:
        gateway_code, snapshot = payment.gateway, _with_reference(payment, payment.gateway_reference)
        def void_after_commit():
            with in_public_schema():
                _void_quietly(gateway_code, snapshot, snapshot.gateway_reference)

        transaction.on_commit(void_after_commit)
    return payment


@platform_only
def payment_settings_update(*, enabled_gateways: list[str], capture_policy: str, actor) -> None:
    """The operator's choice of gateways offered and capture policy (applies to orders placed after it)."""
    from payments.gateways import ALL_CODES, gateway_configured
    from payments.models import PaymentSettings

    if actor is not None:
        from permissions.policy import authorize

        authorize(actor, "payments.settings")
    codes = [c for c in dict.fromkeys(enabled_gateways or []) if c]
    for c in codes:
        if c not in ALL_CODES:
            raise ValidationFailed(_("Unknown payment method %(code)s.") % {"code": c}, field="gateways")
        if not gateway_configured(c):
            raise ValidationFailed(_("%(code)s has no keys configured (see the README).") % {"code": c}, field="gateways")
    if not codes:
        raise ValidationFailed(_("Offer at least one payment method."), field="gateways")
    if capture_policy not in ("immediate", "on_accept"):
        raise ValidationFailed(_("Choose a capture policy."), field="capture_policy")
    with transaction.atomic():
        row = PaymentSettings.objects.select_for_update().order_by("pk").first() or PaymentSettings()
        row.enabled_gateways, row.capture_policy, row.updated_at, row.updated_by = codes, capture_policy, timezone.now(), actor
        row.save()
