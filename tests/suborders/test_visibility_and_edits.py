"""What each role sees of a suborder (warehouse: no amounts anywhere; finance: contacts masked) and the
contact edit by customer service before shipping, shown on the timeline and audited."""
import json

import pytest

from core.tenancy import in_merchant_schema
from permissions.models import AuditEntry
from permissions.visibility import mask_address, mask_phone
from suborders.models import SubOrder, SubOrderEvent, SubOrderLine
from tests.payments.helpers import pay, place_order


def _paid(mall, store="acme", qty=2, price_minor=12345):
    order, _ = place_order(mall, stores=(store,), qty=qty, price_minor=price_minor)
    pay(order)
    with in_merchant_schema(getattr(mall, store)):
        so = SubOrder.objects.get(order_id=order.pk)
        line = SubOrderLine.objects.get(suborder=so)
    return order, so, line


def _amount_keys(data) -> list[str]:
    found = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k.endswith("_minor") or k in ("price", "total", "amount"):
                found.append(k)
            found += _amount_keys(v)
    elif isinstance(data, list):
        for v in data:
            found += _amount_keys(v)
    return found


def test_mask_helpers():
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("13812345678") == "138****5678"
    masked = mask_address({"name": "李雷", "phone": "+86 138 1234 5678", "line1": "南京路1号", "city": "上海",
                           "region": "CN-SH", "postcode": "200001", "country": "CN"})
    assert masked == {"name": "李*", "phone": "138****5678", "city": "上海", "region": "CN-SH", "postcode": "200001",
                      "country": "CN"}


def test_warehouse_sees_no_amount_on_the_suborder_pages_and_api(mall, client_at, api_at):
    _order, so, _line = _paid(mall)
    page = client_at(mall.acme, mall.users["acme:warehouse"]).get(f"/suborders/{so.pk}/").content.decode()
    listing = client_at(mall.acme, mall.users["acme:warehouse"]).get("/suborders/", {"q": so.number}).content.decode()
    for body in (page, listing):
        assert "123.45" not in body and "246.90" not in body and "CNY" not in body
    assert so.number in listing
    api = api_at(mall.acme, mall.users["acme:warehouse"])
    detail = api.get(f"/api/v1/suborders/{so.pk}/").json()
    listed = api.get("/api/v1/suborders/", {"q": so.number}).json()["results"]
    assert _amount_keys(detail) == [] and _amount_keys(listed) == [] and detail["lines"][0]["quantity"] == 2
    assert detail["shipping_address"]["line1"] == "1 Nanjing Road"  # the warehouse needs the street to ship
    owner = api_at(mall.acme, mall.users["acme:owner"]).get(f"/api/v1/suborders/{so.pk}/").json()
    assert owner["lines"][0]["unit_price_minor"] == 12345 and "total_minor" in owner  # the same call for an owner
    assert "123.45" in client_at(mall.acme, mall.users["acme:owner"]).get(f"/suborders/{so.pk}/").content.decode()


def test_finance_sees_amounts_and_masked_contacts(mall, client_at, api_at):
    _order, so, _line = _paid(mall)
    page = client_at(mall.acme, mall.users["acme:finance"]).get(f"/suborders/{so.pk}/").content.decode()
    assert "123.45" in page and "1 Nanjing Road" not in page and "138 0000 0000" not in page and "138****0000" in page
    detail = api_at(mall.acme, mall.users["acme:finance"]).get(f"/api/v1/suborders/{so.pk}/").json()
    assert detail["lines"][0]["unit_price_minor"] == 12345
    assert "line1" not in detail["shipping_address"] and detail["shipping_address"]["phone"] == "138****0000"
    assert "1 Nanjing Road" not in json.dumps(detail, ensure_ascii=False)


def test_customer_service_changes_the_address_before_shipping_and_it_is_on_the_timeline(mall, client_at):
    _order, so, _line = _paid(mall)
    cs = client_at(mall.acme, mall.users["acme:customer_service"])
    assert 'data-testid="contact-edit"' in cs.get(f"/suborders/{so.pk}/").content.decode()
    floor = max(AuditEntry.objects.values_list("id", flat=True), default=0)
    resp = cs.post(f"/suborders/{so.pk}/contact/", {"address_line1": "88 Huaihai Road", "address_phone": "+86 139 1111 2222",
                                                     "note": "call first"})
    assert resp.status_code == 302
    with in_merchant_schema(mall.acme):
        fresh = SubOrder.objects.get(pk=so.pk)
        ev = SubOrderEvent.objects.filter(suborder=fresh, action="contact_changed").get()
    assert fresh.shipping_address["line1"] == "88 Huaihai Road" and fresh.note == "call first"
    assert fresh.shipping_address["name"] == "Li Lei" and fresh.version == so.version + 1
    assert {c["field"]: (c["before"], c["after"]) for c in ev.lines} == {
        "line1": ("1 Nanjing Road", "88 Huaihai Road"), "phone": ("+86 138 0000 0000", "+86 139 1111 2222"),
        "note": ("", "call first")}
    body = cs.get(f"/suborders/{so.pk}/").content.decode()
    assert "line1: 1 Nanjing Road → 88 Huaihai Road" in body
    [row] = AuditEntry.objects.filter(id__gt=floor, entity="suborder", action="contact_changed")
    assert row.role == "customer_service" and row.after["line1"] == "88 Huaihai Road"
    finance = client_at(mall.acme, mall.users["acme:finance"]).get(f"/suborders/{so.pk}/").content.decode()
    assert "88 Huaihai Road" not in finance and "phone: 138****0000 → 139****2222" in finance


def test_a_contact_edit_with_bad_input_or_after_shipping_changes_nothing(mall, client_at, api_at):
    _order, so, line = _paid(mall)
    api = api_at(mall.acme, mall.users["acme:customer_service"])
    bad = api.post(f"/api/v1/suborders/{so.pk}/contact/", {"shipping_address": {"country": "ZZZ"}}, format="json",
                   HTTP_IDEMPOTENCY_KEY="c-1")
    assert bad.status_code == 400 and bad.json()["field"] == "shipping_address.country"
    bad_phone = api.post(f"/api/v1/suborders/{so.pk}/contact/", {"shipping_address": {"phone": "call me"}}, format="json",
                         HTTP_IDEMPOTENCY_KEY="c-2")
    assert bad_phone.status_code == 400 and bad_phone.json()["field"] == "shipping_address.phone"
    ok = api.post(f"/api/v1/suborders/{so.pk}/contact/", {"note": "gift wrap"}, format="json", HTTP_IDEMPOTENCY_KEY="c-3")
    assert ok.status_code == 200, ok.content
    owner = api_at(mall.acme, mall.users["acme:owner"])
    owner.post(f"/api/v1/suborders/{so.pk}/accept/", format="json", HTTP_IDEMPOTENCY_KEY="c-acc")
    shipped = api_at(mall.acme, mall.users["acme:warehouse"]).post(
        f"/api/v1/suborders/{so.pk}/shipments/", {"lines": [{"line_id": line.pk, "quantity": 1}], "carrier": "sf",
                                                   "tracking_number": "SF2000000000077"}, format="json", HTTP_IDEMPOTENCY_KEY="c-sh")
    assert shipped.status_code == 201
    late = api.post(f"/api/v1/suborders/{so.pk}/contact/", {"shipping_address": {"line1": "Elsewhere"}}, format="json",
                    HTTP_IDEMPOTENCY_KEY="c-4")
    assert late.status_code == 409 and late.json()["field"] == "status"
    with in_merchant_schema(mall.acme):
        fresh = SubOrder.objects.get(pk=so.pk)
    assert fresh.shipping_address["line1"] == "1 Nanjing Road" and fresh.note == "gift wrap"


@pytest.mark.parametrize("role", ["finance", "warehouse"])
def test_roles_without_edit_address_are_refused_and_other_stores_ids_are_not_found(mall, client_at, api_at, role):
    _order, so, _line = _paid(mall)
    assert client_at(mall.acme, mall.users[f"acme:{role}"]).post(
        f"/suborders/{so.pk}/contact/", {"address_line1": "X"}).status_code == 403
    assert api_at(mall.acme, mall.users[f"acme:{role}"]).post(
        f"/api/v1/suborders/{so.pk}/contact/", {"note": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1").status_code == 403
    assert api_at(mall.globex, mall.users["globex:customer_service"]).post(
        f"/api/v1/suborders/{so.pk}/contact/", {"note": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="r-2").status_code == 404
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=so.pk).note == ""
