"""Times are stored in UTC and shown in the viewer's zone (cookie set by the page), else DISPLAY_TIME_ZONE."""
from datetime import UTC, datetime

from core.tenancy import in_merchant_schema
from orders.services import CheckoutLine, order_checkout
from suborders.models import SubOrder
from tests.orders.factories import ADDRESS, stock_item


def test_suborder_times_follow_the_viewer(mall, client_at):
    a = stock_item(mall.acme, stock=(2,))
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS, idempotency_key="tz",
                              lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 1)])
    with in_merchant_schema(mall.acme):
        SubOrder.objects.filter(order_id=order.pk).update(created_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    client = client_at(mall.acme, mall.users["acme:owner"])
    assert "2026-01-02 11:04" in client.get("/suborders/").content.decode()  # default: Asia/Shanghai (UTC+8)
    client.cookies["tz"] = "America/New_York"
    assert "2026-01-01 22:04" in client.get("/suborders/").content.decode()  # UTC−5
    client.cookies["tz"] = "Not/AZone"
    assert "2026-01-02 11:04" in client.get("/suborders/").content.decode()
