"""Payments received outside every gateway (bank transfer, cash on delivery), recorded by finance.

The payment moves to captured with gateway "offline" exactly as a gateway capture does: under the
payment row lock, through payment_transition, with its ledger entries, releasing the suborders. No
gateway is ever asked about an offline payment; its refunds are paid back offline too
(payments.services.refunds.refund_submit settles them at once).
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Conflict, ValidationFailed
from core.tenancy import in_public_schema, platform_only
from orders.models import Order, SubOrderMirror
from payments.models import Payment
from payments.services.ledger import ledger_record_capture
from payments.services.payments import _release_suborders, _void_quietly
from payments.services.transitions import payment_lock, payment_transition
from payments.states import OPEN, PaymentStatus

OFFLINE = "offline"  # Payment.gateway of money received outside every gateway
METHODS = {"bank_transfer": gettext_lazy("Bank transfer"), "cash_on_delivery": gettext_lazy("Cash on delivery")}
P = PaymentStatus


def _clean_reference(reference: str) -> str:
    text = (reference or "").strip() if isinstance(reference, str) else ""
    if not text:
        raise ValidationFailed(_("Enter the reference of the transfer or receipt."), field="reference")
    if len(text) > 120 or not text.isprintable():
        raise ValidationFailed(_("The reference must be at most 120 printable characters."), field="reference")
    return text


@platform_only
def payment_mark_paid_offline(*, order: Order, reference: str, method: str, actor) -> Payment:
    """Record that the whole order was paid outside the gateways; finance of every store in it only.

    A repeat with the same reference answers the payment as it is (a double click); an order already
    paid otherwise, cancelled or expired is refused.
    """
    from permissions.policy import authorize
    from permissions.services import audit_record
    from tenants.models import Merchant

    if method not in METHODS:
        raise ValidationFailed(_("Choose how the order was paid: bank transfer or cash on delivery."), field="method")
    reference = _clean_reference(reference)
    merchant_ids = sorted(set(SubOrderMirror.objects.filter(order_id=order.pk).values_list("merchant_id", flat=True)))
    merchants = list(Merchant.objects.filter(pk__in=merchant_ids).order_by("pk"))
    if not merchants:
        raise Conflict(_("This order has no suborders to pay for."), field="order")
    for merchant in merchants:  # money for every store in the order: each store's finance must agree
        authorize(actor, "payments.offline", merchant=merchant)
    payment_id = Payment.objects.filter(order_id=order.pk).values_list("pk", flat=True).first()
    if payment_id is None:
        raise Conflict(_("This order has no payment to record."), field="order")
    stale: tuple[str, str] | None = None
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id)
        if payment.gateway == OFFLINE and payment.gateway_reference == reference and payment.status == P.CAPTURED:
            return payment
        if payment.order.expired_at is not None or payment.status in (P.EXPIRED, P.CANCELLED):
            raise Conflict(_("This order was cancelled; it can no longer be paid."), field="order", code="order_cancelled")
        if payment.status not in OPEN:
            raise Conflict(_("This order is already paid."), field="order", code="already_paid")
        if payment.gateway and payment.gateway != OFFLINE and payment.gateway_reference:
            stale = (payment.gateway, payment.gateway_reference)  # an intent the customer left: cancel it
        before = {"status": payment.status, "gateway": payment.gateway, "gateway_reference": payment.gateway_reference}
        now = timezone.now()
        amount = payment.amount_minor
        payment_transition(payment=payment, to=P.CAPTURED, amount_minor=amount, actor=actor,
                           reason=f"paid offline ({method}): {reference}"[:300],
                           changes={"gateway": OFFLINE, "gateway_reference": reference, "action_url": "",
                                    "intent_claimed_at": None, "captured_minor": amount})
        ledger_record_capture(payment=payment, amount_minor=amount, now=now)
        _release_suborders(payment.order_id)
        after = {"status": payment.status, "gateway": OFFLINE, "method": method, "reference": reference,
                 "amount_minor": amount, "currency": payment.currency, "order": payment.order.number}
        for merchant in merchants:  # one entry in each store's books
            audit_record(actor=actor, entity="payment", entity_id=payment.pk, action="paid_offline", before=before,
                         after=after, schema_name=merchant.schema_name)
        if stale is not None:
            gateway_code, ref = stale

            def void_after_commit():
                with in_public_schema():
                    _void_quietly(gateway_code, payment, ref)

            transaction.on_commit(void_after_commit)
    return payment
