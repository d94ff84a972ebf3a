"""Bulk import/export: every bad row reported, nothing partial written, XLSX round trip, file checks."""
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from catalog.bulk import (
    MAX_FILE_BYTES,
    ImportRejected,
    export_csv_chunks,
    export_rows,
    export_xlsx,
    import_apply,
    import_preview,
)
from catalog.models import Category, Product, StockLevel, StockMovement, Variant
from catalog.services import warehouse_create
from core.models import OutboxEvent
from core.tenancy import in_merchant_schema


def csv_file(text: str, name: str = "catalog.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def counts() -> dict:
    return {"products": Product.objects.count(), "variants": Variant.objects.count(),
            "levels": StockLevel.objects.count(), "movements": StockMovement.objects.count(),
            "categories": Category.objects.count(), "events": OutboxEvent.objects.count()}


@pytest.fixture
def acme_wh(mall):
    with in_merchant_schema(mall.acme):
        main = warehouse_create(code="MAIN", name="Main", region="CN-31", priority=1)
        south = warehouse_create(code="SOUTH", name="South", region="CN-44", priority=2)
        yield main, south


def test_good_csv_creates_products_variants_and_counted_stock(mall, acme_wh):
    main, south = acme_wh
    text = (
        "sku,product,options,price,currency,weight_g,barcode,category,status,stock:MAIN,stock:SOUTH\n"
        "TENT-2P,Trail Tent,size=2P,1299.00,CNY,2100,6901234567890,Tents,active,12,3\n"
        "TENT-3P,Trail Tent,size=3P,1599.5,CNY,2600,,Tents,,0,\n"
        "STOVE-1,Camp Stove,,249,,800,,Cooking,draft,7,\n"
    )
    with in_merchant_schema(mall.acme):
        preview = import_preview(file=csv_file(text))
        assert preview.errors == []
        assert (preview.new_variants, preview.updated_variants, preview.new_products, preview.stock_cells) == (3, 0, 2, 4)
        result = import_apply(file=csv_file(text), reference="test import")
        assert (result.rows, result.products_created, result.variants_created, result.variants_updated) == (3, 2, 3, 0)
        tent = Product.objects.get(name="Trail Tent")
        assert (tent.status, tent.category.name) == ("active", "Tents")
        assert Product.objects.get(name="Camp Stove").status == "draft"
        v = {x.sku: x for x in Variant.objects.filter(sku__in=["TENT-2P", "TENT-3P", "STOVE-1"])}
        assert (v["TENT-2P"].price_minor, v["TENT-2P"].options, v["TENT-2P"].weight_g, v["TENT-2P"].barcode) == (
            129900, {"size": "2P"}, 2100, "6901234567890")
        assert (v["TENT-3P"].price_minor, v["STOVE-1"].price_minor, v["STOVE-1"].currency) == (159950, 24900, "CNY")
        levels = {(lv.variant.sku, lv.warehouse.code): lv.on_hand
                  for lv in StockLevel.objects.select_related("variant", "warehouse")}
        # a count of 0 for a level that does not exist writes nothing: nothing changed
        assert levels == {("TENT-2P", "MAIN"): 12, ("TENT-2P", "SOUTH"): 3, ("STOVE-1", "MAIN"): 7}
        assert result.stock_movements == 3
        for lv in StockLevel.objects.all():
            j = StockMovement.objects.filter(variant=lv.variant, warehouse=lv.warehouse).aggregate(s=Sum("on_hand_delta"))
            assert j["s"] == lv.on_hand
        assert set(StockMovement.objects.values_list("kind", "reference")) == {("stocktake", "test import")}
        listed = set()
        for e in OutboxEvent.objects.filter(topic="catalog.listing_changed", schema_name="m_acme"):
            listed |= set(e.payload["variant_ids"])
        assert {x.pk for x in v.values()} <= listed


def test_import_with_bad_rows_changes_nothing_and_reports_each_row(mall, acme_wh, make_stock):
    with in_merchant_schema(mall.acme):
        (existing,), _ = make_stock(qty=5)
        before = counts()
        text = (
            "sku,product,options,price,currency,stock:MAIN,stock:NOWHERE\n"
            "GOOD-1,Good Thing,,10.00,CNY,5,\n"                  # row 2: fine
            "NEG-1,Bad Stock,,10.00,CNY,-3,\n"                   # row 3: negative quantity
            "FRAC-1,Bad Stock,,10.00,CNY,2.5,\n"                 # row 4: fractional quantity
            "good-1,Dup Thing,,10.00,CNY,1,\n"                   # row 5: duplicate of row 2 (case-insensitive)
            "CENTS-1,Too Precise,,12.345,CNY,,\n"                # row 6: too many decimals
            "NOPROD-1,,,10.00,CNY,,\n"                           # row 7: product missing
            "CUR-1,Bad Currency,,10.00,XYZ,,\n"                  # row 8: unknown currency
            ",No Sku,,10.00,CNY,,\n"                             # row 9: sku missing
            "BADOPT-1,Bad Options,justtext,10.00,CNY,,\n"        # row 10: options not name=value
            f"{existing.sku},Renamed,,abc,CNY,,\n"               # row 11: price is not a number
        )
        preview = import_preview(file=csv_file(text))
        got = [(e.row, e.column) for e in preview.errors]
        assert got == [
            (1, "stock:NOWHERE"), (3, "stock:MAIN"), (4, "stock:MAIN"), (5, "sku"), (6, "price"),
            (7, "product"), (8, "currency"), (9, "sku"), (10, "options"), (11, "price"),
        ]
        msg = {(e.row, e.column): e.message for e in preview.errors}
        assert "Unknown warehouse 'NOWHERE'" in msg[(1, "stock:NOWHERE")] and "MAIN" in msg[(1, "stock:NOWHERE")]
        assert "negative" in msg[(3, "stock:MAIN")]
        assert "2.5 is not a whole number" in msg[(4, "stock:MAIN")]
        assert msg[(5, "sku")] == "Duplicate SKU good-1: already on row 2."
        assert "more than 2 decimal places" in msg[(6, "price")]
        assert msg[(7, "product")] == "product is required."
        assert "XYZ" in msg[(8, "currency")]
        assert msg[(9, "sku")] == "sku is required."
        assert "name=value" in msg[(10, "options")]
        assert "not an amount" in msg[(11, "price")]
        with pytest.raises(ImportRejected) as err:
            import_apply(file=csv_file(text))
        assert len(err.value.errors) == 10 and err.value.details["errors"][0]["row"] == 1
        assert counts() == before
        assert Variant.objects.get(pk=existing.pk).product.name == existing.product.name


def test_count_below_reserved_is_refused(mall, acme_wh, make_stock):
    from catalog.services import ReserveLine, stock_reserve

    main, _ = acme_wh
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=10)
        stock_reserve(lines=[ReserveLine(v.pk, w.pk, 4, "suborder_line:77")], expires_at=None)
        text = f"sku,product,price,stock:{w.code}\n{v.sku},{v.product.name},19.99,3\n"
        preview = import_preview(file=csv_file(text))
        assert [(e.row, e.column, e.message) for e in preview.errors] == [
            (2, f"stock:{w.code}", "Count 3 is below the 4 units reserved for orders.")]


def test_missing_required_columns_reported_on_header(mall, acme_wh):
    with in_merchant_schema(mall.acme):
        preview = import_preview(file=csv_file("sku,colour\nA-1,red\n"))
        assert [(e.row, e.column) for e in preview.errors] == [(1, "colour"), (1, "price"), (1, "product")]


@pytest.mark.parametrize("name,data", [
    ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)),
    ("report.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\x00"),
    ("letter.xlsx", None),  # a real zip (a .docx), but not a workbook
    ("empty.csv", b""),
])
def test_file_that_is_not_csv_or_xlsx_is_rejected(mall, acme_wh, name, data):
    if data is None:
        import zipfile

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("word/document.xml", "<w:document/>")
        data = buf.getvalue()
    with in_merchant_schema(mall.acme):
        before = counts()
        preview = import_preview(file=SimpleUploadedFile(name, data))
        assert [(e.row, e.column) for e in preview.errors] == [(0, "file")]
        assert "not a CSV or XLSX" in preview.errors[0].message
        with pytest.raises(ImportRejected):
            import_apply(file=SimpleUploadedFile(name, data))
        assert counts() == before


class _CountingFile:
    """A file-like object without .size that records how much was read from it."""

    def __init__(self, total: int):
        self.total, self.read_bytes = total, 0

    def read(self, n=-1):
        n = self.total - self.read_bytes if n < 0 else min(n, self.total - self.read_bytes)
        self.read_bytes += n
        return b"a" * n


def test_oversized_file_is_rejected_without_reading_it_all(mall, acme_wh):
    with in_merchant_schema(mall.acme):
        big = SimpleUploadedFile("big.csv", b"x")
        big.size = 50 * 1024 * 1024  # what Django reports for a 50 MB upload
        preview = import_preview(file=big)
        assert [(e.row, e.column) for e in preview.errors] == [(0, "file")]
        assert "50.0 MB" in preview.errors[0].message and "20 MB" in preview.errors[0].message
        stream = _CountingFile(50 * 1024 * 1024)
        preview = import_preview(file=stream)
        assert preview.errors[0].column == "file" and "limit is 20 MB" in preview.errors[0].message
        assert stream.read_bytes == MAX_FILE_BYTES + 1


def test_xlsx_round_trip_export_then_import(mall, acme_wh, make_stock):
    main, south = acme_wh
    with in_merchant_schema(mall.acme):
        vs, whs = make_stock(variants=3, qty=6)
        rows = list(export_rows())
        header = rows[0]
        assert header[:10] == ["sku", "product", "options", "price", "currency", "weight_g", "barcode", "category",
                               "status", "image_url"]
        assert f"stock:{whs[0].code}" in header and "stock:MAIN" in header
        buf = io.BytesIO()
        export_xlsx(rows, buf)
        data = buf.getvalue()
        before = counts()
        # Importing the unchanged export changes nothing that matters: no new rows, no stock movement.
        preview = import_preview(file=SimpleUploadedFile("export.xlsx", data))
        assert preview.errors == [] and preview.file_kind == "xlsx"
        assert (preview.new_variants, preview.updated_variants) == (0, len(rows) - 1)
        result = import_apply(file=SimpleUploadedFile("export.xlsx", data))
        assert (result.variants_created, result.stock_movements) == (0, 0)
        after = counts()
        assert {k: after[k] for k in ("products", "variants", "levels", "movements")} == {
            k: before[k] for k in ("products", "variants", "levels", "movements")}
        assert {v.pk: (v.price_minor, v.options) for v in Variant.objects.filter(pk__in=[v.pk for v in vs])} == {
            v.pk: (v.price_minor, v.options) for v in vs}
    # The same workbook imports into another merchant that has the same warehouse codes.
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    ws = wb.active
    ws.cell(row=2, column=4).value = 25.5  # change the first variant's price
    out = io.BytesIO()
    wb.save(out)
    with in_merchant_schema(mall.globex):
        warehouse_create(code=whs[0].code, name="Copy", priority=1)
        warehouse_create(code="MAIN", name="Main", priority=2)
        warehouse_create(code="SOUTH", name="South", priority=3)
        result = import_apply(file=SimpleUploadedFile("export.xlsx", out.getvalue()))
        assert (result.products_created, result.variants_created) == (1, 3)
        first = Variant.objects.get(sku=vs[0].sku)
        assert first.price_minor == 2550
        assert {lv.variant.sku: lv.on_hand for lv in StockLevel.objects.select_related("variant")} == {
            v.sku: 6 for v in vs}


def test_csv_export_streams_the_same_rows(mall, acme_wh, make_stock):
    with in_merchant_schema(mall.acme):
        vs, whs = make_stock(variants=2, qty=4)
        text = "".join(export_csv_chunks(export_rows()))
        assert text.startswith("\ufeffsku,product,options,price,currency")
        line = next(ln for ln in text.splitlines() if ln.startswith(vs[0].sku))
        assert ",19.99,CNY," in line and "size=0" in line
        # and it imports back cleanly
        assert import_preview(file=csv_file(text.lstrip("\ufeff"))).errors == []


def test_ten_thousand_rows_import_in_seconds(mall, acme_wh):
    lines = ["sku,product,options,price,currency,category,stock:MAIN"]
    for i in range(10_000):
        lines.append(f"BULK-{i:05d},Bulk product {i // 4},size={i % 4},{i % 500}.99,CNY,Cat {(i // 4) % 20},{i % 50}")
    text = "\n".join(lines) + "\n"
    with in_merchant_schema(mall.acme):
        started = time.perf_counter()
        result = import_apply(file=csv_file(text))
        elapsed = time.perf_counter() - started
        assert (result.variants_created, result.products_created) == (10_000, 2_500)
        assert StockLevel.objects.filter(variant__sku__startswith="BULK-").aggregate(s=Sum("on_hand"))["s"] == sum(
            i % 50 for i in range(10_000))
        assert StockMovement.objects.filter(variant__sku__startswith="BULK-").aggregate(
            s=Sum("on_hand_delta"))["s"] == sum(i % 50 for i in range(10_000))
    print(f"10k-row import: {elapsed:.2f}s")
    assert elapsed < 30
