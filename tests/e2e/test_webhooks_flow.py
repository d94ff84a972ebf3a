"""Acme's owner adds a webhook endpoint pointing at a local receiver, ships a suborder on its page, and sees the
delivery with the receiver's response code on the endpoint's deliveries page; the receiver got it signed."""
import re

from catalog.services import product_create, stock_receive, warehouse_create
from core.tenancy import in_merchant_schema
from orders.services import CheckoutLine, order_checkout
from suborders.models import SubOrder
from suborders.services import suborder_accept
from tests.e2e.test_import_flow import import_shopify_export_and_see_the_orders
from tests.orders.factories import ADDRESS
from tests.payments.helpers import pay
from tests.webhooks.helpers import dispatch_round, relay
from tests.webhooks.receiver import start_receiver
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.signing import signature


def test_owner_adds_an_endpoint_ships_and_sees_the_delivery_with_its_response_then_imports_a_shopify_csv(
        committed, site, page, login, unique, wait_until, settings, tmp_path):
    """The issue's browser path: webhook endpoint → shipment → the delivery with its response → a Shopify
    import whose orders appear in the suborder list (same signed-in page throughout)."""
    settings.MALLARD_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    mall = committed
    receiver = start_receiver()
    try:
        tag = unique("W").replace("-", "")
        with in_merchant_schema(mall.acme):
            wh = warehouse_create(code=f"W{tag}"[:20], name=f"Hooks {tag}", region="SH", priority=1)
            sku = f"W{tag}".upper()[:30]
            v = product_create(name=f"Hooked thing {tag}", variants=[{"sku": sku, "price_minor": 2500, "currency": "CNY",
                                                                     "weight_g": 200}]).variants.get()
            stock_receive(variant_id=v.pk, warehouse_id=wh.pk, quantity=3, reason="e2e")
        order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS,
                                  idempotency_key=unique("e2e-w"), lines=[CheckoutLine(mall.acme.pk, v.pk, 1)])
        pay(order)
        with in_merchant_schema(mall.acme):
            so = SubOrder.objects.get(order_id=order.pk)
            suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        relay()

        # the owner adds an endpoint for shipments
        path = f"/hook-{tag}"
        login(page, site.at(mall.acme, "/webhooks/"), mall.users["acme:owner"].email)
        form = page.get_by_test_id("endpoint-form")
        form.get_by_test_id("endpoint-url").fill(receiver.url(path))
        form.get_by_test_id("endpoint-description").fill("ERP test")
        form.get_by_test_id("event-suborder.shipped").check()
        form.get_by_test_id("endpoint-add").click()
        page.wait_for_load_state()
        secret = page.get_by_test_id("secret").inner_text().strip()
        assert secret.startswith("whsec_")

        # ... ships the suborder on its page
        page.goto(site.at(mall.acme, f"/suborders/{so.pk}/"))
        ship = page.get_by_test_id("ship-form")
        ship.get_by_test_id("carrier").select_option("sf")
        ship.get_by_test_id("tracking-number").fill("SF1" + f"{abs(hash(tag)) % 10**12:012d}")
        ship.get_by_test_id("ship").click()
        page.wait_for_load_state()
        assert page.get_by_test_id("suborder-status").inner_text() == "Shipped"

        # the worker's part: relay the outbox, send what is due
        relay()
        with in_merchant_schema(mall.acme):
            endpoint = WebhookEndpoint.objects.get(url=receiver.url(path))

        def delivered():
            dispatch_round(mall.acme)
            with in_merchant_schema(mall.acme):
                return WebhookDelivery.objects.filter(endpoint=endpoint, status="succeeded").first()

        delivery = wait_until(delivered, message="the shipment's webhook delivery")
        [request] = receiver.at(path)
        assert request.json["type"] == "suborder.shipped" and request.json["data"]["suborder_id"] == so.pk
        t = request.headers["Mallard-Signature"].split(",")[0].split("=")[1]
        assert request.headers["Mallard-Signature"].endswith("v1=" + signature(secret, int(t), request.body.decode()))

        # ... and sees it on the deliveries page with the response code
        page.goto(site.at(mall.acme, "/webhooks/"))
        page.get_by_test_id("endpoint-row").filter(has_text=receiver.url(path)).get_by_test_id("endpoint-link").click()
        page.wait_for_url(re.compile(rf"/webhooks/{endpoint.pk}/$"))
        row = page.locator(f'[data-testid="delivery-row"][data-delivery="{delivery.delivery_id}"]')
        assert row.get_by_test_id("delivery-event").inner_text() == "suborder.shipped"
        assert row.get_by_test_id("delivery-status").inner_text() == "Succeeded"
        assert row.get_by_test_id("delivery-code").inner_text().strip() == "200"
        row.get_by_test_id("delivery-link").click()
        page.wait_for_url(re.compile(rf"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/$"))
        assert page.get_by_test_id("response-body").inner_text() == '{"received": true}'
        assert delivery.delivery_id in page.get_by_test_id("request-headers").inner_text()

        import_shopify_export_and_see_the_orders(page, site, mall, unique, tmp_path)
    finally:
        with in_merchant_schema(mall.acme):  # committed rows: leave acme without this test's endpoint
            WebhookEndpoint.objects.filter(url__startswith=receiver.url("/hook-")).delete()
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()
