"""Sales rollups: incremental (outbox subscribers) == recomputation from the source rows, after random histories."""
from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.tenancy import in_merchant_schema
from orders.models import OrderLine, SubOrderMirror
from payments.services import RefundLineRequest, refund_create
from reports.rollup_models import MerchantDayRollup, SuborderFact
from reports.rollups import report_zone, rollups_rebuild, rollups_snapshot
from suborders import services as svc
from suborders.models import SubOrder, SubOrderEvent
from tests.payments.helpers import pay, place_order, run_commit_hooks
from tests.webhooks.helpers import relay

STORES = ("acme", "globex")
steps = st.lists(st.fixed_dictionaries({
    "stores": st.sampled_from([("acme",), ("globex",), ("acme", "globex")]),
    "qty": st.integers(1, 3),
    "price": st.integers(1, 50_000),
    "days_ago": st.integers(0, 70),  # the sale happened that long ago; what follows happens now
    "then": st.sampled_from(["nothing", "accept", "ship", "cancel", "refund_one", "accept_refund_all", "unpaid"]),
}), min_size=1, max_size=4)


def _backdate_sale(merchant, so_id, days):
    """The sale (its 'paid' event and creation) happened `days` ago: refunds and moves now land in a later period."""
    with in_merchant_schema(merchant):
        ev = SubOrderEvent.objects.filter(suborder_id=so_id, action="paid")
        at = ev.get().at - timedelta(days=days)
        ev.update(at=at)
        SubOrder.objects.filter(pk=so_id).update(created_at=at)


def _play(mall, step):
    order, _items = place_order(mall, stores=step["stores"], qty=step["qty"], price_minor=step["price"])
    if step["then"] == "unpaid":
        relay()
        return
    pay(order)
    if step["days_ago"]:  # before the relay reads the sale
        for store in step["stores"]:
            m = getattr(mall, store)
            _backdate_sale(m, SubOrderMirror.objects.get(order=order, merchant=m).suborder_id, step["days_ago"])
    relay()
    for store in step["stores"]:
        m = getattr(mall, store)
        mirror = SubOrderMirror.objects.get(order=order, merchant=m)
        owner = mall.users[f"{store}:owner"]
        then = step["then"]
        with in_merchant_schema(m):
            if then in ("accept", "ship", "accept_refund_all"):
                svc.suborder_accept(suborder_id=mirror.suborder_id, actor=owner)
            if then == "ship":
                so = SubOrder.objects.get(pk=mirror.suborder_id)
                svc.suborder_lines_shipped(suborder_id=so.pk, shipped=[(ln.pk, ln.quantity) for ln in so.lines.all()],
                                           actor=mall.users[f"{store}:warehouse"], shipment_ref="t")
            if then == "cancel":
                svc.suborder_cancel_lines(suborder_id=mirror.suborder_id, actor=owner, reason_code="out_of_stock")
        relay()
        if then in ("refund_one", "accept_refund_all"):
            line = OrderLine.objects.get(order=order, merchant=m)
            qty = 1 if then == "refund_one" else line.quantity
            run_commit_hooks(refund_create, actor=mall.users[f"{store}:finance"], merchant_id=m.pk,
                             suborder_id=mirror.suborder_id, lines=[RefundLineRequest(order_line_id=line.pk, quantity=qty)],
                             reason="damaged")
        relay()


@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=steps)
def test_rollups_equal_recomputation_after_random_histories(mall, history):
    merchants = [mall.acme, mall.globex]
    ids = [m.pk for m in merchants]
    relay()
    rollups_rebuild(merchants=merchants)  # start from the source rows (other tests' committed rows included)
    for step in history:
        _play(mall, step)
    incremental = rollups_snapshot(merchant_ids=ids)
    rollups_rebuild(merchants=merchants)
    rebuilt = rollups_snapshot(merchant_ids=ids)
    for kind in rebuilt:
        assert (kind, rebuilt[kind] - incremental[kind], incremental[kind] - rebuilt[kind]) == (kind, set(), set())
    assert any(incremental.values())


def test_a_refund_in_a_later_period_lowers_that_day_not_the_sale_day(mall):
    before = rollups_snapshot(merchant_ids=[mall.acme.pk])["day"]
    _play(mall, {"stores": ("acme",), "qty": 2, "price": 10_000, "days_ago": 40, "then": "refund_one"})
    mirror = SubOrderMirror.objects.filter(merchant=mall.acme).order_by("-pk").first()
    fact = SuborderFact.objects.get(merchant_id=mall.acme.pk, suborder_id=mirror.suborder_id).fact
    from django.utils import timezone

    today = timezone.now().astimezone(report_zone()).date()
    assert fact["day"] == (today - timedelta(days=40)).isoformat() or fact["day"] == (today - timedelta(days=39)).isoformat()
    sale = MerchantDayRollup.objects.get(merchant_id=mall.acme.pk, day=fact["day"])
    refund_day = MerchantDayRollup.objects.get(merchant_id=mall.acme.pk, day=today)
    assert sale.gmv_minor >= mirror.total_minor and sale.orders >= 1
    assert refund_day.refunds_minor >= 10_000  # one unit of 2 x 100.00
    assert before != rollups_snapshot(merchant_ids=[mall.acme.pk])["day"]
    assert fact["units"] == 2 and fact["gmv"] == mirror.total_minor


def test_rebuild_command_for_one_merchant_leaves_the_others(mall):
    _play(mall, {"stores": ("acme", "globex"), "qty": 1, "price": 1234, "days_ago": 0, "then": "accept"})
    globex = rollups_snapshot(merchant_ids=[mall.globex.pk])
    MerchantDayRollup.objects.filter(merchant_id=mall.acme.pk).delete()
    call_command("reports_rebuild", "--merchant", "acme")
    assert MerchantDayRollup.objects.filter(merchant_id=mall.acme.pk).exists()
    assert rollups_snapshot(merchant_ids=[mall.globex.pk]) == globex
