"""stock_reserve's single reservation statement (_RESERVE_SQL): alerts, statement count, refusals."""
import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from catalog.models import StockLevel, StockMovement, StockReservation
from catalog.services import ReserveLine, stock_receive, stock_reserve
from core.errors import OutOfStock
from core.models import OutboxEvent
from core.outbox import outbox_batch
from core.tenancy import in_merchant_schema


def _alerts(v):
    return list(OutboxEvent.objects.filter(topic="catalog.low_stock", aggregate_id=str(v.pk)).values_list("payload", flat=True))


def test_low_stock_alert_once_per_crossing(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=10, threshold=5)
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 4, "o:1")], expires_at=None)  # 6 left: above
        assert _alerts(v) == [] and StockLevel.objects.get(variant=v).low_alerted is False
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 1, "o:2")], expires_at=None)  # 5 left: crossed
        assert _alerts(v) == [{"sku": v.sku, "variant_id": v.pk, "available": 5, "threshold": 5, "warehouse": w.code,
                               "warehouse_id": w.pk}]
        assert StockLevel.objects.get(variant=v).low_alerted is True
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 1, "o:3")], expires_at=None)  # still low: no new alert
        assert len(_alerts(v)) == 1
        stock_receive(variant_id=v.pk, warehouse_id=w.pk, quantity=10)  # 14 free: re-armed
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 9, "o:4")], expires_at=None)  # 5 again: second crossing
        assert len(_alerts(v)) == 2


def test_one_statement_and_every_row_once(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=10)
        with transaction.atomic(), outbox_batch():  # as at checkout: events are written by the batch
            with CaptureQueriesContext(connection) as ctx:
                made = stock_reserve(lines=[ReserveLine(v.pk, w.pk, 2, "o:a"), ReserveLine(v.pk, w.pk, 3, "o:b"),
                                            ReserveLine(v.pk, w.pk, 1, "o:a")], expires_at=None, reference="R1")
        assert len(ctx.captured_queries) == 1, [q["sql"][:60] for q in ctx.captured_queries]
        assert [(r.owner, r.quantity) for r in made] == [("o:a", 3), ("o:b", 3)]
        stored = {r.pk: (r.owner, r.variant_id, r.warehouse_id, r.quantity, r.status) for r in StockReservation.objects.all()}
        assert stored == {r.pk: (r.owner, v.pk, w.pk, r.quantity, "active") for r in made}
        moves = list(StockMovement.objects.filter(kind="reservation").order_by("id").values_list("reason", "reserved_delta", "reference"))
        assert moves == [("o:a", 3, "R1"), ("o:b", 3, "R1")]
        level = StockLevel.objects.get(variant=v, warehouse=w)
        assert (level.on_hand, level.reserved) == (10, 6)
        journal = StockMovement.objects.filter(variant=v, warehouse=w).aggregate(oh=Sum("on_hand_delta"), res=Sum("reserved_delta"))
        assert (journal["oh"], journal["res"]) == (10, 6)


def test_refusal_writes_nothing_and_leaves_the_transaction_usable(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=3)
        with transaction.atomic():
            with pytest.raises(OutOfStock) as err:
                stock_reserve(lines=[ReserveLine(v.pk, w.pk, 2, "o:x"), ReserveLine(v.pk, w.pk, 2, "o:y")], expires_at=None)
            assert err.value.details == {"sku": v.sku, "warehouse": w.code, "requested": 4, "available": 3}
            assert StockReservation.objects.count() == 0
            assert StockMovement.objects.filter(kind="reservation").count() == 0
            stock_reserve(lines=[ReserveLine(v.pk, w.pk, 3, "o:z")], expires_at=None)  # the same transaction goes on
        assert StockLevel.objects.get(variant=v, warehouse=w).reserved == 3
