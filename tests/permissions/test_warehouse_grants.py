"""Object permissions (django-guardian, direct FK table in the merchant schema): a warehouse user an owner
limited to warehouse A sees and ships only A's suborders and stock — list, detail, API, pick & pack, PDFs,
stock pages and services — while B's real ids answer as if they did not exist."""
import pytest

from catalog.services import warehouse_grants_set
from core.errors import NotFound, PermissionDenied
from core.tenancy import in_merchant_schema
from fulfillment.shipments import shipment_create
from permissions.models import AuditEntry
from permissions.services import membership_grant, user_create
from suborders.models import SubOrder
from tests.conftest import PASSWORD
from tests.payments.helpers import pay, place_order


@pytest.fixture
def two_warehouses(mall):
    """Two paid, accepted acme suborders, one shipping from warehouse A and one from B, and a clerk limited to A."""
    out = []
    for _ in range(2):
        order, items = place_order(mall, stores=("acme",), qty=1)
        pay(order)
        with in_merchant_schema(mall.acme):
            so = SubOrder.objects.get(order_id=order.pk)
            from suborders.services import suborder_accept

            suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        out.append((so, items[0]))
    clerk = user_create(email=f"clerk-{out[0][0].pk}@acme.test", password=PASSWORD)
    membership_grant(user=clerk, merchant=mall.acme, roles=["warehouse"])
    with in_merchant_schema(mall.acme):
        warehouse_grants_set(actor=mall.users["acme:owner"], user=clerk, warehouse_ids=[out[0][0].warehouse_id])
    return out[0][0], out[1][0], clerk, out


def test_the_limited_clerk_sees_only_warehouse_a_everywhere(mall, client_at, api_at, two_warehouses):
    a, b, clerk, _items = two_warehouses
    page = client_at(mall.acme, clerk)
    listing = page.get("/suborders/").content.decode()
    assert a.number in listing and b.number not in listing
    assert page.get(f"/suborders/{a.pk}/").status_code == 200 and page.get(f"/suborders/{b.pk}/").status_code == 404
    queue = page.get("/suborders/warehouse/").content.decode()
    assert a.number in queue and b.number not in queue
    assert page.get(f"/suborders/{b.pk}/pack/").status_code == 404
    assert page.get(f"/documents/suborders/{a.pk}/packing-slip.pdf").status_code == 200
    assert page.get(f"/documents/suborders/{b.pk}/packing-slip.pdf").status_code == 404
    assert page.get("/documents/pick-list.pdf", {"ids": [a.pk, b.pk]}).status_code == 404
    assert page.get("/documents/pick-list.pdf", {"ids": [a.pk]}).status_code == 200
    api = api_at(mall.acme, clerk)
    assert [r["number"] for r in api.get("/api/v1/suborders/").json()["results"]] == [a.number]
    assert api.get(f"/api/v1/suborders/{b.pk}/").status_code == 404
    ship = api.post(f"/api/v1/suborders/{b.pk}/shipments/", {"carrier": "sf", "tracking_number": "SF2000000000991"},
                    format="json", HTTP_IDEMPOTENCY_KEY="grant-ship-b")
    assert ship.status_code == 404
    with in_merchant_schema(mall.acme):
        with pytest.raises(NotFound):
            shipment_create(suborder_id=b.pk, actor=clerk, lines=None, carrier="sf", tracking_number="SF2000000000992")
        assert SubOrder.objects.get(pk=b.pk).status == "accepted"
        shipment_create(suborder_id=a.pk, actor=clerk, lines=None, carrier="sf", tracking_number="SF2000000000993")
        assert SubOrder.objects.get(pk=a.pk).status == "shipped"


def test_the_limited_clerk_counts_stock_only_in_warehouse_a(mall, client_at, two_warehouses):
    from catalog.services import stock_adjust

    a, b, clerk, items = two_warehouses
    (_so_a, item_a), (_so_b, item_b) = items
    from catalog.models import Warehouse

    with in_merchant_schema(mall.acme):
        code_a, code_b = (Warehouse.objects.get(pk=a.warehouse_id).code, Warehouse.objects.get(pk=b.warehouse_id).code)
    body = client_at(mall.acme, clerk).get("/catalog/stock/").content.decode()
    assert code_a in body and code_b not in body
    assert code_b in client_at(mall.acme, mall.users["acme:owner"]).get("/catalog/stock/").content.decode()
    with in_merchant_schema(mall.acme):
        with pytest.raises(NotFound):
            stock_adjust(variant_id=item_b["variant_id"], warehouse_id=b.warehouse_id, delta=-1, reason="x", actor=clerk)
        stock_adjust(variant_id=item_a["variant_id"], warehouse_id=a.warehouse_id, delta=-1, reason="broken", actor=clerk)


def test_an_unlimited_warehouse_user_and_the_owner_see_both(mall, client_at, two_warehouses):
    a, b, _clerk, _items = two_warehouses
    for who in ("acme:warehouse", "acme:owner"):
        listing = client_at(mall.acme, mall.users[who]).get("/suborders/").content.decode()
        assert a.number in listing and b.number in listing


def test_only_an_owner_grants_warehouses_and_it_is_audited(mall, client_at, two_warehouses):
    a, b, clerk, _items = two_warehouses
    with in_merchant_schema(mall.acme):
        with pytest.raises(PermissionDenied):
            warehouse_grants_set(actor=mall.users["acme:manager"], user=clerk, warehouse_ids=[b.warehouse_id])
        with pytest.raises(PermissionDenied):
            warehouse_grants_set(actor=clerk, user=clerk, warehouse_ids=[b.warehouse_id])
    from permissions.models import Membership

    m = Membership.objects.get(user=clerk, merchant=mall.acme)
    owner = client_at(mall.acme, mall.users["acme:owner"])
    resp = owner.post("/staff/", {"action": "grants", "membership": m.pk, "warehouses": [str(a.warehouse_id), str(b.warehouse_id)]})
    assert resp.status_code == 302
    listing = client_at(mall.acme, clerk).get("/suborders/").content.decode()
    assert a.number in listing and b.number in listing
    row = AuditEntry.objects.filter(entity="warehouse_grants", entity_id=str(clerk.pk)).latest("id")
    assert row.actor == mall.users["acme:owner"] and len(row.after["warehouses"]) == 2
    assert owner.post("/staff/", {"action": "grants", "membership": m.pk, "warehouses": []}).status_code == 302
    with in_merchant_schema(mall.acme):
        from catalog.selectors import warehouse_scope_for

        assert warehouse_scope_for(user=clerk, merchant=mall.acme) is None  # no grants: no limit


def test_grants_name_only_this_stores_warehouses(mall, two_warehouses):
    _a, _b, clerk, _items = two_warehouses
    from tests.orders.factories import stock_item

    globex_wh = stock_item(mall.globex)["warehouse_ids"][0]
    with in_merchant_schema(mall.acme):
        from core.errors import ValidationFailed

        with pytest.raises(ValidationFailed):
            warehouse_grants_set(actor=mall.users["acme:owner"], user=clerk, warehouse_ids=[globex_wh + 10_000_000])
