"""The operator's multi-merchant import on the mall host: each external order becomes ONE checkout order
split into per-merchant (and per-warehouse) suborders exactly as a storefront checkout would split it."""
from __future__ import annotations

import uuid

from catalog.models import StockReservation
from core.tenancy import in_merchant_schema
from orders.models import Order
from orders.services import CheckoutLine, order_checkout
from payments.services import ledger_check
from suborders.models import SubOrder
from tests.orders.factories import ADDRESS, levels, stock_item

HEADER = "order_id,merchant,email,name,phone,address,city,region,postcode,country,sku,quantity,unit_price,shipping\n"


def _line(oid, item, qty):
    return (f"{oid},{item['merchant'].slug},li@example.com,{ADDRESS['name']},{ADDRESS['phone']},{ADDRESS['line1']},{ADDRESS['city']},"
            f"{ADDRESS['region']},{ADDRESS['postcode']},{ADDRESS['country']},{item['sku']},{qty},{item['price_minor'] / 100:.2f},\n")


def _shape(order: Order):
    """What the stores see of an order: per suborder its store, warehouse, lines and money; plus the order's totals."""
    out = []
    for m in order.suborders.select_related("merchant").order_by("merchant_id", "suborder_id"):
        with in_merchant_schema(m.merchant):
            so = SubOrder.objects.get(pk=m.suborder_id)
            lines = sorted((ln.variant_id, ln.sku, ln.quantity, ln.unit_price_minor, ln.line_total_minor) for ln in so.lines.all())
            owners = [f"suborder_line:{ln.pk}" for ln in so.lines.all()]
            reserved = sorted(StockReservation.objects.filter(owner__in=owners).values_list("variant_id", "warehouse_id", "quantity"))
        out.append((m.merchant_id, so.warehouse_id, lines, so.subtotal_minor, so.shipping_minor, so.discount_minor, so.total_minor,
                    m.total_minor, reserved))
    totals = (order.subtotal_minor, order.shipping_minor, order.discount_minor, order.total_minor)
    return totals, out


def test_the_operator_import_splits_orders_exactly_as_checkout(mall, upload, run, unique):
    a1 = stock_item(mall.acme, price_minor=1250, stock=(20,))
    a2 = stock_item(mall.acme, price_minor=999, stock=(20,))  # another warehouse: a second acme suborder
    g = stock_item(mall.globex, price_minor=4500, stock=(0, 20))  # only its second warehouse holds it
    i = stock_item(mall.initech, price_minor=300, stock=(20,))
    wanted = [(a1, 2), (a2, 1), (g, 3), (i, 5)]
    before = [levels(it) for it, _q in wanted]

    placed, _ = order_checkout(shopper=None, email="li@example.com", shipping_address=ADDRESS, idempotency_key=str(uuid.uuid4()),
                               lines=[CheckoutLine(it["merchant_id"], it["variant_id"], q) for it, q in wanted])
    after_checkout = [levels(it) for it, _q in wanted]

    ch = unique("mm").lower().replace("-", "")[:30]
    operator = mall.users["operator"]
    csv = HEADER + "".join(_line("MM-1", it, q) for it, q in wanted)
    job = upload(csv, user=operator, channel=ch)
    assert job.status == "ready", job.errors
    assert job.summary["merchants"] == sorted(["acme", "globex", "initech"])
    job = run(job, user=operator)
    assert (job.status, job.created_orders) == ("done", 1), job.message
    imported = Order.objects.get(channel=ch, external_order_id="MM-1")

    checkout_totals, checkout_subs = _shape(Order.objects.get(pk=placed.pk))
    import_totals, import_subs = _shape(imported)
    assert import_totals == checkout_totals
    assert len(import_subs) == 4  # acme twice (two warehouses), globex, initech
    assert import_subs == checkout_subs
    # the same stock moved: each reserved the same units in the same warehouses
    after_import = [levels(it) for it, _q in wanted]
    for b, c, d in zip(before, after_checkout, after_import, strict=True):
        assert [(x[0], x[1] - y[1]) for x, y in zip(c, b, strict=True)] == [(x[0], x[1] - y[1]) for x, y in zip(d, c, strict=True)]
    assert {m.status for m in imported.suborders.all()} == {"awaiting_acceptance"}
    assert ledger_check(order_ids=[imported.pk]) == []


def test_unknown_store_in_an_operator_file_is_named(mall, upload):
    a = stock_item(mall.acme, stock=(5,))
    csv = HEADER + _line("U-1", a, 1) + _line("U-1", a, 1).replace(",acme,", ",nosuchstore,") + _line("U-2", a, 1).replace(",acme,", ",,")
    job = upload(csv, user=mall.users["operator"], channel="unk")
    assert job.status == "rejected"
    assert [(e["row"], e["field"]) for e in job.errors] == [(3, "merchant"), (4, "merchant")]
    assert "nosuchstore" in job.errors[0]["message"]


def test_an_operator_import_needs_the_platform_capability(mall, upload):
    import pytest

    from core.errors import PermissionDenied

    a = stock_item(mall.acme, stock=(5,))
    with pytest.raises(PermissionDenied):
        upload(HEADER + _line("P-1", a, 1), user=mall.users["acme:owner"], channel="perm")
