"""Background exports (reports/exports.py): the actor's masking and permissions, formula injection, the
pages and their JSON status, who may download, and a file complete under a concurrent writer."""
import csv
import io
import threading

import pytest
from django.core.files.storage import default_storage
from django.db import connections

from core.errors import PermissionDenied, ValidationFailed
from core.tenancy import in_merchant_schema, in_public_schema
from reports.exports import export_run, export_start
from reports.exports_models import ExportJob
from tests.orders.factories import ADDRESS
from tests.reports.helpers import suborder

EVIL = "=HYPERLINK(\"http://evil.example\",\"x\")"


def _read(job) -> list[list]:
    with default_storage.open(job.file_name, "rb") as fh:
        data = fh.read()
    if job.format == "csv":
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data), read_only=False).active
    return [[c.value for c in row] for row in ws.iter_rows()]


def _export(mall, role, fmt, channel, **params):
    job = export_start(actor=mall.users[f"acme:{role}"], merchant=mall.acme, kind="suborders", fmt=fmt,
                       params={"channel": channel, **params})
    return export_run(job.pk)


@pytest.fixture
def orders(mall, unique):
    channel = unique("exp").lower()
    for i in range(3):
        suborder(mall.acme, channel=channel, name=EVIL if i == 0 else "Han Meimei", total_minor=12345 + i)
    return channel


def test_finance_gets_masked_phones_warehouse_no_prices_owner_everything(mall, orders):
    owner = _export(mall, "owner", "csv", orders)
    assert owner.status == "done" and owner.row_count == 3 and owner.total_rows == 3
    rows = _read(owner)
    assert "Total" in rows[0] and len(rows) == 4
    # a phone starting with + is kept as text (the CSV's leading apostrophe), unmasked for the owner
    assert all("'" + ADDRESS["phone"] in r for r in rows[1:]) and any("123.45" in r for r in rows[1:])

    finance = _read(_export(mall, "finance", "csv", orders))
    text = "\n".join(",".join(r) for r in finance)
    assert ADDRESS["phone"] not in text and ADDRESS["line1"] not in text
    assert all(r[finance[0].index("Phone")] == "138****0000" for r in finance[1:])
    assert "Total" in finance[0]

    warehouse = _read(_export(mall, "warehouse", "xlsx", orders))
    assert not {"Total", "Subtotal", "Currency", "Discount"} & set(warehouse[0])
    cells = [str(v) for r in warehouse[1:] for v in r]
    assert not any(c in ("123.45", "123.46", "123.47", "12345") for c in cells)


def test_formula_injection_is_escaped_in_csv_and_xlsx(mall, orders):
    rows = _read(_export(mall, "owner", "csv", orders))
    assert ["'" + EVIL] == [c for r in rows for c in r if EVIL in c]
    job = _export(mall, "owner", "xlsx", orders)
    from openpyxl import load_workbook

    with default_storage.open(job.file_name, "rb") as fh:
        ws = load_workbook(io.BytesIO(fh.read())).active
    cell = next(c for row in ws.iter_rows() for c in row if c.value == EVIL)
    assert cell.data_type == "s"  # a text cell, never a formula


def test_the_lists_filters_apply_and_bad_input_is_refused_naming_the_field(mall, orders):
    assert _export(mall, "owner", "csv", orders, q="Han").row_count == 2
    before = ExportJob.objects.count()
    for params, field in (({"format": "pdf"}, "format"), ({"kind": "secrets"}, "kind"), ({"status": "nope"}, "status")):
        with pytest.raises(ValidationFailed) as err:
            export_start(actor=mall.users["acme:owner"], merchant=mall.acme, kind=params.get("kind", "suborders"),
                         fmt=params.get("format", "csv"), params={"status": params.get("status", "")})
        assert err.value.field == field
    assert ExportJob.objects.count() == before


def test_pages_status_and_download_only_for_the_asker_on_its_merchant(mall, orders, client_at):
    owner = client_at(mall.acme, mall.users["acme:owner"])
    resp = owner.post("/exports/new/", {"kind": "suborders", "format": "xlsx", "channel": orders})
    assert resp.status_code == 302
    job = ExportJob.objects.get(actor=mall.users["acme:owner"], filters__channel=orders)
    assert resp["Location"] == f"/exports/{job.pk}/"
    page = owner.get(f"/exports/{job.pk}/")
    assert page.status_code == 200 and b'data-testid="export-progress"' in page.content
    assert owner.get(f"/exports/{job.pk}/status/").json()["status"] == "queued"
    assert owner.get(f"/exports/{job.pk}/download/").status_code == 404  # not ready
    export_run(job.pk)
    status = owner.get(f"/exports/{job.pk}/status/").json()
    assert status["status"] == "done" and status["progress"] == 100 and status["rows"] == 3
    download = owner.get(status["download"])
    assert download.status_code == 200 and download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert b"".join(download.streaming_content)[:2] == b"PK"
    # another store's owner with the real id, on their own host and on acme's; a colleague without it
    for client in (client_at(mall.globex, mall.users["globex:owner"]), client_at(mall.acme, mall.users["acme:manager"])):
        for url in (f"/exports/{job.pk}/", f"/exports/{job.pk}/status/", f"/exports/{job.pk}/download/"):
            assert client.get(url).status_code in (403, 404), url
    assert client_at(mall.globex, mall.users["globex:owner"]).get(f"/exports/{job.pk}/download/").status_code == 404
    assert client_at(mall.acme, mall.users["acme:manager"]).get(f"/exports/{job.pk}/download/").status_code == 404
    # a bad format: the page names the field, nothing queued
    bad = owner.post("/exports/new/", {"kind": "suborders", "format": "pdf"})
    assert bad.status_code == 400 and b"format" in bad.content
    # the suborder list offers the export with its filters
    assert b'data-testid="export-xlsx"' in owner.get("/suborders/?status=accepted").content


def test_stock_export(mall, client_at):
    from tests.orders.factories import stock_item

    item = stock_item(mall.acme, stock=(7,))
    job = export_run(export_start(actor=mall.users["acme:warehouse"], merchant=mall.acme, kind="stock", fmt="csv", params={}).pk)
    rows = _read(job)
    mine = next(r for r in rows if r[0] == item["sku"])
    assert mine[2:] == ["7", "0", "7"] and job.row_count == len(rows) - 1


def test_the_file_is_complete_when_a_writer_commits_during_the_export(committed, unique, monkeypatch):
    """One snapshot: a suborder added and one deleted by another connection after the first page was read
    change nothing in the file, which has exactly the rows there were when it started."""
    import reports.exports as exports
    import suborders.selectors as selectors

    mall = committed
    channel = unique("cw").lower()
    made = [suborder(mall.acme, channel=channel, name=f"Shopper {i}") for i in range(7)]
    expected = {so.number for so in made}
    monkeypatch.setattr(exports, "EXPORT_PAGE", 2)
    original, calls, added = selectors.suborder_list_for_merchant, [], []

    def writer():
        try:
            added.append(suborder(mall.acme, channel=channel, name="Late comer"))
            with in_merchant_schema(mall.acme):
                from suborders.models import SubOrder

                SubOrder.objects.filter(number=made[-1].number).delete()  # the oldest: on the last page
        finally:
            connections.close_all()

    def paged(**kw):
        page = original(**kw)
        calls.append(len(page.rows))
        if len(calls) == 1:
            t = threading.Thread(target=writer)
            t.start()
            t.join()
        return page

    monkeypatch.setattr(selectors, "suborder_list_for_merchant", paged)
    try:
        job = export_start(actor=mall.users["acme:owner"], merchant=mall.acme, kind="suborders", fmt="csv",
                           params={"channel": channel, "ordering": "-created"})
        job = export_run(job.pk)
        assert len(calls) == 4 and added
        rows = _read(job)
        assert {r[0] for r in rows[1:]} == expected and job.row_count == 7
    finally:
        from suborders.models import SubOrder

        with in_merchant_schema(mall.acme):
            SubOrder.objects.filter(channel=channel).delete()
        with in_public_schema():
            ExportJob.objects.filter(filters__channel=channel).delete()


def test_the_asker_is_emailed_once_when_the_export_is_ready(mall, orders):
    from core.models import OutboxEvent
    from core.outbox import subscribers_for
    from notifications.models import Message

    job = _export(mall, "finance", "xlsx", orders)
    events = list(OutboxEvent.objects.filter(topic="export.ready", aggregate_id=str(job.pk)))
    assert len(events) == 1 and events[0].payload["rows"] == 3
    for _ in range(2):  # a re-run of the delivery sends nothing more
        for sub in subscribers_for("export.ready"):
            sub.func(events[0])
    sent = list(Message.objects.filter(kind="export_ready", event_id=events[0].pk))
    assert [m.recipient for m in sent] == [mall.users["acme:finance"].email]
    assert sent[0].status == "sent"


def test_stock_journal_export_by_date_and_a_bad_date_named(mall):
    from django.utils import timezone

    from tests.orders.factories import stock_item

    item = stock_item(mall.acme, stock=(9,))
    today = timezone.localdate().isoformat()
    job = export_run(export_start(actor=mall.users["acme:warehouse"], merchant=mall.acme, kind="journal", fmt="xlsx",
                                  params={"from": today, "to": today}).pk)
    rows = _read(job)
    assert rows[0][:3] == ["Time", "Kind", "SKU"]
    assert any(r[1] == "receipt" and r[2] == item["sku"] and r[4] == 9 for r in rows[1:])
    with pytest.raises(ValidationFailed) as err:
        export_start(actor=mall.users["acme:owner"], merchant=mall.acme, kind="journal", fmt="csv", params={"from": "yesterday"})
    assert err.value.field == "from"
    with pytest.raises(PermissionDenied):
        export_start(actor=mall.users["nobody"], merchant=mall.acme, kind="journal", fmt="csv", params={})
