"""Catalog dashboard pages: products, warehouses, stock, import/export; who may open what."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Product, StockLevel, StockMovement, Variant, Warehouse
from catalog.services import warehouse_create
from core.models import OutboxEvent
from core.tenancy import in_merchant_schema


@pytest.fixture(autouse=True)
def _imports_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("MALLARD_IMPORT_DIR", str(tmp_path))


def product_post(name="Trail Tent", *, variants=(("TT-2P", "size=2P", "1299.90"),), status="active", extra=3):
    data = {"name": name, "description": "", "category": "", "new_category": "Tents", "status": status,
            "v-TOTAL_FORMS": str(max(extra, len(variants))), "v-INITIAL_FORMS": "0",
            "v-MIN_NUM_FORMS": "0", "v-MAX_NUM_FORMS": "1000"}
    for i in range(max(extra, len(variants))):
        sku, options, price = variants[i] if i < len(variants) else ("", "", "")
        data.update({f"v-{i}-sku": sku, f"v-{i}-options": options, f"v-{i}-price": price, f"v-{i}-currency": "CNY",
                     f"v-{i}-weight_g": "", f"v-{i}-barcode": "", f"v-{i}-image_url": "",
                     f"v-{i}-low_stock_threshold": "5", f"v-{i}-is_active": "on"})
    return data


def in_acme(mall, fn):
    with in_merchant_schema(mall.acme):
        return fn()


def test_owner_creates_product_with_variants_price_parsed_from_decimal(mall, client_at):
    client = client_at(mall.acme, mall.users["acme:owner"])
    assert client.get("/catalog/products/new/").status_code == 200
    resp = client.post("/catalog/products/new/", product_post(variants=[("TT-2P", "size=2P", "1299.90"),
                                                                        ("TT-3P", "size=3P; colour=green", "1599")]))
    assert resp.status_code == 302
    with in_merchant_schema(mall.acme):
        product = Product.objects.get(name="Trail Tent")
        assert product.category.name == "Tents"
        assert list(product.variants.order_by("sku").values_list("sku", "price_minor", "options")) == [
            ("TT-2P", 129990, {"size": "2P"}), ("TT-3P", 159900, {"size": "3P", "colour": "green"})]
        assert resp["Location"] == f"/catalog/products/{product.pk}/"
        assert OutboxEvent.objects.filter(topic="catalog.listing_changed", schema_name="m_acme").exists()
    page = client.get(resp["Location"]).content.decode()
    assert 'value="1299.90"' in page and "TT-3P" in page
    listing = client.get("/catalog/products/", {"q": "TT-3"}).content.decode()
    assert "Trail Tent" in listing and "CNY 1,599.00" in listing


def test_price_with_too_many_decimals_is_shown_and_nothing_created(mall, client_at):
    client = client_at(mall.acme, mall.users["acme:owner"])
    resp = client.post("/catalog/products/new/", product_post(name="Bad Price", variants=[("BP-1", "", "12.345")]))
    assert resp.status_code == 200
    assert "more than 2 decimal places" in resp.content.decode()
    assert in_acme(mall, lambda: Product.objects.filter(name="Bad Price").exists()) is False


def test_duplicate_sku_error_lands_on_the_row(mall, client_at):
    client = client_at(mall.acme, mall.users["acme:owner"])
    client.post("/catalog/products/new/", product_post(name="First", variants=[("DUP-1", "", "10")]))
    resp = client.post("/catalog/products/new/", product_post(name="Second", variants=[("DUP-1", "", "10")]))
    assert resp.status_code == 200 and "DUP-1 is already used" in resp.content.decode()
    assert in_acme(mall, lambda: Product.objects.filter(name="Second").count()) == 0


def test_edit_product_updates_variant_and_adds_one(mall, client_at):
    client = client_at(mall.acme, mall.users["acme:manager"])
    client.post("/catalog/products/new/", product_post(name="Lantern", variants=[("LAN-1", "", "99.00")]))
    with in_merchant_schema(mall.acme):
        product = Product.objects.get(name="Lantern")
        v = product.variants.get()
    data = product_post(name="Lantern Pro", variants=[("LAN-1", "", "109.50"), ("LAN-2", "colour=red", "119")], extra=2)
    data["v-0-id"] = str(v.pk)
    data["v-INITIAL_FORMS"] = "1"
    assert client.post(f"/catalog/products/{product.pk}/", data).status_code == 302
    with in_merchant_schema(mall.acme):
        product.refresh_from_db()
        assert product.name == "Lantern Pro"
        assert list(product.variants.order_by("sku").values_list("sku", "price_minor")) == [("LAN-1", 10950), ("LAN-2", 11900)]


@pytest.mark.parametrize("who", ["globex:owner", "acme:finance", "acme:warehouse", "acme:customer_service"])
@pytest.mark.parametrize("path", ["/catalog/products/new/", "/catalog/import/"])
def test_edit_pages_refused_without_catalog_edit(mall, client_at, who, path):
    resp = client_at(mall.acme, mall.users[who]).get(path)
    assert resp.status_code == 403


@pytest.mark.parametrize("who", ["globex:owner", "acme:finance", "acme:warehouse"])
def test_product_post_refused_and_writes_nothing(mall, client_at, who):
    resp = client_at(mall.acme, mall.users[who]).post("/catalog/products/new/", product_post(name="Sneaky"))
    assert resp.status_code == 403
    assert in_acme(mall, lambda: Product.objects.filter(name="Sneaky").count()) == 0


def test_existing_product_edit_refused_for_finance_and_globex(mall, client_at, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), _ = make_stock(qty=1)
    for who in ("acme:finance", "globex:owner"):
        resp = client_at(mall.acme, mall.users[who]).post(f"/catalog/products/{v.product_id}/",
                                                          product_post(name="Hijacked"))
        assert resp.status_code == 403
    assert in_acme(mall, lambda: Product.objects.get(pk=v.product_id).name) == v.product.name


def test_globex_user_cannot_read_acme_catalog_pages(mall, client_at, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), _ = make_stock(qty=3)
    client = client_at(mall.acme, mall.users["globex:owner"])
    for path in ("/catalog/products/", "/catalog/stock/", f"/catalog/stock/{v.pk}/", "/catalog/warehouses/",
                 "/catalog/export/?format=csv"):
        resp = client.get(path)
        assert resp.status_code == 403, path
        assert v.sku not in resp.content.decode()


def test_warehouse_create_by_owner_refused_for_warehouse_role(mall, client_at):
    data = {"code": "NORTH", "name": "North", "address": "1 Road", "region": "CN-11", "priority": "5", "is_active": "on"}
    refused = client_at(mall.acme, mall.users["acme:warehouse"]).post("/catalog/warehouses/", data)
    assert refused.status_code == 403
    assert in_acme(mall, lambda: Warehouse.objects.filter(code="NORTH").count()) == 0
    ok = client_at(mall.acme, mall.users["acme:owner"]).post("/catalog/warehouses/", data)
    assert ok.status_code == 302
    assert in_acme(mall, lambda: Warehouse.objects.get(code="NORTH").priority) == 5
    page = client_at(mall.acme, mall.users["acme:finance"]).get("/catalog/warehouses/").content.decode()
    assert "NORTH" in page and "Add a warehouse" not in page


def test_receive_and_adjust_through_stock_page(mall, client_at, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=0)
    url = f"/catalog/stock/{v.pk}/"
    client = client_at(mall.acme, mall.users["acme:warehouse"])
    resp = client.post(url, {"action": "receive", "receive-warehouse": str(w.pk), "receive-quantity": "12",
                             "receive-reason": "delivery", "receive-reference": "PO-1"})
    assert resp.status_code == 302
    resp = client.post(url, {"action": "adjust", "adjust-warehouse": str(w.pk), "adjust-quantity": "-2",
                             "adjust-reason": "damaged"})
    assert resp.status_code == 302
    # cutting below zero is refused with the service's message and moves nothing
    resp = client.post(url, {"action": "adjust", "adjust-warehouse": str(w.pk), "adjust-quantity": "-50",
                             "adjust-reason": "lost"})
    assert resp.status_code == 200 and "Not enough stock" in resp.content.decode()
    resp = client.post(url, {"action": "receive", "receive-warehouse": str(w.pk), "receive-quantity": "2.5"})
    assert resp.status_code == 200 and "whole number" in resp.content.decode()
    with in_merchant_schema(mall.acme):
        level = StockLevel.objects.get(variant=v, warehouse=w)
        assert (level.on_hand, level.reserved) == (10, 0)
        assert list(StockMovement.objects.filter(variant=v).order_by("id").values_list("kind", "on_hand_delta", "reference")) == [
            ("receipt", 12, "PO-1"), ("adjustment", -2, "")]
    page = client.get(url).content.decode()
    assert "damaged" in page and "PO-1" in page
    table = client.get("/catalog/stock/", {"q": v.sku}).content.decode()
    assert "10 / 0 / <strong>10</strong>" in table


def test_finance_sees_stock_but_cannot_receive(mall, client_at, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=4)
    client = client_at(mall.acme, mall.users["acme:finance"])
    page = client.get(f"/catalog/stock/{v.pk}/")
    assert page.status_code == 200 and "Receive stock" not in page.content.decode()
    resp = client.post(f"/catalog/stock/{v.pk}/", {"action": "receive", "receive-warehouse": str(w.pk),
                                                   "receive-quantity": "5"})
    assert resp.status_code == 403
    assert in_acme(mall, lambda: StockLevel.objects.get(variant=v, warehouse=w).on_hand) == 4


def test_product_list_pages_by_keyset_without_counting_the_catalog(mall, client_at, django_assert_max_num_queries):
    from catalog.services import product_create

    with in_merchant_schema(mall.acme):
        for i in range(55):
            product_create(name=f"Paged {i:02d}", variants=[{"sku": f"PG-{i:02d}", "price_minor": 100}])
    client = client_at(mall.acme, mall.users["acme:owner"])
    first = client.get("/catalog/products/", {"q": "Paged"})
    rows = first.context["rows"]
    assert [p.name for p in rows][:2] == ["Paged 54", "Paged 53"] and len(rows) == 50
    with django_assert_max_num_queries(12):
        second = client.get("/catalog/products/" + first.context["next_url"])
    assert [p.name for p in second.context["rows"]] == [f"Paged {i:02d}" for i in range(4, -1, -1)]
    assert second.context["next_url"] == ""


def test_import_page_bad_file_lists_rows_and_writes_nothing(mall, client_at):
    with in_merchant_schema(mall.acme):
        warehouse_create(code="MAIN", name="Main")
        before = (Product.objects.count(), Variant.objects.count(), StockMovement.objects.count())
    client = client_at(mall.acme, mall.users["acme:owner"])
    text = "sku,product,price,stock:MAIN\nOK-1,Fine,1.00,3\nOK-1,Again,1.00,1\nNEG-1,Neg,1.00,-1\n"
    resp = client.post("/catalog/import/", {"file": SimpleUploadedFile("c.csv", text.encode())})
    assert resp.status_code == 302
    page = client.get(resp["Location"]).content.decode()
    assert 'data-status="failed"' in page
    assert "Duplicate SKU OK-1: already on row 2." in page and "negative" in page
    assert "<td>3</td>" in page and "<td>4</td>" in page
    # applying a rejected job does nothing
    client.post(resp["Location"])
    with in_merchant_schema(mall.acme):
        assert (Product.objects.count(), Variant.objects.count(), StockMovement.objects.count()) == before


def test_import_page_not_a_spreadsheet(mall, client_at):
    client = client_at(mall.acme, mall.users["acme:owner"])
    resp = client.post("/catalog/import/", {"file": SimpleUploadedFile("pic.xlsx", b"\x89PNG\r\n\x1a\n\x00\x00")})
    page = client.get(resp["Location"]).content.decode()
    assert "not a CSV or XLSX file" in page


def test_import_page_preview_apply_done(mall, client_at):
    with in_merchant_schema(mall.acme):
        warehouse_create(code="MAIN", name="Main")
    client = client_at(mall.acme, mall.users["acme:manager"])
    text = "sku,product,options,price,stock:MAIN\nIMP-1,Imported,size=S,5.50,4\nIMP-2,Imported,size=L,6,0\n"
    resp = client.post("/catalog/import/", {"file": SimpleUploadedFile("c.csv", text.encode())})
    job_url = resp["Location"]
    page = client.get(job_url).content.decode()
    assert "2 rows OK: 2 new variants (1 new products), 0 updated, 2 stock counts." in page
    assert in_acme(mall, lambda: Variant.objects.filter(sku__startswith="IMP-").count()) == 0
    assert client.post(job_url).status_code == 302
    page = client.get(job_url).content.decode()
    assert 'data-status="done"' in page and "2 variants created" in page
    status = client.get(job_url + "status/").json()
    assert status["status"] == "done" and status["done"] == status["total"] == 2
    with in_merchant_schema(mall.acme):
        assert dict(Variant.objects.filter(sku__startswith="IMP-").values_list("sku", "price_minor")) == {
            "IMP-1": 550, "IMP-2": 600}
        assert StockLevel.objects.get(variant__sku="IMP-1").on_hand == 4
    # a second apply of the same job is a no-op
    client.post(job_url)
    assert in_acme(mall, lambda: StockMovement.objects.filter(variant__sku="IMP-1").count()) == 1


def test_large_import_is_queued_and_the_task_applies_it(mall, client_at, monkeypatch):
    from catalog import bulk
    from catalog.bulk_tasks import import_apply_task

    sent = []
    monkeypatch.setattr(bulk, "SYNC_APPLY_MAX_ROWS", 1)
    monkeypatch.setattr(import_apply_task, "apply_async", lambda **kw: sent.append(kw))
    client = client_at(mall.acme, mall.users["acme:owner"])
    text = "sku,product,price\nQ-1,Queued,1\nQ-2,Queued,2\nQ-3,Queued,3\n"
    job_url = client.post("/catalog/import/", {"file": SimpleUploadedFile("c.csv", text.encode())})["Location"]
    client.post(job_url)
    assert len(sent) == 1
    page = client.get(job_url).content.decode()
    assert 'data-status="queued"' in page and "<progress" in page
    assert client.get(job_url + "status/").json()["status"] == "queued"
    with in_merchant_schema(mall.acme):  # what the worker does, in the schema the task carries
        assert import_apply_task.run(**sent[0]["kwargs"]) == "done"
        assert Variant.objects.filter(sku__startswith="Q-").count() == 3
    assert client.get(job_url + "status/").json() == {"status": "done", "done": 3, "total": 3, "phase": "done",
                                                      "error_count": 0}


def test_export_csv_and_xlsx(mall, client_at, make_stock):
    with in_merchant_schema(mall.acme):
        vs, whs = make_stock(variants=2, qty=7)
    client = client_at(mall.acme, mall.users["acme:finance"])  # catalog.view is enough to export
    resp = client.get("/catalog/export/", {"format": "csv"})
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    body = b"".join(resp.streaming_content).decode()
    assert vs[0].sku in body and f"stock:{whs[0].code}" in body
    resp = client.get("/catalog/export/", {"format": "xlsx"})
    assert resp.status_code == 200
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(b"".join(resp.streaming_content)), read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "sku" and {r[0] for r in rows[1:]} >= {v.sku for v in vs}


def test_dashboard_shows_low_stock_badge(mall, client_at, make_stock):
    client = client_at(mall.acme, mall.users["acme:owner"])
    assert "low on stock" not in client.get("/").content.decode()
    with in_merchant_schema(mall.acme):
        make_stock(qty=2, threshold=5)
    page = client.get("/").content.decode()
    assert 'data-testid="low-stock-badge"' in page and "1 variant low on stock" in page


def test_import_jobs_are_rows_of_their_merchant_and_invisible_on_another_host(mall, client_at):
    from catalog.models import ImportJob

    client = client_at(mall.acme, mall.users["acme:owner"])
    text = "sku,product,price\nISO-1,Isolated,1\n"
    job_url = client.post("/catalog/import/", {"file": SimpleUploadedFile("c.csv", text.encode())})["Location"]
    with in_merchant_schema(mall.acme):
        job = ImportJob.objects.get()
        assert (job.kind, job.filename, job.status, job.total_rows, job.error_count, job.created_by_id) == (
            "csv", "c.csv", "ready", 1, 0, mall.users["acme:owner"].pk)
    assert job_url == f"/catalog/import/{job.pk}/"
    globex = client_at(mall.globex, mall.users["globex:owner"])
    assert globex.get(job_url).status_code == 404
    assert globex.get(job_url + "status/").status_code == 404
    assert globex.post(job_url).status_code == 404
    with in_merchant_schema(mall.globex):
        assert ImportJob.objects.count() == 0
    with in_merchant_schema(mall.acme):
        assert ImportJob.objects.get().status == "ready"
        assert Variant.objects.filter(sku="ISO-1").count() == 0


def test_rejected_import_job_keeps_capped_errors_with_reason(mall, client_at):
    from catalog.models import ImportJob

    client = client_at(mall.acme, mall.users["acme:owner"])
    text = "sku,product,price\nE-1,,1\n"
    client.post("/catalog/import/", {"file": SimpleUploadedFile("c.csv", text.encode())})
    with in_merchant_schema(mall.acme):
        job = ImportJob.objects.get()
    assert (job.status, job.error_count, job.errors) == ("failed", 1, [
        {"row": 2, "column": "product", "reason": "product is required."}])
    assert job.finished_at is not None


# ---------------------------------------------------------------- warehouse edit

def _wh(mall, **kw):
    with in_merchant_schema(mall.acme):
        return warehouse_create(code="EDIT", name="Old name", region="SH", priority=10, **kw)


def _wh_post(**over):
    data = {"name": "New name", "address": "1 Dock Rd", "region": "ZJ", "priority": "5", "is_active": "on"}
    data.update(over)
    return data


def test_owner_edits_warehouse_and_list_links_to_it(mall, client_at):
    wh = _wh(mall)
    client = client_at(mall.acme, mall.users["acme:owner"])
    assert f'href="/catalog/warehouses/{wh.pk}/"' in client.get("/catalog/warehouses/").content.decode()
    assert client.get(f"/catalog/warehouses/{wh.pk}/").status_code == 200
    resp = client.post(f"/catalog/warehouses/{wh.pk}/", _wh_post())
    assert resp.status_code == 302 and resp["Location"] == "/catalog/warehouses/"
    with in_merchant_schema(mall.acme):
        wh.refresh_from_db()
    assert (wh.code, wh.name, wh.address, wh.region, wh.priority, wh.is_active) == (
        "EDIT", "New name", "1 Dock Rd", "ZJ", 5, True)


@pytest.mark.parametrize("who, host", [("acme:warehouse", "acme"), ("acme:finance", "acme"), ("globex:owner", "acme")])
def test_warehouse_edit_refused_without_capability_or_at_other_merchant(mall, client_at, who, host):
    wh = _wh(mall)
    client = client_at(getattr(mall, host), mall.users[who])
    assert client.get(f"/catalog/warehouses/{wh.pk}/").status_code == 403
    assert client.post(f"/catalog/warehouses/{wh.pk}/", _wh_post(name="Hijacked")).status_code == 403
    with in_merchant_schema(mall.acme):
        wh.refresh_from_db()
    assert (wh.name, wh.priority) == ("Old name", 10)


def test_warehouse_edit_bad_priority_shows_error_and_changes_nothing(mall, client_at):
    wh = _wh(mall)
    client = client_at(mall.acme, mall.users["acme:owner"])
    resp = client.post(f"/catalog/warehouses/{wh.pk}/", _wh_post(priority="10000000"))
    assert resp.status_code == 200
    assert resp.context["form"].errors["priority"] == ["Priority must be a whole number."]
    assert "Priority must be a whole number." in resp.content.decode()
    resp = client.post(f"/catalog/warehouses/{wh.pk}/", _wh_post(priority="soon"))
    assert resp.status_code == 200 and "priority" in resp.context["form"].errors
    with in_merchant_schema(mall.acme):
        wh.refresh_from_db()
    assert (wh.name, wh.region, wh.priority) == ("Old name", "SH", 10)


def test_warehouse_edit_unknown_id_is_404(mall, client_at):
    assert client_at(mall.acme, mall.users["acme:owner"]).get("/catalog/warehouses/999999/").status_code == 404
