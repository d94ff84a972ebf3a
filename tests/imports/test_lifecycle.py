"""An imported order follows the normal lifecycle through the existing services: accept, ship (the
reservation made at import is committed: on_hand goes down), or refuse (the reservation is released)."""
from __future__ import annotations

import uuid

from core.tenancy import in_merchant_schema
from fulfillment.shipments import shipment_create
from orders.models import SubOrderMirror
from suborders.models import SubOrder
from suborders.services import suborder_accept, suborder_refuse_lines
from tests.imports.test_import_files import HEADER, _row
from tests.orders.factories import levels, stock_item


def test_an_imported_suborder_is_accepted_and_shipped_like_any_paid_suborder(mall, upload, run, unique):
    item = stock_item(mall.acme, stock=(10,))
    ch = unique("lc").lower().replace("-", "")[:30]
    owner = mall.users["acme:owner"]
    run(upload(HEADER + _row("LC-1", item["sku"], 3) + _row("LC-2", item["sku"], 2), user=owner, merchant=mall.acme, channel=ch),
        user=owner, merchant=mall.acme)
    assert levels(item) == [(10, 5)]
    with in_merchant_schema(mall.acme):
        first = SubOrder.objects.get(channel=ch, external_order_id="LC-1")
        second = SubOrder.objects.get(channel=ch, external_order_id="LC-2")
        suborder_accept(suborder_id=first.pk, actor=owner)
        shipment_create(suborder_id=first.pk, actor=owner, lines=None, carrier="sf", tracking_number=f"SF{uuid.uuid4().int % 10**13:013d}")
        suborder_refuse_lines(suborder_id=second.pk, actor=owner, reason_code="out_of_stock")
        first.refresh_from_db()
        second.refresh_from_db()
    assert (first.status, second.status) == ("shipped", "refused")
    assert levels(item) == [(7, 0)]  # 3 shipped out of stock, 2 released
    mirrors = {m.suborder_id: m.status for m in SubOrderMirror.objects.filter(merchant=mall.acme, suborder_id__in=[first.pk, second.pk])}
    assert mirrors == {first.pk: "shipped", second.pk: "refused"}
