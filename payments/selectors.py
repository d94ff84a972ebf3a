"""Payment reads: the operator's settings, a shopper's payment and refunds, a merchant's, the console's lists."""
from __future__ import annotations

from django.db.models import QuerySet

from core.tenancy import platform_only
from payments.gateways import ALL_CODES, LABELS, gateway_configured
from payments.models import GatewayEvent, Payment, PaymentSettings, Refund


@platform_only
def payment_settings_get() -> PaymentSettings:
    row = PaymentSettings.objects.order_by("pk").first()
    return row or PaymentSettings(enabled_gateways=["sandbox"], capture_policy="immediate")


@platform_only
def gateways_offered() -> list[tuple[str, str]]:
    """(code, label) of the methods the storefront offers: enabled by the operator and configured."""
    enabled = payment_settings_get().enabled_gateways
    return [(c, str(LABELS[c])) for c in enabled if c in LABELS and gateway_configured(c)]


def gateway_choices() -> list[tuple[str, str, bool]]:
    return [(c, str(LABELS[c]), gateway_configured(c)) for c in ALL_CODES]


@platform_only
def refunds_for_order(*, order_id: int) -> QuerySet[Refund]:
    return Refund.objects.filter(order_id=order_id).prefetch_related("lines__order_line").select_related("merchant").order_by("id")


@platform_only
def refunds_for_suborder(*, merchant_id: int, suborder_id: int) -> QuerySet[Refund]:
    return (Refund.objects.filter(merchant_id=merchant_id, suborder_id=suborder_id)
            .prefetch_related("lines__order_line").order_by("id"))


@platform_only
def refunds_list_for_merchant(*, merchant_id: int, status: str | None = None, limit: int = 200) -> QuerySet[Refund]:
    qs = Refund.objects.filter(merchant_id=merchant_id).select_related("order").prefetch_related("lines__order_line")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")[:limit]


@platform_only
def payments_list_for_operator(*, status: str = "", gateway: str = "", q: str = "", limit: int = 200) -> QuerySet[Payment]:
    qs = Payment.objects.select_related("order")
    if status:
        qs = qs.filter(status=status)
    if gateway:
        qs = qs.filter(gateway=gateway)
    if q:
        qs = qs.filter(order__number__icontains=q.strip()[:40]) | qs.filter(gateway_reference=q.strip()[:120])
    return qs.order_by("-id")[:limit]


@platform_only
def gateway_events_list_for_operator(*, result: str = "", gateway: str = "", limit: int = 200) -> QuerySet[GatewayEvent]:
    qs = GatewayEvent.objects.select_related("payment__order")
    if result:
        qs = qs.filter(result=result)
    if gateway:
        qs = qs.filter(gateway=gateway)
    return qs.order_by("-id")[:limit]


@platform_only
def suborder_money_summary(*, merchant_id: int, suborder_id: int) -> dict:
    """A suborder's payment, its refunds, and per order line how much is refunded or held."""
    from django.db.models import Sum

    from orders.models import OrderLine, SubOrderMirror
    from payments.models import RefundLine
    from payments.states import PAID, REFUND_HOLDS

    mirror = SubOrderMirror.objects.filter(merchant_id=merchant_id, suborder_id=suborder_id).first()
    if mirror is None:
        return {"payment": None, "refunds": [], "order_lines": [], "paid": False}
    payment = Payment.objects.filter(order_id=mirror.order_id).first()
    lines = list(OrderLine.objects.filter(order_id=mirror.order_id, merchant_id=merchant_id, suborder_id=suborder_id).order_by("id"))
    held = {r["order_line_id"]: r["q"] for r in RefundLine.objects.filter(order_line__in=lines, refund__status__in=REFUND_HOLDS)
            .values("order_line_id").annotate(q=Sum("quantity"))}
    for ln in lines:
        ln.refunded_quantity = held.get(ln.pk, 0)
        ln.refundable_quantity = ln.quantity - ln.refunded_quantity
    refunds = list(refunds_for_suborder(merchant_id=merchant_id, suborder_id=suborder_id))
    held_total = sum(r.amount_minor for r in refunds if r.status in REFUND_HOLDS)
    return {"payment": payment, "refunds": refunds, "order_lines": lines, "mirror": mirror,
            "paid": bool(payment and payment.status in PAID), "refundable_minor": max(mirror.total_minor - held_total, 0)}
