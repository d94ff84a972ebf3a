"""Order import pages (merchant dashboard, operator console), the JSON status, the API, and who may see a job."""
from __future__ import annotations

import json
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from core.tenancy import in_merchant_schema
from orders.models import Order
from suborders.models import SubOrder
from tests.imports.test_import_files import HEADER, _row, shopify_csv
from tests.orders.factories import stock_item


def _ch(unique, p):
    return unique(p).lower().replace("-", "")[:30]


def test_the_owner_uploads_previews_confirms_and_sees_the_report(mall, client_at, unique):
    item = stock_item(mall.acme, stock=(10,))
    ch = _ch(unique, "pg")
    client = client_at(mall.acme, mall.users["acme:owner"])
    assert client.get("/imports/orders/").status_code == 200
    resp = client.post("/imports/orders/", {"file": SimpleUploadedFile("o.csv", (HEADER + _row("P-1", item["sku"], 2)).encode()),
                                            "file_format": "", "channel": ch})
    assert resp.status_code == 302
    job_url = resp["Location"]
    page = client.get(job_url)
    assert b'data-testid="order-import-ok"' in page.content and b"1 to import" in page.content
    assert not Order.objects.filter(channel=ch).exists()  # nothing before the confirmation
    assert client.post(job_url).status_code == 302
    page = client.get(job_url)
    assert b'data-testid="order-import-done"' in page.content
    status = client.get(job_url + "status/").json()
    assert (status["status"], status["created"], status["skipped"], status["error_count"]) == ("done", 1, 0, 0)
    listing = client.get(f"/suborders/?channel={ch}")
    assert b'data-testid="channel"' in listing.content and b"P-1" in listing.content
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(channel=ch)
    detail = client.get(f"/suborders/{so.pk}/").content.decode()
    assert f'Sold on <span class="badge">{ch}</span> P-1' in detail


def test_a_rejected_file_lists_its_bad_rows_on_the_page(mall, client_at):
    item = stock_item(mall.acme, stock=(10,))
    client = client_at(mall.acme, mall.users["acme:manager"])
    resp = client.post("/imports/orders/", {"file": SimpleUploadedFile("o.csv", (HEADER + _row("R-1", item["sku"], "-2")).encode()),
                                            "channel": "rej"}, follow=True)
    assert b'data-testid="order-import-rejected"' in resp.content
    assert b"<td>2</td><td><code>quantity</code></td>" in resp.content


def _acme_job(mall, upload, unique):
    item = stock_item(mall.acme, stock=(10,))
    return upload(HEADER + _row("I-1", item["sku"]), user=mall.users["acme:owner"], merchant=mall.acme, channel=_ch(unique, "iso"))


def test_another_stores_staff_cannot_see_acmes_import_job(mall, client_at, api_at, upload, unique):
    job = _acme_job(mall, upload, unique)  # a real id of acme's job
    globex = client_at(mall.globex, mall.users["globex:owner"])
    for url in (f"/imports/orders/{job.pk}/", f"/imports/orders/{job.pk}/status/"):
        assert globex.get(url).status_code == 404
    assert globex.post(f"/imports/orders/{job.pk}/").status_code == 404
    assert api_at(mall.globex, mall.users["globex:owner"]).get(f"/api/v1/imports/orders/{job.pk}/").status_code == 404
    # and globex's owner on acme's host is no member there
    assert client_at(mall.acme, mall.users["globex:owner"]).get(f"/imports/orders/{job.pk}/").status_code in (302, 403)
    assert acme_job_untouched(job)


def acme_job_untouched(job) -> bool:
    from imports.models import OrderImportJob

    return OrderImportJob.objects.get(pk=job.pk).status == "ready"


def test_a_role_without_the_capability_is_refused(mall, client_at, api_at, upload, unique):
    job = _acme_job(mall, upload, unique)
    for role in ("warehouse", "finance", "customer_service"):
        client = client_at(mall.acme, mall.users[f"acme:{role}"])
        assert client.get("/imports/orders/").status_code == 403
        assert client.post(f"/imports/orders/{job.pk}/").status_code == 403
        assert client.get(f"/imports/orders/{job.pk}/status/").status_code == 403
        api = api_at(mall.acme, mall.users[f"acme:{role}"])
        assert api.post("/api/v1/imports/orders/", {}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())).status_code == 403
    assert acme_job_untouched(job)


def test_a_merchant_cannot_open_the_operators_job(mall, client_at, upload, unique):
    item = stock_item(mall.acme, stock=(10,))
    csv = "order_id,merchant,name,address,city,region,country,sku,quantity,unit_price\n" + f"O-1,acme,Li,1 Rd,SH,SH,CN,{item['sku']},1,10\n"
    job = upload(csv, user=mall.users["operator"], channel=_ch(unique, "op"))
    assert job.status == "ready", job.errors
    assert client_at(mall.acme, mall.users["acme:owner"]).get(f"/imports/orders/{job.pk}/").status_code == 404


def test_the_operator_console_import_page(mall, client_at, unique):
    item = stock_item(mall.globex, stock=(10,))
    ch = _ch(unique, "cons")
    client = client_at(None, mall.users["operator"])
    csv = "order_id,merchant,name,address,city,region,country,sku,quantity,unit_price\n" + f"K-1,globex,Li,1 Rd,SH,SH,CN,{item['sku']},3,10\n"
    resp = client.post("/console/imports/", {"file": SimpleUploadedFile("m.csv", csv.encode()), "channel": ch})
    assert resp.status_code == 302
    assert client.post(resp["Location"]).status_code == 302
    assert client.get(resp["Location"] + "status/").json()["created"] == 1
    with in_merchant_schema(mall.globex):
        assert SubOrder.objects.get(channel=ch).external_order_id == "K-1"


def _json_order(ext, sku, qty="2"):
    return {"external_order_id": ext, "email": "li@example.com", "shipping": "5.00",
            "shipping_address": {"name": "Li Lei", "phone": "13800000000", "line1": "1 Nanjing Road", "city": "Shanghai",
                                 "region": "SH", "postcode": "200001", "country": "CN"},
            "lines": [{"sku": sku, "quantity": qty, "unit_price": "10.00"}]}


def test_the_api_imports_json_orders_once(mall, api_at, unique):
    item = stock_item(mall.acme, stock=(10,))
    ch = _ch(unique, "api")
    api = api_at(mall.acme, mall.users["acme:owner"])
    body = {"channel": ch, "orders": [_json_order("J-1", item["sku"]), _json_order("J-2", item["sku"], "1")]}
    key = str(uuid.uuid4())
    resp = api.post("/api/v1/imports/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert resp.status_code == 201, resp.content
    assert (resp.json()["created"], resp.json()["skipped"]) == (2, 0)
    replay = api.post("/api/v1/imports/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert replay.json() == resp.json() and replay["Idempotent-Replayed"] == "true"
    again = api.post("/api/v1/imports/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert (again.status_code, again.json()["created"], again.json()["skipped"]) == (201, 0, 2)
    assert Order.objects.filter(channel=ch).count() == 2
    job = api.get(resp.json()["url"].split("testserver")[-1].replace("http://acme.localhost", ""))
    assert job.status_code == 200 and job.json()["status"] == "done"
    listed = api.get(f"/api/v1/suborders/?channel={ch}").json()
    assert sorted(r["external_order_id"] for r in listed["results"]) == ["J-1", "J-2"]


def test_the_api_names_the_bad_field_and_writes_nothing(mall, api_at, unique):
    item = stock_item(mall.acme, stock=(10,))
    ch = _ch(unique, "apib")
    api = api_at(mall.acme, mall.users["acme:owner"])
    body = {"channel": ch, "orders": [_json_order("B-1", item["sku"]), _json_order("B-2", "NOPE")]}
    resp = api.post("/api/v1/imports/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert resp.status_code == 400 and (resp.json()["code"], resp.json()["field"]) == ("import_rejected", "orders[1].lines[0].sku")
    assert [e["field"] for e in resp.json()["errors"]] == ["orders[1].lines[0].sku"]
    body["orders"][1] = _json_order("B-2", item["sku"], "-1")
    resp = api.post("/api/v1/imports/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert resp.status_code == 400 and [e["field"] for e in resp.json()["errors"]] == ["orders[1].lines[0].quantity"]
    body["orders"][1] = _json_order("B-1", item["sku"])
    resp = api.post("/api/v1/imports/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert resp.status_code == 400 and resp.json()["field"] == "orders[1].external_order_id"
    assert not Order.objects.filter(channel=ch).exists()


def test_the_api_takes_a_shopify_file(mall, api_at, unique):
    a = stock_item(mall.acme, price_minor=1000, stock=(10,))
    b = stock_item(mall.acme, price_minor=2000, stock=(10,))
    ch = _ch(unique, "apif")
    api = api_at(mall.acme, mall.users["acme:owner"])
    resp = api.post("/api/v1/imports/orders/", {"file": SimpleUploadedFile("orders_export.csv", shopify_csv(a["sku"], b["sku"]).encode()),
                                                "channel": ch}, format="multipart", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert resp.status_code == 201, json.dumps(resp.json())[:500]
    assert (resp.json()["format"], resp.json()["created"]) == ("shopify", 2)
