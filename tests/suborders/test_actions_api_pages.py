"""Lifecycle actions through the merchant API and the dashboard pages: isolation, roles, idempotency."""
from core.tenancy import in_merchant_schema
from suborders.models import SubOrder, SubOrderLine
from tests.payments.helpers import pay, place_order


def _paid(mall, store="acme", qty=2):
    order, _ = place_order(mall, stores=(store,), qty=qty)
    pay(order)
    with in_merchant_schema(getattr(mall, store)):
        so = SubOrder.objects.get(order_id=order.pk)
        line = SubOrderLine.objects.get(suborder=so)
    return order, so, line


def test_accept_and_ship_through_the_api_with_idempotent_replay(mall, api_at):
    order, so, line = _paid(mall)
    owner = api_at(mall.acme, mall.users["acme:owner"])
    r1 = owner.post(f"/api/v1/suborders/{so.pk}/accept/", format="json", HTTP_IDEMPOTENCY_KEY="acc-1")
    r2 = owner.post(f"/api/v1/suborders/{so.pk}/accept/", format="json", HTTP_IDEMPOTENCY_KEY="acc-1")
    assert r1.status_code == 200 and r1.json()["status"] == "accepted"
    assert r2.status_code == 200 and r2["Idempotent-Replayed"] == "true" and r2.json() == r1.json()
    again = owner.post(f"/api/v1/suborders/{so.pk}/accept/", format="json", HTTP_IDEMPOTENCY_KEY="acc-2")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    wh = api_at(mall.acme, mall.users["acme:warehouse"])
    bad = wh.post(f"/api/v1/suborders/{so.pk}/shipments/", {"carrier": "sf", "tracking_number": "123"}, format="json",
                  HTTP_IDEMPOTENCY_KEY="sh-0")
    assert bad.status_code == 400 and bad.json()["field"] == "tracking_number"
    ship = wh.post(f"/api/v1/suborders/{so.pk}/shipments/",
                   {"lines": [{"line_id": line.pk, "quantity": 1}], "carrier": "sf", "tracking_number": "SF2000000000001"},
                   format="json", HTTP_IDEMPOTENCY_KEY="sh-1")
    assert ship.status_code == 201, ship.content
    assert ship.json()["lines"] == [{"line_id": line.pk, "quantity": 1}]
    assert wh.get(f"/api/v1/suborders/{so.pk}/").json()["status"] == "partially_shipped"
    assert len(wh.get(f"/api/v1/suborders/{so.pk}/shipments/").json()) == 1
    delivered = wh.post(f"/api/v1/shipments/{ship.json()['id']}/delivered/", format="json", HTTP_IDEMPOTENCY_KEY="dl-1")
    assert delivered.status_code == 200 and delivered.json()["status"] == "delivered"
    no_key = wh.post(f"/api/v1/shipments/{ship.json()['id']}/delivered/", format="json")
    assert no_key.status_code == 400 and no_key.json()["field"] == "Idempotency-Key"


def test_actions_are_refused_for_other_merchants_and_roles(mall, api_at):
    order, so, line = _paid(mall)
    url = f"/api/v1/suborders/{so.pk}/"
    # globex staff on acme's host: not a member
    assert api_at(mall.acme, mall.users["globex:owner"]).post(url + "accept/", HTTP_IDEMPOTENCY_KEY="x1").status_code == 403
    # globex staff on globex's host with acme's real suborder id: it does not exist there
    assert api_at(mall.globex, mall.users["globex:owner"]).post(url + "accept/", HTTP_IDEMPOTENCY_KEY="x2").status_code == 404
    # roles
    assert api_at(mall.acme, mall.users["acme:warehouse"]).post(url + "accept/", HTTP_IDEMPOTENCY_KEY="x3").status_code == 403
    assert api_at(mall.acme, mall.users["acme:finance"]).post(url + "refuse/", {"reason_code": "out_of_stock"}, format="json",
                                                            HTTP_IDEMPOTENCY_KEY="x4").status_code == 403
    assert api_at(mall.acme, mall.users["acme:customer_service"]).post(
        url + "shipments/", {"carrier": "sf", "tracking_number": "SF2000000000002"}, format="json",
        HTTP_IDEMPOTENCY_KEY="x5").status_code == 403
    assert api_at(mall.acme, mall.users["acme:customer_service"]).post(
        url + "refuse/", {"reason_code": "out_of_stock"}, format="json", HTTP_IDEMPOTENCY_KEY="x7").status_code == 403
    bad_reason = api_at(mall.acme, mall.users["acme:manager"]).post(
        url + "refuse/", {"reason_code": "because"}, format="json", HTTP_IDEMPOTENCY_KEY="x6")
    assert bad_reason.status_code == 400 and bad_reason.json()["field"] == "reason_code"
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=so.pk).status == "awaiting_acceptance"


def test_dashboard_page_shows_only_allowed_actions_and_runs_them(mall, client_at):
    order, so, line = _paid(mall)
    page = lambda role: client_at(mall.acme, mall.users[f"acme:{role}"]).get(f"/suborders/{so.pk}/").content.decode()  # noqa: E731
    owner_page = page("owner")
    assert 'data-testid="accept"' in owner_page and 'data-testid="refuse"' in owner_page
    assert 'data-testid="accept"' not in page("warehouse") and 'data-testid="accept"' not in page("finance")
    cs = client_at(mall.acme, mall.users["acme:customer_service"])
    cs_page = page("customer_service")
    assert 'data-testid="accept"' in cs_page and 'data-testid="refuse"' not in cs_page  # accepting yes, refunding no
    assert cs.post(f"/suborders/{so.pk}/refuse/", {f"qty_{line.pk}": "1", "reason_code": "out_of_stock"}).status_code == 403
    r = client_at(mall.acme, mall.users["acme:manager"]).post(f"/suborders/{so.pk}/refuse/",
                                                             {f"qty_{line.pk}": "1", "reason_code": "out_of_stock"})
    assert r.status_code == 302
    assert client_at(mall.acme, mall.users["acme:warehouse"]).post(f"/suborders/{so.pk}/accept/").status_code == 403
    owner = client_at(mall.acme, mall.users["acme:owner"])
    owner.post(f"/suborders/{so.pk}/accept/")
    wh_page = page("warehouse")
    assert 'data-testid="ship-form"' in wh_page and 'data-testid="accept"' not in wh_page
    wh = client_at(mall.acme, mall.users["acme:warehouse"])
    wh.post(f"/suborders/{so.pk}/ship/", {f"qty_{line.pk}": "1", "carrier": "yto", "tracking_number": "YT1234567890123"})
    with in_merchant_schema(mall.acme):
        so2 = SubOrder.objects.get(pk=so.pk)
        assert so2.status == "shipped" and SubOrderLine.objects.get(pk=line.pk).shipped_qty == 1
    shopper = client_at(None, mall.users["shopper"]).get(f"/orders/{order.number}/").content.decode()
    assert 'data-tracking="YT1234567890123"' in shopper and 'data-testid="confirm-receipt"' in shopper
    # globex's owner cannot act on acme's suborder page
    assert client_at(mall.acme, mall.users["globex:owner"]).post(f"/suborders/{so.pk}/accept/").status_code == 403
    r = client_at(None, mall.users["shopper"]).post(f"/orders/{order.number}/parcels/{mall.acme.pk}/{so.pk}/receipt/")
    assert r.status_code == 302
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=so.pk).status == "delivered"
    other = client_at(None, mall.users["nobody"]).post(f"/orders/{order.number}/parcels/{mall.acme.pk}/{so.pk}/receipt/")
    assert other.status_code == 404


def test_warehouse_screen_and_operator_late_list(mall, client_at):
    from datetime import timedelta

    from orders.services.sweeps import suborders_sweep

    order, so, line = _paid(mall)
    owner = client_at(mall.acme, mall.users["acme:owner"])
    owner.post(f"/suborders/{so.pk}/accept/")
    wh = client_at(mall.acme, mall.users["acme:warehouse"])
    queue = wh.get("/suborders/warehouse/").content.decode()
    assert f'data-number="{so.number}"' in queue
    pack = wh.get(f"/suborders/{so.pk}/pack/").content.decode()
    assert f'data-sku="{line.sku}"' in pack and 'data-testid="ship-packed"' in pack
    assert client_at(mall.acme, mall.users["acme:finance"]).get("/suborders/warehouse/").status_code == 403
    assert client_at(mall.acme, mall.users["globex:warehouse"]).get(f"/suborders/{so.pk}/pack/").status_code == 403
    with in_merchant_schema(mall.acme):
        ship_by = SubOrder.objects.get(pk=so.pk).ship_by
    from django.db import connection

    connection.set_schema_to_public()  # the page requests above left the connection on acme's schema
    suborders_sweep(kind="late", now=ship_by + timedelta(minutes=1))
    op = client_at(None, mall.users["operator"]).get("/console/suborders/late/").content.decode()
    assert f'data-number="{so.number}"' in op
    assert client_at(None, mall.users["shopper"]).get("/console/suborders/late/").status_code == 302


def test_bulk_ship_from_csv_previews_bad_rows_then_ships_only_good_ones(mall, client_at):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _o1, so1, _l1 = _paid(mall)
    _o2, so2, _l2 = _paid(mall)
    owner = client_at(mall.acme, mall.users["acme:owner"])
    owner.post(f"/suborders/{so1.pk}/accept/")  # so2 stays awaiting acceptance: its row must be refused
    csv_text = ("suborder,carrier,tracking_number\n"
                f"{so1.number},sf,SF3000000000001\n{so2.number},sf,SF3000000000002\nNOPE-1,sf,SF3000000000003\n"
                f"{so1.number},pigeon,123\n")
    wh = client_at(mall.acme, mall.users["acme:warehouse"])
    page = wh.post("/suborders/bulk-ship/", {"file": SimpleUploadedFile("ship.csv", csv_text.encode())}).content.decode()
    assert page.count('data-ok="1"') == 1 and page.count('data-ok="0"') == 3
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=so1.pk).status == "accepted"  # the preview wrote nothing
    import json
    import re

    rows = re.search(r'name="rows" value="([^"]*)"', page).group(1).replace("&quot;", '"')
    wh.post("/suborders/bulk-ship/", {"confirm": "1", "rows": rows})
    assert json.loads(rows) == [{"suborder": so1.number, "carrier": "sf", "tracking_number": "SF3000000000001"}]
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=so1.pk).status == "shipped"
        assert SubOrder.objects.get(pk=so2.pk).status == "awaiting_acceptance"
    assert client_at(mall.acme, mall.users["acme:finance"]).get("/suborders/bulk-ship/").status_code == 403
    bad = wh.post("/suborders/bulk-ship/", {"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n")})
    assert "Missing column" in bad.content.decode()
