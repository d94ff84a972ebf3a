"""The checkout API end to end through DRF: status codes, error bodies, isolation."""
import uuid

from orders.models import Order
from tests.orders.factories import ADDRESS, levels, stock_item


def _body(*items, **extra):
    return {"lines": [{"merchant_id": i["merchant_id"], "variant_id": i["variant_id"], "quantity": 1} for i in items],
            "shipping_address": ADDRESS, **extra}


def test_checkout_api_201_then_200_on_retry(mall, api_at):
    a = stock_item(mall.acme, stock=(3,))
    g = stock_item(mall.globex, stock=(3,))
    api = api_at(None, mall.users["shopper"])
    key = str(uuid.uuid4())
    first = api.post("/api/v1/checkout/", _body(a, g), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["status"] == "awaiting_payment" and len(body["suborders"]) == 2
    assert sum(s["total_minor"] for s in body["suborders"]) == body["total_minor"]
    again = api.post("/api/v1/checkout/", _body(a, g), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 200 and again.json()["number"] == body["number"]
    changed = api.post("/api/v1/checkout/", _body(a), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert changed.status_code == 409 and changed.json()["code"] == "idempotency_key_reused"
    assert levels(a) == [(3, 1)]


def test_checkout_api_errors_name_the_field(mall, api_at):
    a = stock_item(mall.acme, stock=(1,))
    api = api_at(None, mall.users["shopper"])
    before = Order.objects.count()
    no_key = api.post("/api/v1/checkout/", _body(a), format="json")
    assert no_key.status_code == 400 and no_key.json()["field"] == "Idempotency-Key"
    short = api.post("/api/v1/checkout/", {**_body(a), "lines": [{"merchant_id": a["merchant_id"], "variant_id": a["variant_id"], "quantity": 5}]},
                     format="json", HTTP_IDEMPOTENCY_KEY="k-short")
    assert short.status_code == 409 and short.json()["code"] == "out_of_stock"
    assert short.json()["field"] == "lines[0].quantity" and "5 requested, 1 available" in short.json()["message"]
    bad_qty = api.post("/api/v1/checkout/", {**_body(a), "lines": [{"merchant_id": a["merchant_id"], "variant_id": a["variant_id"], "quantity": "lots"}]},
                       format="json", HTTP_IDEMPOTENCY_KEY="k-bad")
    assert bad_qty.status_code == 400 and bad_qty.json()["field"] == "lines.0.quantity"
    empty = api.post("/api/v1/checkout/", {"lines": [], "shipping_address": ADDRESS}, format="json", HTTP_IDEMPOTENCY_KEY="k-empty")
    assert empty.status_code == 400 and empty.json()["code"] == "empty_cart"
    assert Order.objects.count() == before and levels(a) == [(1, 0)]


def test_checkout_api_requires_sign_in(mall, api_at):
    resp = api_at(None, None).post("/api/v1/checkout/", {}, format="json", HTTP_IDEMPOTENCY_KEY="x")
    assert resp.status_code in (401, 403)


def test_cart_api_and_checkout_of_cart(mall, api_at):
    a = stock_item(mall.acme, price_minor=1500, stock=(4,))
    i = stock_item(mall.initech, price_minor=700, stock=(4,))
    api = api_at(None, mall.users["nobody"])
    assert api.post("/api/v1/cart/lines/", {"merchant_id": a["merchant_id"], "variant_id": a["variant_id"], "quantity": 2}, format="json").status_code == 201
    resp = api.post("/api/v1/cart/lines/", {"merchant_id": i["merchant_id"], "variant_id": i["variant_id"], "quantity": 1}, format="json")
    stores = resp.json()
    assert [s["store"] for s in stores] == ["Acme Outfitters", "Initech Home"]
    assert stores[0]["subtotal_minor"] == 3000 and stores[1]["lines"][0]["quantity"] == 1
    order = api.post("/api/v1/checkout/", {"shipping_address": ADDRESS}, format="json", HTTP_IDEMPOTENCY_KEY="cart-1").json()
    assert order["subtotal_minor"] == 3700 and len(order["suborders"]) == 2
    assert api.get("/api/v1/cart/").json() == []  # the cart was checked out; a new empty one is open


def test_orders_are_private_to_their_shopper(mall, api_at):
    a = stock_item(mall.acme, stock=(3,))
    mine = api_at(None, mall.users["shopper"]).post("/api/v1/checkout/", _body(a), format="json", HTTP_IDEMPOTENCY_KEY="p1").json()
    other = api_at(None, mall.users["nobody"])
    assert other.get(f"/api/v1/orders/{mine['number']}/").status_code == 404
    assert mine["number"] not in [o["number"] for o in other.get("/api/v1/orders/").json()]
    assert api_at(None, mall.users["shopper"]).get(f"/api/v1/orders/{mine['number']}/").json()["number"] == mine["number"]


def test_openapi_schema_documents_checkout(mall, client_at):
    resp = client_at(None).get("/api/v1/schema/")
    assert resp.status_code == 200
    text = resp.content.decode()
    assert "/api/v1/checkout/" in text and "Idempotency-Key" in text


def test_order_output_written_out_equals_the_documented_serializer(mall, api_at):
    """orders.api.order_output (what checkout, the order list and the order detail answer) gives the
    same JSON as OrderOutput, for the order checkout hands back, for one read back, after payment,
    and with times shown in another zone."""
    import json

    from django.utils import timezone
    from rest_framework.renderers import JSONRenderer

    from orders.api import OrderOutput, order_output
    from orders.selectors import order_annotate_status, order_get_for_shopper
    from orders.services import CheckoutLine, order_checkout
    from tests.payments.helpers import pay

    a = stock_item(mall.acme, stock=(5,))
    g = stock_item(mall.globex, stock=(5,))
    shopper = mall.users["shopper"]
    placed, created = order_checkout(shopper=shopper, email=None, shipping_address=ADDRESS, idempotency_key=str(uuid.uuid4()),
                                     lines=[CheckoutLine(a["merchant_id"], a["variant_id"], 2), CheckoutLine(g["merchant_id"], g["variant_id"], 1)])
    assert created
    order_annotate_status(placed)

    def same(order):
        ours, theirs = JSONRenderer().render(order_output(order)), JSONRenderer().render(OrderOutput(order).data)
        assert ours == theirs  # byte for byte, key order included
        return json.loads(ours)

    with timezone.override("Asia/Shanghai"):  # what ViewerTimezoneMiddleware activates by default
        body = same(placed)
        assert body["created_at"].endswith("+08:00")
        same(order_get_for_shopper(number=placed.number, shopper=shopper))
    assert (body["status"], body["payment_status"], len(body["suborders"]), len(body["lines"])) == ("awaiting_payment", "pending", 2, 2)
    pay(placed)
    with timezone.override("UTC"):
        body = same(order_get_for_shopper(number=placed.number, shopper=shopper))
    assert body["payment_status"] == "captured" and body["expires_at"].endswith("Z")
    # and through the views
    api = api_at(None, shopper)
    detail = api.get(f"/api/v1/orders/{placed.number}/").json()
    listed = [o for o in api.get("/api/v1/orders/").json() if o["number"] == placed.number]
    assert listed == [detail] and detail["number"] == placed.number and detail["lines"][0]["sku"] == a["sku"]
