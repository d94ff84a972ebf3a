"""Packing slips, shipping labels, pick lists and the bulk label job (fulfillment.documents).

The PDFs are read back with pypdf (text, page size) and, for labels and slips, rendered with pdfium
and scanned with zxing-cpp, so the Code 128 and QR codes are proven to scan, not just to be drawn.
"""
from __future__ import annotations

import io
import itertools
import os
import string
import time

import pypdfium2
import pytest
import zxingcpp
from django.db import connection
from PIL import Image
from pypdf import PdfReader, PdfWriter

from core.tenancy import in_merchant_schema
from fulfillment import documents
from fulfillment.documents import CODE128_PATTERNS, code128_values, code128_widths
from fulfillment.models import Shipment
from fulfillment.shipments import shipment_create
from suborders.models import SubOrder
from suborders.services import suborder_accept
from tests.core.test_celery_worker import _assert_alive, _wait_for, worker_queue  # noqa: F401  (a module fixture)

LABEL_W_PT, LABEL_H_PT = 283.46, 425.2  # 100 × 150 mm
ZH_ADDRESS = {"name": "张伟", "phone": "+86 139 1234 5678", "line1": "浦东新区世纪大道100号", "line2": "环球金融中心25楼",
              "city": "上海市", "region": "SH", "postcode": "200120", "country": "CN"}
_n = itertools.count(1)


@pytest.fixture(autouse=True)
def _documents_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("MALLARD_DOCUMENTS_DIR", str(tmp_path / "documents"))


def _tracking() -> str:
    return f"SF{time.time_ns() % 10**11:011d}{next(_n) % 100:02d}"  # SF + 13 digits, unique per call


def _stocked(merchant, *, skus=1, bins=None, wh_name="上海一号仓", wh_address="上海市闵行区莘庄工业区申富路88号"):
    """A warehouse of `merchant` with `skus` stocked variants (Chinese product names), bins assigned."""
    from catalog.models import StockLevel
    from catalog.services import product_create, stock_receive, warehouse_create

    k = f"{os.getpid()}x{next(_n)}"
    with in_merchant_schema(merchant):
        wh = warehouse_create(code=f"DOC{k}", name=wh_name, address=wh_address, region="SH", priority=1)
        items = []
        for i in range(skus):
            sku = f"DOC{k}-{i}".upper()
            product = product_create(name=f"保温杯 Thermos {k}-{i}", variants=[{"sku": sku, "price_minor": 1000, "currency": "CNY"}])
            variant = product.variants.get()
            stock_receive(variant_id=variant.pk, warehouse_id=wh.pk, quantity=50, reason="test stock")
            if bins:
                StockLevel.objects.filter(variant_id=variant.pk, warehouse_id=wh.pk).update(bin_location=bins[i])
            items.append({"merchant_id": merchant.pk, "variant_id": variant.pk, "sku": sku, "name": product.name})
    return wh, items


def _accepted(mall, merchant, items, *, qty=2, address=None) -> SubOrder:
    """Checkout (Chinese address), pay and accept: one suborder of `merchant` with `items` × qty."""
    from orders.services import CheckoutLine, order_checkout
    from tests.payments.helpers import pay

    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=address or ZH_ADDRESS,
                              lines=[CheckoutLine(i["merchant_id"], i["variant_id"], qty) for i in items],
                              idempotency_key=f"doc-{time.time_ns()}-{next(_n)}")
    pay(order)
    with in_merchant_schema(merchant):
        so = SubOrder.objects.get(order_id=order.pk)
        suborder_accept(suborder_id=so.pk, actor=mall.users[f"{merchant.slug}:owner"])
        return SubOrder.objects.get(pk=so.pk)


def _shipped(mall, merchant, *, skus=1, tracking=None) -> tuple[SubOrder, Shipment]:
    _wh, items = _stocked(merchant, skus=skus)
    so = _accepted(mall, merchant, items)
    with in_merchant_schema(merchant):
        shipment = shipment_create(suborder_id=so.pk, actor=mall.users[f"{merchant.slug}:warehouse"], lines=None,
                                   carrier="sf", tracking_number=tracking or _tracking())
        return SubOrder.objects.get(pk=so.pk), shipment


def _pdf(resp) -> PdfReader:
    assert resp.status_code == 200, resp.content[:500]
    assert resp["Content-Type"] == "application/pdf"
    body = b"".join(resp.streaming_content) if resp.streaming else resp.content
    assert body.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(body))


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def _scan(reader: PdfReader, page: int = 0) -> dict[str, str]:
    """Render one page at 300 dpi and scan it: {symbology: text}."""
    buf = io.BytesIO()
    single = PdfWriter()
    single.add_page(reader.pages[page])
    single.write(buf)
    image = pypdfium2.PdfDocument(buf.getvalue())[0].render(scale=300 / 72).to_pil()
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128 | zxingcpp.BarcodeFormat.QRCode)
    return {("code128" if r.format == zxingcpp.BarcodeFormat.Code128 else "qr"): r.text for r in found}


def _globex_ids_beyond_acme(mall):
    """Move globex's suborder and shipment sequences past acme's, so a globex id is no acme id."""
    with connection.cursor() as cur:
        for table in ("suborders_suborder", "fulfillment_shipment"):
            cur.execute(f'SELECT last_value FROM "{mall.acme.schema_name}".{table}_id_seq')
            acme_last = cur.fetchone()[0]
            cur.execute(f'SELECT setval(\'"{mall.globex.schema_name}".{table}_id_seq\', '
                        f'GREATEST(%s, (SELECT last_value FROM "{mall.globex.schema_name}".{table}_id_seq)) + 1000)',
                        [acme_last])


# ---------------------------------------------------------------- Code 128


def test_code128_values_match_hand_computed_vectors():
    # Set B only: 104 + 48·1 + 42·2 + 42·3 + 17·4 + 18·5 + 19·6 + 35·7 = 879 ≡ 55 (mod 103)
    assert code128_values("PJJ123C") == [104, 48, 42, 42, 17, 18, 19, 35, 55, 106]
    # Start C for a digit string: 105 + 12 + 34·2 + 56·3 = 353 ≡ 44
    assert code128_values("123456") == [105, 12, 34, 56, 44, 106]
    # Odd digit count after Start C: the last digit goes to set B. 105 + 12 + 68 + 100·3 + 21·4 = 569 ≡ 54
    assert code128_values("12345") == [105, 12, 34, 100, 21, 54, 106]
    # An SF tracking number: S F and the odd digit in B, then six pairs in C. Sum 2483 ≡ 11
    assert code128_values("SF1234567890123") == [104, 51, 38, 17, 99, 23, 45, 67, 89, 1, 23, 11, 106]
    # Four digits in the middle stay in set B (switching would not be shorter)
    # 104 + 33 + 17·2 + 18·3 + 19·4 + 20·5 + 34·6 = 605 ≡ 90
    assert code128_values("A1234B") == [104, 33, 17, 18, 19, 20, 34, 90, 106]
    # ...but four at the end switch to C: 104 + 33 + 34·2 + 35·3 + 99·4 + 12·5 + 34·6 = 970 ≡ 43
    assert code128_values("ABC1234") == [104, 33, 34, 35, 99, 12, 34, 43, 106]
    for bad in ("", "tab\there", "café", "日本"):
        with pytest.raises(ValueError):
            code128_values(bad)


def test_code128_pattern_table_is_well_formed():
    assert len(CODE128_PATTERNS) == 107 and len(set(CODE128_PATTERNS)) == 107
    for value, pattern in enumerate(CODE128_PATTERNS[:106]):
        widths = [int(c) for c in pattern]
        assert len(widths) == 6 and sum(widths) == 11, value
        assert sum(widths[0::2]) % 2 == 0, value  # bars: an even number of modules in every symbol
    assert CODE128_PATTERNS[106] == "2331112"
    assert sum(code128_widths("SF1234567890123")) == 12 * 11 + 13


def _barcode_image(text: str, *, px: int = 3) -> Image.Image:
    widths = code128_widths(text)
    quiet = 12
    image = Image.new("L", ((sum(widths) + 2 * quiet) * px, 60), 255)
    x = quiet * px
    for k, w in enumerate(widths):
        if k % 2 == 0:
            image.paste(0, (x, 5, x + w * px, 55))
        x += w * px
    return image


@pytest.mark.parametrize("text", [
    *(string.printable[i:i + 24].strip("\t\n\r\x0b\x0c") for i in range(0, 95, 24)),  # every set-B value
    *("".join(f"{n:02d}" for n in range(i, i + 25)) for i in range(0, 100, 25)),  # every set-C value
    "SF1234567890123", "1Z999AA10123456784", "EA123456789CN", "JDVA12345678901", "AB12345678CD", "7", "12", "123",
])
def test_code128_scans_back_with_an_independent_decoder(text):
    found = zxingcpp.read_barcodes(_barcode_image(text), formats=zxingcpp.BarcodeFormat.Code128)
    assert [r.text for r in found] == [text]


# ---------------------------------------------------------------- labels, slips, pick lists


def test_label_is_100_by_150_mm_with_recipient_sender_and_codes_that_scan(mall, client_at):
    so, shipment = _shipped(mall, mall.acme)
    resp = client_at(mall.acme, mall.users["acme:warehouse"]).get(f"/documents/shipments/{shipment.pk}/label.pdf")
    reader = _pdf(resp)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - LABEL_W_PT) <= 0.5 and abs(float(box.height) - LABEL_H_PT) <= 0.5
    text = _text(reader)
    for expected in (shipment.tracking_number, "张伟", "+86 139 1234 5678", "浦东新区世纪大道100号", "环球金融中心25楼",
                     "200120 上海市 SH", "上海一号仓", "上海市闵行区莘庄工业区申富路88号", "Acme Outfitters",
                     "SF Express 顺丰速运", so.order_number, so.number):
        assert expected in text, expected
    assert _scan(reader) == {"code128": shipment.tracking_number, "qr": so.order_number}


def test_packing_slip_lists_the_accepted_lines_and_the_recipient(mall, client_at):
    _wh, items = _stocked(mall.acme, skus=2)
    so = _accepted(mall, mall.acme, items, qty=3)
    reader = _pdf(client_at(mall.acme, mall.users["acme:manager"]).get(f"/documents/suborders/{so.pk}/packing-slip.pdf"))
    text = _text(reader)
    for expected in ("Acme Outfitters", so.order_number, so.number, "张伟", "浦东新区世纪大道100号", "上海一号仓",
                     items[0]["sku"], items[0]["name"], items[1]["sku"], items[1]["name"], "件数: 6"):
        assert expected in text, expected
    assert _scan(reader)["qr"] == so.order_number


def test_packing_slip_of_a_suborder_not_yet_accepted_is_refused(mall, client_at):
    from orders.services import CheckoutLine, order_checkout
    from tests.payments.helpers import pay

    _wh, items = _stocked(mall.acme)
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ZH_ADDRESS,
                              lines=[CheckoutLine(items[0]["merchant_id"], items[0]["variant_id"], 1)],
                              idempotency_key=f"doc-{time.time_ns()}")
    pay(order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
    resp = client_at(mall.acme, mall.users["acme:owner"]).get(f"/documents/suborders/{so.pk}/packing-slip.pdf")
    assert resp.status_code == 409 and "nothing to pack" in resp.content.decode()


def test_pick_list_groups_by_warehouse_then_bin_and_sums_units(mall, client_at):
    wh1, items1 = _stocked(mall.acme, skus=3, bins=["A-10", "A-2", ""], wh_name="杭州仓")
    wh2, items2 = _stocked(mall.acme, skus=1, bins=["Z-1"], wh_name="北京仓")
    first = _accepted(mall, mall.acme, items1, qty=2)
    second = _accepted(mall, mall.acme, items1[:1], qty=1)
    third = _accepted(mall, mall.acme, items2, qty=4)
    done, _shipment = _shipped(mall, mall.acme)  # nothing left to pick
    ids = f"{first.pk},{second.pk},{third.pk},{done.pk}"
    client = client_at(mall.acme, mall.users["acme:warehouse"])
    reader = _pdf(client.get("/documents/pick-list.pdf", {"ids": ids}))
    text = _text(reader)
    assert "张伟" not in text  # a pick list is about shelves, not people
    pos = {k: text.index(k) for k in ("杭州仓", "北京仓", "A-2", "A-10", items1[2]["sku"], "Z-1")}
    # each warehouse's bins in natural order (A-2 before A-10), unassigned last; warehouses by code
    hangzhou = [pos["杭州仓"], pos["A-2"], pos["A-10"], pos[items1[2]["sku"]]]
    beijing = [pos["北京仓"], pos["Z-1"]]
    assert hangzhou == sorted(hangzhou) and beijing == sorted(beijing)
    assert (max(hangzhou) < min(beijing)) == (wh1.code < wh2.code) and (max(beijing) < min(hangzhou)) == (wh2.code < wh1.code)
    grouped, idle = documents_rows(mall, [first.pk, second.pk, third.pk, done.pk])
    assert {wh: [(r.bin_location, r.sku, r.quantity, r.suborders) for r in rows] for wh, rows in grouped.items()} == {
        wh1.pk: [("A-2", items1[1]["sku"], 2, [(first.number, 2)]),
                 ("A-10", items1[0]["sku"], 3, [(first.number, 2), (second.number, 1)]),
                 ("", items1[2]["sku"], 2, [(first.number, 2)])],
        wh2.pk: [("Z-1", items2[0]["sku"], 4, [(third.number, 4)])],
    }
    assert idle == [done.number] and done.number in text
    assert f"{first.number} ×2" in text and f"{second.number} ×1" in text
    # a POSTed selection gives the same list
    posted = _text(_pdf(client.post("/documents/pick-list.pdf", {"ids": [str(first.pk), str(second.pk), str(third.pk)]})))
    assert f"{first.number} ×2" in posted and f"{third.number} ×4" in posted and done.number not in posted


def documents_rows(mall, ids):
    with in_merchant_schema(mall.acme):
        return documents.pick_rows(suborder_ids=ids)


@pytest.mark.parametrize("ids", ["", "1,abc", "1;2", "١٢", "1" * 19, ",".join(str(i) for i in range(1, 502)), "-3"])
def test_pick_list_bad_ids_are_a_400(mall, client_at, ids):
    resp = client_at(mall.acme, mall.users["acme:owner"]).get("/documents/pick-list.pdf", {"ids": ids})
    assert resp.status_code == 400 and resp["Content-Type"].startswith("text/html")


def test_documents_page_offers_what_to_pick_and_the_shipments(mall, client_at):
    _wh, items = _stocked(mall.acme)
    waiting = _accepted(mall, mall.acme, items)
    so, shipment = _shipped(mall, mall.acme)
    body = client_at(mall.acme, mall.users["acme:warehouse"]).get("/documents/").content.decode()
    assert f'data-suborder="{waiting.pk}"' in body and f"/documents/suborders/{waiting.pk}/packing-slip.pdf" in body
    assert f'data-suborder="{so.pk}"' not in body  # fully shipped: nothing to pick
    assert f'data-shipment="{shipment.pk}"' in body and f"/documents/shipments/{shipment.pk}/label.pdf" in body


# ---------------------------------------------------------------- bulk labels


def test_bulk_labels_job_makes_one_pdf_with_a_page_per_shipment(mall, client_at, monkeypatch):
    from fulfillment.tasks import labels_job_run_task

    sent = []
    monkeypatch.setattr(labels_job_run_task, "apply_async", lambda **kw: sent.append(kw))
    shipments = [_shipped(mall, mall.acme)[1] for _ in range(3)]
    client = client_at(mall.acme, mall.users["acme:warehouse"])
    order = [shipments[2].pk, shipments[0].pk, shipments[1].pk]
    resp = client.post("/documents/labels/", {"ids": ",".join(map(str, order))})
    assert resp.status_code == 302
    job_url = resp["Location"]
    assert len(sent) == 1 and job_url == f"/documents/labels/{sent[0]['kwargs']['job_id']}/"
    page = client.get(job_url).content.decode()
    assert 'data-status="queued"' in page and "<progress" in page and "fetch(" in page
    assert client.get(job_url + "status/").json() == {"status": "queued", "done": 0, "total": 3, "percent": 0, "message": ""}
    assert client.get(job_url + "labels.pdf").status_code == 404  # not ready yet
    with in_merchant_schema(mall.acme):  # what the worker does, in the schema the task carries
        assert labels_job_run_task.run(**sent[0]["kwargs"]) == "done"
        assert labels_job_run_task.run(**sent[0]["kwargs"]) == "done"  # a redelivery changes nothing
    assert client.get(job_url + "status/").json() == {"status": "done", "done": 3, "total": 3, "percent": 100, "message": ""}
    page = client.get(job_url).content.decode()
    assert 'data-status="done"' in page and f'href="{job_url}labels.pdf"' in page
    reader = _pdf(client.get(job_url + "labels.pdf"))
    assert len(reader.pages) == 3
    for page_no, shipment_id in enumerate(order):
        page = reader.pages[page_no]
        assert abs(float(page.mediabox.width) - LABEL_W_PT) <= 0.5 and abs(float(page.mediabox.height) - LABEL_H_PT) <= 0.5
        tracking = next(s.tracking_number for s in shipments if s.pk == shipment_id)
        assert tracking in page.extract_text() and "张伟" in page.extract_text()
    assert _scan(reader, 1)["code128"] == shipments[0].tracking_number


def test_bulk_labels_job_of_unknown_or_other_merchants_shipments_is_refused(mall, client_at, monkeypatch):
    from fulfillment.tasks import labels_job_run_task

    sent = []
    monkeypatch.setattr(labels_job_run_task, "apply_async", lambda **kw: sent.append(kw))
    _globex_ids_beyond_acme(mall)
    _so, mine = _shipped(mall, mall.acme)
    _gso, theirs = _shipped(mall, mall.globex)
    with in_merchant_schema(mall.acme):
        assert not Shipment.objects.filter(pk=theirs.pk).exists()
    resp = client_at(mall.acme, mall.users["acme:owner"]).post("/documents/labels/", {"ids": f"{mine.pk},{theirs.pk}"})
    assert resp.status_code == 404 and theirs.tracking_number not in resp.content.decode()
    assert sent == []


# ---------------------------------------------------------------- isolation and roles


def _endpoints(so, shipment, job_id):
    """Every documents endpoint; `so` is accepted with units left to pick, `shipment` any shipment."""
    return [("get", "/documents/", None), ("get", f"/documents/suborders/{so.pk}/packing-slip.pdf", None),
            ("get", f"/documents/shipments/{shipment.pk}/label.pdf", None), ("get", "/documents/pick-list.pdf", {"ids": str(so.pk)}),
            ("post", "/documents/labels/", {"ids": str(shipment.pk)}), ("get", f"/documents/labels/{job_id}/", None),
            ("get", f"/documents/labels/{job_id}/status/", None), ("get", f"/documents/labels/{job_id}/labels.pdf", None)]


def _acme_job(mall, shipment):
    with in_merchant_schema(mall.acme):
        job = documents.label_job_create(shipment_ids=[shipment.pk], actor=mall.users["acme:owner"])
        return documents.label_job_run(job_id=job.id)


@pytest.fixture
def no_broker(monkeypatch):
    from fulfillment.tasks import labels_job_run_task

    monkeypatch.setattr(labels_job_run_task, "apply_async", lambda **kw: None)


def test_roles_without_suborders_ship_are_refused_everywhere(mall, client_at, no_broker):
    _so, shipment = _shipped(mall, mall.acme)
    so = _accepted(mall, mall.acme, _stocked(mall.acme)[1])
    job = _acme_job(mall, shipment)
    for role in ("finance", "customer_service"):
        client = client_at(mall.acme, mall.users[f"acme:{role}"])
        for method, path, data in _endpoints(so, shipment, job.id):
            resp = getattr(client, method)(path, data or {})
            assert resp.status_code == 403, (role, path)
            assert b"%PDF" not in resp.content and "张伟".encode() not in resp.content
    # the roles holding suborders.ship get every endpoint (each PDF drawn once, by one of them: ~1 s each)
    allowed = itertools.cycle(["owner", "manager", "warehouse"])
    for method, path, data in _endpoints(so, shipment, job.id):
        role = next(allowed)
        resp = getattr(client_at(mall.acme, mall.users[f"acme:{role}"]), method)(path, data or {})
        assert resp.status_code == (302 if method == "post" else 200), (role, path)
    for role in ("owner", "manager", "warehouse"):
        assert client_at(mall.acme, mall.users[f"acme:{role}"]).get(f"/documents/labels/{job.id}/status/").status_code == 200
    for method, path, data in _endpoints(so, shipment, job.id):
        resp = getattr(client_at(mall.acme), method)(path, data or {})
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


def test_other_merchants_staff_and_ids_are_refused(mall, client_at, no_broker):
    _globex_ids_beyond_acme(mall)
    _so, shipment = _shipped(mall, mall.acme)
    so = _accepted(mall, mall.acme, _stocked(mall.acme)[1])
    job = _acme_job(mall, shipment)
    gso, gshipment = _shipped(mall, mall.globex)
    with in_merchant_schema(mall.acme):
        assert not SubOrder.objects.filter(pk=gso.pk).exists() and not Shipment.objects.filter(pk=gshipment.pk).exists()
    # globex staff on acme's host: refused before any document is drawn
    for method, path, data in _endpoints(so, shipment, job.id):
        resp = getattr(client_at(mall.acme, mall.users["globex:owner"]), method)(path, data or {})
        assert resp.status_code == 403 and b"%PDF" not in resp.content, path
    # acme staff asking for globex's real ids on acme's host: not found here
    acme = client_at(mall.acme, mall.users["acme:owner"])
    for path, data in ((f"/documents/suborders/{gso.pk}/packing-slip.pdf", None), (f"/documents/shipments/{gshipment.pk}/label.pdf", None),
                       ("/documents/pick-list.pdf", {"ids": f"{so.pk},{gso.pk}"})):
        resp = acme.get(path, data or {})
        assert resp.status_code == 404 and b"%PDF" not in resp.content, path
        assert gshipment.tracking_number not in resp.content.decode() and gso.number not in resp.content.decode()
    # acme's job, asked for by globex staff on globex's host: another schema, so no such job
    globex = client_at(mall.globex, mall.users["globex:owner"])
    for suffix in ("", "status/", "labels.pdf"):
        assert globex.get(f"/documents/labels/{job.id}/{suffix}").status_code == 404
    assert acme.get(f"/documents/labels/{job.id}/status/").json()["status"] == "done"
    assert acme.get("/documents/labels/not-a-uuid/status/").status_code == 404


# ---------------------------------------------------------------- the real worker


@pytest.fixture(scope="module")
def shared_documents_dir(tmp_path_factory):
    """One documents folder for this process and the worker (the worker reads the variable at start)."""
    path = tmp_path_factory.mktemp("documents-shared")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MALLARD_DOCUMENTS_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def labels_worker(shared_documents_dir, worker_queue):  # noqa: F811  (the fixture imported above)
    return worker_queue


def test_bulk_labels_are_printed_by_a_real_worker_in_the_merchants_schema(committed, labels_worker, shared_documents_dir,
                                                                          client_at, monkeypatch):
    monkeypatch.setenv("MALLARD_DOCUMENTS_DIR", str(shared_documents_dir))
    mall = committed
    _assert_alive(labels_worker)
    shipments = [_shipped(mall, mall.acme)[1] for _ in range(2)]
    client = client_at(mall.acme, mall.users["acme:warehouse"])
    resp = client.post("/documents/labels/", {"ids": ",".join(str(s.pk) for s in shipments)})
    assert resp.status_code == 302
    job_url = resp["Location"]

    def finished():
        _assert_alive(labels_worker)
        state = client.get(job_url + "status/").json()
        return state if state["status"] in ("done", "failed") else None

    assert _wait_for(finished, timeout=90, what="the worker to print the labels") == {
        "status": "done", "done": 2, "total": 2, "percent": 100, "message": ""}
    job_id = job_url.rstrip("/").rsplit("/", 1)[1]
    # the worker wrote under the schema the task carried
    assert [p.relative_to(shared_documents_dir).as_posix() for p in shared_documents_dir.rglob(f"{job_id}.pdf")] == [
        f"{mall.acme.schema_name}/label-jobs/{job_id}.pdf"]
    reader = _pdf(client.get(job_url + "labels.pdf"))
    assert [s.tracking_number in page.extract_text() for s, page in zip(shipments, reader.pages, strict=True)] == [True, True]
