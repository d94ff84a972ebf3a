"""Over random after-sales sequences (Hypothesis): partial cancellations before shipping (refunded by
payments from the outbox), then returns, exchanges, refund-only requests, refusals, inspections with
restock or write-off, refunds, and a direct extra refund attempt by finance: Σ refunded per order line never
exceeds what was paid for it, and stock returned never exceeds what was shipped."""
from django.db.models import Sum
from django.test import TestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import StockMovement
from core.errors import DomainError
from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from fulfillment.shipments import shipment_create, suborder_confirm_receipt
from orders.models import OrderLine
from payments.models import Payment, RefundLine
from payments.services import RefundLineRequest, refund_create
from payments.states import REFUND_HOLDS
from returns import services as rsvc
from suborders import services as svc
from suborders.models import SubOrderLine
from tests.returns.helpers import paid_suborder

_tracking = iter(range(10**11, 10**12))
KINDS = ["return", "exchange", "refund_only", "refuse"]


def _relay():
    with TestCase.captureOnCommitCallbacks(execute=True):
        outbox_relay_batch(limit=500)


def _try(func):
    try:
        return func()
    except DomainError:
        return None  # refused in this state: nothing written


def _after_sales(mall, so, items, kind, idx, qty, restock, write_off):
    owner, wh, fin = mall.users["acme:owner"], mall.users["acme:warehouse"], mall.users["acme:finance"]
    lines = list(SubOrderLine.objects.filter(suborder_id=so.pk).order_by("pk"))
    line = lines[idx % len(lines)]
    ret = _try(lambda: rsvc.return_request_create(
        suborder_id=so.pk, shopper_email=so.shopper_email, kind="refund_only" if kind == "refund_only" else
        ("exchange" if kind == "exchange" else "return"), lines=[(line.pk, qty)], reason_code="damaged"))
    if ret is None:
        return
    if kind == "refuse":
        rsvc.return_refuse(return_id=ret.pk, actor=owner, reason="no")
        return
    rsvc.return_approve(return_id=ret.pk, actor=owner)
    if kind != "refund_only":
        rsvc.return_receive(return_id=ret.pk, actor=wh)
        rl = ret.lines.get()
        r, w = min(restock, rl.quantity), min(write_off, max(rl.quantity - restock, 0))
        rsvc.return_inspect(return_id=ret.pk, actor=wh, lines=[rsvc.InspectLine(rl.pk, r, w, items[idx % len(items)]["warehouse_id"])])
    if kind != "exchange":
        _try(lambda: rsvc.return_refund(return_id=ret.pk, actor=fin))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cancels=st.lists(st.tuples(st.integers(0, 1), st.integers(1, 3)), max_size=2),
       after=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 1), st.integers(1, 3), st.integers(0, 3),
                                st.integers(0, 3)), max_size=4),
       extra_refund=st.integers(0, 3))
def test_refunded_never_exceeds_paid_per_line_and_returned_never_exceeds_shipped(mall, cancels, after, extra_refund):
    order, so, items = paid_suborder(mall, qty=3, lines=2, price_minor=999)
    owner = mall.users["acme:owner"]
    with in_merchant_schema(mall.acme):
        svc.suborder_accept(suborder_id=so.pk, actor=owner)
        lines = list(SubOrderLine.objects.filter(suborder_id=so.pk).order_by("pk"))
        for idx, q in cancels:
            _try(lambda idx=idx, q=q: svc.suborder_cancel_lines(suborder_id=so.pk, actor=owner, lines=[(lines[idx].pk, q)],
                                                                 reason_code="customer_request"))
    _relay()  # payments refunds the cancelled units (suborder.lines_released)
    with in_merchant_schema(mall.acme):
        shipped = _try(lambda: shipment_create(suborder_id=so.pk, actor=mall.users["acme:warehouse"], lines=None,
                                               carrier="fedex", tracking_number=str(next(_tracking))))
        if shipped is not None:
            suborder_confirm_receipt(suborder_id=so.pk, shopper_email=order.email)
            for kind, idx, qty, restock, write_off in after:
                _after_sales(mall, so, items, kind, idx, qty, restock, write_off)
    if extra_refund:  # finance tries to refund more units of the first line by hand
        first = OrderLine.objects.filter(order=order, merchant=mall.acme).order_by("pk").first()
        _try(lambda: refund_create(actor=mall.users["acme:finance"], merchant_id=mall.acme.pk, suborder_id=so.pk,
                                   lines=[RefundLineRequest(order_line_id=first.pk, quantity=extra_refund)], reason="goodwill"))
    _relay()

    for ol in OrderLine.objects.filter(order=order):
        held = RefundLine.objects.filter(order_line=ol, refund__status__in=REFUND_HOLDS).aggregate(q=Sum("quantity"), a=Sum("amount_minor"))
        assert (held["q"] or 0) <= ol.quantity, (cancels, after)
        assert (held["a"] or 0) <= ol.line_total_minor, (cancels, after)
    payment = Payment.objects.get(order=order)
    total_held = RefundLine.objects.filter(refund__payment=payment, refund__status__in=REFUND_HOLDS).aggregate(a=Sum("amount_minor"))["a"] or 0
    assert total_held <= payment.captured_minor
    with in_merchant_schema(mall.acme):
        for ln in SubOrderLine.objects.filter(suborder_id=so.pk):
            assert ln.returned_qty <= ln.delivered_qty <= ln.shipped_qty
            back = (StockMovement.objects.filter(variant_id=ln.variant_id, kind="return", reference__startswith="return ")
                    .aggregate(q=Sum("on_hand_delta"))["q"] or 0)
            assert back <= ln.shipped_qty, (cancels, after)
            assert back == ln.returned_qty  # every unit accepted back went through the stock journal once
