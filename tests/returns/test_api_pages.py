"""Returns through the API (merchant and mall hosts, Idempotency-Key) and the pages (the order page's
"Return or exchange", the shopper's form and progress, the store's queue and detail): isolation between
stores and between shoppers, roles without the capability refused, bad input named by field."""
import base64
import uuid

import pytest

from core.tenancy import in_merchant_schema
from returns.models import ReturnRequest
from returns.services import return_request_create
from tests.returns.helpers import delivered_suborder, first_line_id, lines_of, png_bytes

pytestmark = pytest.mark.django_db


def _key():
    return {"HTTP_IDEMPOTENCY_KEY": f"rt-{uuid.uuid4().hex}"}


def _acme_return(mall, qty=2):
    order, so, items = delivered_suborder(mall, qty=qty)
    with in_merchant_schema(mall.acme):
        ret = return_request_create(suborder_id=so.pk, shopper_email=so.shopper_email, kind="return",
                                    lines=[(lines_of(so)[0].pk, 1)], reason_code="damaged", photos=[png_bytes()])
    return order, so, items, ret


def test_merchant_api_approve_is_idempotent_and_shows_amounts_only_to_roles_that_see_them(mall, api_at):
    _order, _so, _items, ret = _acme_return(mall)
    api = api_at(mall.acme, mall.users["acme:customer_service"])
    key = _key()
    first = api.post(f"/api/v1/returns/{ret.pk}/approve/", {}, format="json", **key)
    assert first.status_code == 200 and first.json()["status"] == "awaiting_return_shipment"
    again = api.post(f"/api/v1/returns/{ret.pk}/approve/", {}, format="json", **key)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    twice = api.post(f"/api/v1/returns/{ret.pk}/approve/", {}, format="json", **_key())
    assert twice.status_code == 409 and twice.json()["field"] == "status"
    listed = api.get("/api/v1/returns/?queue=receive").json()
    assert ret.pk in [r["id"] for r in listed]
    assert "refund_minor" in api.get(f"/api/v1/returns/{ret.pk}/").json()
    assert "refund_minor" not in api_at(mall.acme, mall.users["acme:warehouse"]).get(f"/api/v1/returns/{ret.pk}/").json()


def test_another_stores_staff_get_404_for_a_real_return_id_and_are_refused_on_acmes_host(mall, api_at):
    _order, _so, _items, ret = _acme_return(mall)
    with in_merchant_schema(mall.globex):
        assert not ReturnRequest.objects.filter(pk=ret.pk).exists()  # the id is acme's only
    globex = api_at(mall.globex, mall.users["globex:owner"])
    assert globex.get(f"/api/v1/returns/{ret.pk}/").status_code == 404
    assert globex.post(f"/api/v1/returns/{ret.pk}/approve/", {}, format="json", **_key()).status_code == 404
    from rest_framework.test import APIClient

    from permissions.services import api_token_create
    from tests.conftest import host_of

    _, secret = api_token_create(user=mall.users["globex:owner"], name="probe", merchant=mall.globex)
    at_acme = APIClient(HTTP_HOST=host_of(mall.acme))
    at_acme.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert at_acme.post(f"/api/v1/returns/{ret.pk}/approve/", {}, format="json", **_key()).status_code in (401, 403)
    with in_merchant_schema(mall.acme):
        assert ReturnRequest.objects.get(pk=ret.pk).status == "requested"


def test_roles_without_the_capability_are_refused_by_the_api(mall, api_at):
    _order, _so, _items, ret = _acme_return(mall)
    for role, path in (("warehouse", "approve"), ("finance", "refuse"), ("customer_service", "receive"),
                       ("customer_service", "refund")):
        resp = api_at(mall.acme, mall.users[f"acme:{role}"]).post(f"/api/v1/returns/{ret.pk}/{path}/", {"reason": "x"},
                                                                 format="json", **_key())
        assert resp.status_code == 403, (role, path)
    with in_merchant_schema(mall.acme):
        assert ReturnRequest.objects.get(pk=ret.pk).status == "requested"


def test_shopper_api_requests_a_return_with_a_photo_and_reads_it(mall, api_at):
    order, so, _items = delivered_suborder(mall, qty=2)
    api = api_at(None, mall.users["shopper"])
    body = {"merchant_id": mall.acme.pk, "suborder_id": so.pk, "kind": "return", "reason_code": "damaged",
            "lines": [{"line_id": first_line_id(mall.acme, so), "quantity": 1}], "photos": [base64.b64encode(png_bytes()).decode()]}
    resp = api.post(f"/api/v1/orders/{order.number}/returns/", body, format="json", **_key())
    assert resp.status_code == 201, resp.content
    rid = resp.json()["id"]
    assert resp.json()["photos"] == 1 and "actor" not in resp.json()["events"][0]
    assert [r["id"] for r in api.get(f"/api/v1/orders/{order.number}/returns/").json()] == [rid]
    assert api.get(f"/api/v1/orders/{order.number}/returns/{mall.acme.pk}/{rid}/").json()["status"] == "requested"


def test_shopper_b_cannot_see_or_touch_shopper_as_return(mall, api_at):
    from permissions.services import user_create
    from tests.conftest import PASSWORD

    order_a, _so, _items, ret = _acme_return(mall)
    order_b, _so_b, _ = delivered_suborder(mall, qty=1, shopper=user_create(email=f"b-{uuid.uuid4().hex[:8]}@example.test",
                                                                            password=PASSWORD))
    b = api_at(None, order_b.shopper)
    assert b.get(f"/api/v1/orders/{order_a.number}/returns/").status_code == 404
    assert b.get(f"/api/v1/orders/{order_b.number}/returns/{mall.acme.pk}/{ret.pk}/").status_code == 404
    assert b.post(f"/api/v1/orders/{order_b.number}/returns/{mall.acme.pk}/{ret.pk}/ship/",
                  {"carrier": "SF", "tracking_number": "SF1"}, format="json", **_key()).status_code == 404
    with in_merchant_schema(mall.acme):
        assert ReturnRequest.objects.get(pk=ret.pk).status == "requested"


@pytest.mark.parametrize("change,field", [
    ({"lines": [{"line_id": None, "quantity": 9}]}, "lines[0].quantity"),
    ({"photos": ["not base64!!"]}, "photos[0]"),
    ({"photos": [base64.b64encode(b"%PDF-1.4").decode()]}, "photos[0]"),
    ({"kind": "swap"}, "kind"),
    ({"reason_code": "because"}, "reason_code"),
])
def test_shopper_api_bad_input_names_the_field_and_changes_nothing(mall, api_at, change, field):
    order, so, _items = delivered_suborder(mall, qty=2)
    body = {"merchant_id": mall.acme.pk, "suborder_id": so.pk, "kind": "return", "reason_code": "damaged",
            "lines": [{"line_id": first_line_id(mall.acme, so), "quantity": 1}]}
    body.update(change)
    if "lines" in change:
        body["lines"][0]["line_id"] = first_line_id(mall.acme, so)
    resp = api_at(None, mall.users["shopper"]).post(f"/api/v1/orders/{order.number}/returns/", body, format="json", **_key())
    assert resp.status_code == 400 and resp.json()["field"] == field, resp.content
    with in_merchant_schema(mall.acme):
        assert not ReturnRequest.objects.filter(suborder_id=so.pk).exists()


def test_order_page_button_form_with_photo_and_progress(mall, client_at):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order, so, _items = delivered_suborder(mall, qty=2)
    shopper = client_at(None, mall.users["shopper"])
    page = shopper.get(f"/orders/{order.number}/").content.decode()
    assert 'data-testid="return-or-exchange"' in page
    new_url = f"/orders/{order.number}/returns/new/{mall.acme.pk}/{so.pk}/"
    assert shopper.get(new_url).status_code == 200
    line_id = first_line_id(mall.acme, so)
    bad = shopper.post(new_url, {"kind": "return", "reason_code": "damaged", f"qty_{line_id}": "5"})
    assert bad.status_code == 400 and 'data-field="lines[0].quantity"' in bad.content.decode()
    resp = shopper.post(new_url, {"kind": "return", "reason_code": "damaged", f"qty_{line_id}": "1",
                                  "photos": SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")})
    assert resp.status_code == 302
    progress = shopper.get(resp["Location"]).content.decode()
    assert 'data-status="requested"' in progress
    with in_merchant_schema(mall.acme):
        ret = ReturnRequest.objects.get(suborder_id=so.pk)
        assert ret.photos.count() == 1
    assert 'data-testid="order-return"' in shopper.get(f"/orders/{order.number}/").content.decode()


def test_dashboard_queue_detail_and_decide(mall, client_at):
    _order, _so, _items, ret = _acme_return(mall)
    owner = client_at(mall.acme, mall.users["acme:owner"])
    assert ret.number in owner.get("/returns/?queue=decide").content.decode()
    detail = owner.get(f"/returns/{ret.pk}/").content.decode()
    assert 'data-testid="approve"' in detail
    with in_merchant_schema(mall.acme):
        photo_id = ret.photos.get().pk
    photo = owner.get(f"/returns/{ret.pk}/photos/{photo_id}/")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    refused = owner.post(f"/returns/{ret.pk}/decide/", {"decision": "refuse", "reason": ""})
    assert refused.status_code == 302
    with in_merchant_schema(mall.acme):
        assert ReturnRequest.objects.get(pk=ret.pk).status == "requested"  # a refusal needs a reason
    owner.post(f"/returns/{ret.pk}/decide/", {"decision": "approve"})
    with in_merchant_schema(mall.acme):
        assert ReturnRequest.objects.get(pk=ret.pk).status == "awaiting_return_shipment"
    assert client_at(mall.acme, mall.users["acme:finance"]).post(f"/returns/{ret.pk}/receive/").status_code == 403


def test_policy_page_saves_for_owner_and_names_a_bad_field(mall, client_at):
    owner = client_at(mall.acme, mall.users["acme:owner"])
    bad = owner.post("/returns/policy/", {"window_days": "x", "return_shipping_payer": "shopper", "answer_days": "2", "ship_days": "7"})
    assert bad.status_code == 400 and 'data-field="window_days"' in bad.content.decode()
    ok = owner.post("/returns/policy/", {"window_days": "15", "no_approval_reasons": ["no_reason_7d"],
                                         "return_shipping_payer": "merchant", "answer_days": "3", "ship_days": "5"})
    assert ok.status_code == 302
    from tenants.models import Merchant

    assert Merchant.objects.get(pk=mall.acme.pk).return_window_days == 15
    assert client_at(mall.acme, mall.users["acme:warehouse"]).post("/returns/policy/", {"window_days": "1"}).status_code == 403
