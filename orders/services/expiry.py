"""Unpaid orders expire: suborders cancelled, stock released, voucher use given back, shopper told — once."""
from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.outbox import outbox_emit
from core.tenancy import in_merchant_schema, platform_only
from orders.models import Order, Voucher, VoucherRedemption
from payments.models import Payment
from payments.services import payment_cancel
from payments.states import OPEN as PAYMENT_OPEN
from suborders.services import suborders_cancel_for_order
from tenants.models import Merchant


@platform_only
def order_expire(*, order: Order, now=None, reason: str = "payment not received in time") -> bool:
    """Expire one unpaid order. Must be called with the order row locked; False if nothing to do."""
    now = now or timezone.now()
    if order.expired_at is not None:
        return False
    payment = Payment.objects.select_for_update().filter(order=order).first()
    if payment is not None and payment.status not in PAYMENT_OPEN:
        return False
    merchant_ids = sorted(set(order.suborders.values_list("merchant_id", flat=True)))
    for merchant in Merchant.objects.filter(pk__in=merchant_ids).order_by("pk"):
        with in_merchant_schema(merchant):
            suborders_cancel_for_order(order_id=order.pk, reason=reason)
    Order.objects.filter(pk=order.pk).update(expired_at=now)
    order.expired_at = now
    if payment is not None:
        payment_cancel(payment=payment, now=now, reason=reason)
    redemption = VoucherRedemption.objects.filter(order=order, released_at__isnull=True).first()
    if redemption is not None:
        VoucherRedemption.objects.filter(pk=redemption.pk).update(released_at=now)
        Voucher.objects.filter(pk=redemption.voucher_id).update(redeemed_count=F("redeemed_count") - 1)
    outbox_emit(topic="order.expired", aggregate_type="order", aggregate_id=order.pk,
                payload={"number": order.number, "email": order.email})
    return True


@platform_only
def orders_expire_unpaid(*, now=None, batch: int = 50) -> int:
    """Sweep due unpaid orders. Rows are taken with SKIP LOCKED, so two sweeps never share an order."""
    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            due = list(
                Order.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(expired_at__isnull=True, expires_at__lte=now, payment__status__in=PAYMENT_OPEN)
                .order_by("pk")[:batch]
            )
            for order in due:
                if order_expire(order=order, now=now):
                    done += 1
        if len(due) < batch:
            return done


@platform_only
def order_expire_now(*, number: str, reason: str = "expired early (sandbox test)") -> bool:
    """Expire one unpaid order at once, whatever its deadline: the sandbox gateway's 'succeed late' button."""
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).filter(number=number).first()
        return order is not None and order_expire(order=order, reason=reason)
