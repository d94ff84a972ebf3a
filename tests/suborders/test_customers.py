"""The store's customers (客户管理): each store sees only the shoppers who ordered from it and only its own
relationship with them; search, detail, notes, tags, export; masking per role; refusals for other stores
and roles without the capability; tag-only merchant vouchers at checkout."""
import csv
import io
import uuid

import pytest
from openpyxl import load_workbook

from automation.models import CustomerTag
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.tenancy import in_merchant_schema
from orders.models import Voucher
from suborders.customers import customer_get, customer_key, customer_note_add, customer_tags_update, customers_list
from suborders.models import CustomerNote
from tests.orders.factories import ADDRESS, stock_item
from tests.payments.helpers import pay, place_order


@pytest.fixture
def orders(mall):
    """shopper: two orders at acme, one spanning acme and globex; nobody: one order at globex only."""
    a1, _ = place_order(mall, stores=("acme",), qty=1, price_minor=1000)
    a2, _ = place_order(mall, stores=("acme", "globex"), qty=2, price_minor=1000)
    g1, _ = place_order(mall, stores=("globex",), qty=1, price_minor=5000, shopper=mall.users["nobody"])
    for o in (a1, a2, g1):
        pay(o)
    return a1, a2, g1


def _find(rows, email):
    return next((c for c in rows if c.email == email), None)


def test_each_store_sees_only_its_own_relationship(mall, orders):
    a1, a2, g1 = orders
    with in_merchant_schema(mall.acme):
        rows = customers_list(actor=mall.users["acme:owner"], q="shopper@example.test")
        me = _find(rows, "shopper@example.test")
        assert me.orders == 2
        detail = customer_get(actor=mall.users["acme:owner"], key=me.key)
        assert {so.order_number for so in detail.suborders} == {a1.number, a2.number}
        assert sum(so.total_minor for so in detail.suborders) == me.spent_minor
        assert _find(customers_list(actor=mall.users["acme:owner"], q="nobody@example.test"), "nobody@example.test") is None
        acme_key = me.key
    with in_merchant_schema(mall.globex):
        rows = customers_list(actor=mall.users["globex:owner"], q="example.test")
        me = _find(rows, "shopper@example.test")
        assert me.orders == 1  # only the order that had a globex part
        detail = customer_get(actor=mall.users["globex:owner"], key=me.key)
        assert [so.order_number for so in detail.suborders] == [a2.number]
        assert _find(rows, "nobody@example.test").orders == 1
        with pytest.raises(NotFound):  # a key minted at acme opens nothing at globex
            customer_get(actor=mall.users["globex:owner"], key=acme_key)
        with pytest.raises(PermissionDenied):  # acme's owner has no role at globex
            customers_list(actor=mall.users["acme:owner"])


def test_search_by_name_phone_order_number_and_tag(mall, orders):
    a1, _a2, _g1 = orders
    with in_merchant_schema(mall.acme):
        owner = mall.users["acme:owner"]
        assert _find(customers_list(actor=owner, q=ADDRESS["name"]), "shopper@example.test")
        assert _find(customers_list(actor=owner, q="138 0000"), "shopper@example.test")
        assert _find(customers_list(actor=owner, q=a1.number), "shopper@example.test")
        assert customers_list(actor=owner, q="no-such-person-anywhere") == []
        key = customer_key("shopper@example.test")
        customer_tags_update(actor=mall.users["acme:customer_service"], key=key, tags="VIP, repeat")
        assert [c.email for c in customers_list(actor=owner, tag="vip")] == ["shopper@example.test"]
        assert CustomerTag.objects.get(email="shopper@example.test").tags == ["vip", "repeat"]
        with pytest.raises(ValidationFailed) as err:
            customers_list(actor=owner, q="x" * 101)
        assert err.value.field == "q"


def test_notes_and_tags_need_customers_edit_and_a_customer_of_this_store(mall, orders):
    with in_merchant_schema(mall.acme):
        key = customer_key("shopper@example.test")
        note = customer_note_add(actor=mall.users["acme:customer_service"], key=key, text="prefers SF Express")
        assert CustomerNote.objects.get(pk=note.pk).author_id == mall.users["acme:customer_service"].pk
        for role in ("finance", "warehouse"):
            with pytest.raises(PermissionDenied):
                customer_note_add(actor=mall.users[f"acme:{role}"], key=key, text="x")
            with pytest.raises(PermissionDenied):
                customer_tags_update(actor=mall.users[f"acme:{role}"], key=key, tags=["x"])
        with pytest.raises(NotFound):  # ordered only from globex: not acme's customer
            customer_note_add(actor=mall.users["acme:owner"], key=customer_key("nobody@example.test"), text="x")
        with pytest.raises(ValidationFailed) as err:
            customer_note_add(actor=mall.users["acme:owner"], key=key, text="  ")
        assert err.value.field == "text"
        assert CustomerNote.objects.filter(email="shopper@example.test").count() == 1
        assert customer_get(actor=mall.users["acme:owner"], key=key).notes[0].text == "prefers SF Express"
    with in_merchant_schema(mall.globex):
        assert not CustomerNote.objects.filter(email="shopper@example.test").exists()  # acme's notes stay at acme


def test_pages_mask_contacts_for_finance_and_refuse_other_roles_and_stores(mall, orders, client_at):
    owner = client_at(mall.acme, mall.users["acme:owner"])
    page = owner.get("/customers/?q=shopper").content.decode()
    assert "shopper@example.test" in page and "+86 138 0000 0000" in page
    with in_merchant_schema(mall.acme):
        key = customer_key("shopper@example.test")
    detail = owner.get(f"/customers/{key}/").content.decode()
    assert ADDRESS["line1"] in detail and 'data-testid="customer-suborder"' in detail
    finance = client_at(mall.acme, mall.users["acme:finance"])
    page = finance.get("/customers/?q=shopper").content.decode()
    assert "shopper@example.test" not in page and "s***@example.test" in page and "138****0000" in page
    detail = finance.get(f"/customers/{key}/").content.decode()
    assert ADDRESS["line1"] not in detail and "+86 138 0000 0000" not in detail
    assert 'data-testid="add-note"' not in detail  # finance reads, never edits
    assert client_at(mall.acme, mall.users["acme:warehouse"]).get("/customers/").status_code == 403
    assert client_at(mall.acme, mall.users["globex:owner"]).get(f"/customers/{key}/").status_code in (302, 403)
    globex = client_at(mall.globex, mall.users["globex:owner"])
    assert globex.get(f"/customers/{key}/").status_code == 404  # acme's real key on globex's host
    cs = client_at(mall.acme, mall.users["acme:customer_service"])
    cs.post(f"/customers/{key}/notes/", {"text": "called about sizes"})
    cs.post(f"/customers/{key}/tags/", {"tags": "vip"})
    detail = owner.get(f"/customers/{key}/").content.decode()
    assert "called about sizes" in detail and 'data-testid="customer-tag">vip<' in detail


def test_export_csv_and_xlsx_with_masking(mall, orders, client_at):
    owner = client_at(mall.acme, mall.users["acme:owner"])
    resp = owner.get("/customers/export.csv?q=shopper")
    rows = list(csv.reader(io.StringIO(b"".join(resp.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["email", "name", "phone", "orders"] and "spent_minor" in rows[0]
    me = next(r for r in rows[1:] if r[0] == "shopper@example.test")
    assert me[3] == "2"
    resp = client_at(mall.acme, mall.users["acme:finance"]).get("/customers/export.xlsx?q=shopper")
    ws = load_workbook(io.BytesIO(resp.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == "email" and any(v[0] == "s***@example.test" for v in values[1:])
    assert not any("shopper@example.test" in str(v) for v in values)
    assert owner.get("/customers/export.pdf").status_code == 404


def test_api_lists_details_notes_and_tags_with_idempotency_and_masking(mall, orders, api_at):
    api = api_at(mall.acme, mall.users["acme:manager"])
    rows = api.get("/api/v1/customers/?q=example.test").json()
    me = next(r for r in rows if r["email"] == "shopper@example.test")
    assert me["orders"] == 2 and me["spent_minor"] > 0 and "nobody@example.test" not in str(rows)
    key = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}
    resp = api.post(f"/api/v1/customers/{me['key']}/notes/", {"text": "VIP since 2024"}, format="json", **key)
    assert resp.status_code == 201 and resp.json()["notes"][0]["text"] == "VIP since 2024"
    api.post(f"/api/v1/customers/{me['key']}/notes/", {"text": "VIP since 2024"}, format="json", **key)  # replay
    with in_merchant_schema(mall.acme):
        assert CustomerNote.objects.filter(email="shopper@example.test", text="VIP since 2024").count() == 1
    resp = api.post(f"/api/v1/customers/{me['key']}/tags/", {"tags": ["vip"]}, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert resp.json()["tags"] == ["vip"]
    resp = api.post(f"/api/v1/customers/{me['key']}/notes/", {"text": ""}, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert resp.status_code == 400
    fin = api_at(mall.acme, mall.users["acme:finance"]).get(f"/api/v1/customers/{me['key']}/").json()
    assert fin["email"] == "s***@example.test" and fin["phone"] == "138****0000"
    assert api_at(mall.acme, mall.users["acme:warehouse"]).get("/api/v1/customers/").status_code == 403
    assert api_at(mall.acme, mall.users["acme:finance"]).post(
        f"/api/v1/customers/{me['key']}/tags/", {"tags": []}, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex).status_code == 403
    assert api_at(mall.globex, mall.users["globex:owner"]).get(f"/api/v1/customers/{me['key']}/").status_code == 404


def test_a_tag_only_voucher_applies_only_to_tagged_customers(mall):
    from orders.services import CheckoutLine, order_checkout

    item = stock_item(mall.acme, price_minor=1000, stock=(5,))
    Voucher.objects.create(code=f"VIP{uuid.uuid4().hex[:6]}".upper(), kind="fixed", amount_minor=300, merchant=mall.acme,
                           currency="CNY", customer_tag="vip")
    code = Voucher.objects.filter(customer_tag="vip").latest("pk").code

    def checkout(user):
        return order_checkout(shopper=user, email=None, shipping_address=ADDRESS, voucher_code=code,
                              lines=[CheckoutLine(item["merchant_id"], item["variant_id"], 1)], idempotency_key=uuid.uuid4().hex)

    with pytest.raises(ValidationFailed) as err:
        checkout(mall.users["shopper"])
    assert (err.value.field, err.value.code) == ("voucher_code", "voucher_not_for_customer")
    assert Voucher.objects.get(code=code).redeemed_count == 0
    with in_merchant_schema(mall.globex):  # a tag at another store does not count
        CustomerTag.objects.create(email="shopper@example.test", tags=["vip"])
    with pytest.raises(ValidationFailed):
        checkout(mall.users["shopper"])
    with in_merchant_schema(mall.acme):
        CustomerTag.objects.update_or_create(email="shopper@example.test", defaults={"tags": ["vip"]})
    order, _ = checkout(mall.users["shopper"])
    assert order.discount_minor == 300
