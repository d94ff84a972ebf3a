"""Checkout with validated addresses: the API refuses invented regions naming the field (nothing written),
accepts the full GB/T 2260 address, and the checkout page starts from the address book's default."""
import pytest

from accounts.demo import seed_addresses
from accounts.models import Address
from accounts.services import address_save
from catalog.models import StockLevel
from core.tenancy import in_merchant_schema
from orders.models import Order
from tests.orders.factories import stock_item

FULL = {"name": "李雷", "phone": "13800138000", "line1": "世纪大道100号", "city": "市辖区", "district": "浦东新区",
        "region": "SH", "postcode": "200120", "country": "CN"}


def _body(item, address):
    return {"lines": [{"merchant_id": item["merchant_id"], "variant_id": item["variant_id"], "quantity": 1}],
            "shipping_address": address}


@pytest.mark.parametrize("change, field", [
    ({"region": "Mars"}, "shipping_address.region"), ({"region": "XX-YY"}, "shipping_address.region"),
    ({"country": "ZZ"}, "shipping_address.country"), ({"district": "火星区"}, "shipping_address.district"),
    ({"city": "杭州市"}, "shipping_address.city"), ({"phone": "12345"}, "shipping_address.phone"),
    ({"postcode": "2001"}, "shipping_address.postcode"),
])
def test_checkout_api_refuses_invented_places_naming_the_field(mall, api_at, change, field):
    a = stock_item(mall.acme, stock=(3,), tag="ca")
    api = api_at(None, mall.users["shopper"])
    before = Order.objects.count()
    resp = api.post("/api/v1/checkout/", _body(a, {**FULL, **change}), format="json", HTTP_IDEMPOTENCY_KEY=f"ca-{field}")
    assert resp.status_code == 400 and resp.json()["field"] == field
    assert Order.objects.count() == before
    with in_merchant_schema(mall.acme):
        assert StockLevel.objects.get(variant_id=a["variant_id"]).reserved == 0


def test_checkout_api_accepts_the_full_address_and_keeps_it(mall, api_at):
    a = stock_item(mall.acme, stock=(3,), tag="cb")
    resp = api_at(None, mall.users["shopper"]).post("/api/v1/checkout/", _body(a, FULL), format="json",
                                                    HTTP_IDEMPOTENCY_KEY="cb-1")
    assert resp.status_code == 201
    order = Order.objects.get(number=resp.json()["number"])
    assert (order.shipping_address["city"], order.shipping_address["district"], order.shipping_address["region"]) == (
        "市辖区", "浦东新区", "SH")


def test_checkout_page_starts_from_the_default_address(mall, client_at):
    user = mall.users["nobody"]
    address_save(user=user, data={**FULL, "region": "上海市", "label": "家"})
    a = stock_item(mall.acme, stock=(3,), tag="cc")
    c = client_at(None, user)
    c.post("/cart/add/", {"merchant_id": a["merchant_id"], "variant_id": a["variant_id"], "quantity": 1})
    body = c.get("/checkout/").content.decode()
    assert 'value="浦东新区"' in body and 'value="CN-SH"' in body and 'data-testid="use-address"' in body


def test_demo_seeds_address_books_once(mall):
    from permissions.services import user_create

    shopper = user_create(email="shopper1@example.com", password="x-long-pass-1")
    seed_addresses([])
    seed_addresses([])
    rows = list(Address.objects.filter(user=shopper))
    assert len(rows) == 2 and sum(r.is_default for r in rows) == 1
    assert {r.division_code for r in rows} == {"310115", "440305"}
