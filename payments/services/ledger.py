"""The money ledger (append-only; the database refuses UPDATE and DELETE on it).

Every capture and every refund writes entries attributed per suborder and per order line,
carrying the line's commission snapshot, so settlements can compute each merchant's payable.
Invariants (`ledger_check`): for every order Σ entries = captured − refunded, and the captured
entries per suborder sum to that suborder's total, and over all suborders to the order's total.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from core.money import allocate
from core.tenancy import platform_only
from orders.models import Order, OrderLine, SubOrderMirror
from payments.models import LedgerEntry, Payment, Refund


@dataclass(frozen=True)
class _Component:
    merchant_id: int
    suborder_id: int
    order_line: OrderLine | None
    component: str
    amount_minor: int


def _order_components(order_id: int) -> list[_Component]:
    """The order's total, split into lines and per-suborder shipping, in a fixed order."""
    parts: list[_Component] = []
    lines = list(OrderLine.objects.filter(order_id=order_id).order_by("merchant_id", "suborder_id", "id"))
    for mirror in SubOrderMirror.objects.filter(order_id=order_id).order_by("merchant_id", "suborder_id"):
        for ln in lines:
            if ln.merchant_id == mirror.merchant_id and ln.suborder_id == mirror.suborder_id:
                parts.append(_Component(ln.merchant_id, mirror.suborder_id, ln, "line", ln.line_total_minor))
        if mirror.shipping_minor:
            parts.append(_Component(mirror.merchant_id, mirror.suborder_id, None, "shipping", mirror.shipping_minor))
    return parts


@platform_only
def ledger_record_capture(*, payment: Payment, amount_minor: int, now) -> list[LedgerEntry]:
    """Captured money, attributed to every line and shipping charge (a partial capture in proportion)."""
    parts = _order_components(payment.order_id)
    total = sum(p.amount_minor for p in parts)
    shares = [p.amount_minor for p in parts] if amount_minor == total else allocate(amount_minor, [p.amount_minor for p in parts])
    entries = [
        LedgerEntry(order_id=payment.order_id, payment=payment, kind=LedgerEntry.Kind.CAPTURED, merchant_id=p.merchant_id,
                    suborder_id=p.suborder_id, order_line=p.order_line, component=p.component, amount_minor=share,
                    currency=payment.currency, commission_bp=p.order_line.commission_bp if p.order_line else 0,
                    commission_minor=(p.order_line.commission_minor if p.order_line and share == p.amount_minor else 0), at=now)
        for p, share in zip(parts, shares, strict=True) if share
    ]
    return LedgerEntry.objects.bulk_create(entries)


@platform_only
def ledger_record_refund(*, refund: Refund, now) -> list[LedgerEntry]:
    entries = [
        LedgerEntry(order_id=refund.order_id, payment_id=refund.payment_id, refund=refund, kind=LedgerEntry.Kind.REFUNDED,
                    merchant_id=refund.merchant_id, suborder_id=refund.suborder_id, order_line=rl.order_line,
                    component="line", amount_minor=-rl.amount_minor, currency=refund.currency,
                    commission_bp=rl.order_line.commission_bp, at=now)
        for rl in refund.lines.select_related("order_line")
    ]
    for component, amount in (("shipping", refund.shipping_minor), ("custom", refund.custom_minor)):
        if amount:
            entries.append(LedgerEntry(order_id=refund.order_id, payment_id=refund.payment_id, refund=refund,
                                       kind=LedgerEntry.Kind.REFUNDED, merchant_id=refund.merchant_id,
                                       suborder_id=refund.suborder_id, component=component, amount_minor=-amount,
                                       currency=refund.currency, at=now))
    return LedgerEntry.objects.bulk_create(entries)


@dataclass(frozen=True)
class LedgerProblem:
    order_number: str
    message: str


@platform_only
def ledger_check(*, order_ids: list[int] | None = None) -> list[LedgerProblem]:
    """Check the invariants for every order with a captured payment (or the given orders)."""
    problems: list[LedgerProblem] = []
    payments = Payment.objects.select_related("order").filter(captured_minor__gt=0)
    if order_ids is not None:
        payments = payments.filter(order_id__in=order_ids)
    sums = {row["order_id"]: row["s"] for row in
            LedgerEntry.objects.filter(order_id__in=payments.values("order_id")).values("order_id").annotate(s=Sum("amount_minor"))}
    captured_by_suborder: dict[tuple[int, int, int], int] = {}
    for row in (LedgerEntry.objects.filter(order_id__in=payments.values("order_id"), kind=LedgerEntry.Kind.CAPTURED)
                .values("order_id", "merchant_id", "suborder_id").annotate(s=Sum("amount_minor"))):
        captured_by_suborder[(row["order_id"], row["merchant_id"], row["suborder_id"])] = row["s"]
    mirrors: dict[int, list[SubOrderMirror]] = {}
    for m in SubOrderMirror.objects.filter(order_id__in=payments.values("order_id")):
        mirrors.setdefault(m.order_id, []).append(m)
    for p in payments.iterator():
        balance = sums.get(p.order_id, 0)
        if balance != p.captured_minor - p.refunded_minor:
            problems.append(LedgerProblem(p.order.number, f"ledger {balance} ≠ captured {p.captured_minor} − refunded {p.refunded_minor}"))
        if p.captured_minor == p.amount_minor:
            attributed = 0
            for m in mirrors.get(p.order_id, []):
                got = captured_by_suborder.get((p.order_id, m.merchant_id, m.suborder_id), 0)
                attributed += got
                if got != m.total_minor:
                    problems.append(LedgerProblem(p.order.number, f"suborder {m.number}: captured {got} ≠ total {m.total_minor}"))
            if attributed != Order.objects.filter(pk=p.order_id).values_list("total_minor", flat=True).first():
                problems.append(LedgerProblem(p.order.number, f"Σ suborders {attributed} ≠ order total"))
    return problems
