"""Bulk catalog import and export (CSV and XLSX) of one merchant.

Import is two-phase. `import_preview` reads and validates every row and returns every error with
its row number (the header is row 1, as in a spreadsheet), column and reason; nothing is written.
`import_apply` validates again inside ONE transaction and writes everything with bulk statements,
or raises `ImportRejected` and writes nothing. Stock cells are counts ("set on_hand to N"): the
difference becomes a stocktake movement through the catalog's stock code, so levels always equal
the journal. Columns:

    sku, product, options, price, currency, weight_g, barcode, category, status, image_url,
    stock:<WAREHOUSE CODE> (any number of these)

`options` is "size=M; colour=red". Blank optional cells keep an existing variant's value.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Category, ImportJob, Product, StockLevel, StockMovement, Variant, Warehouse
from catalog.services import (
    TOPIC_LISTING,
    _apply_changes,
    _Change,
    _clean_variant_fields,
    _currency,
    _sku,
)
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.exports import export_csv_chunks as core_export_csv_chunks
from core.exports import export_xlsx as core_export_xlsx
from core.money import Money
from core.outbox import outbox_emit
from core.tenancy import current_merchant, current_schema, merchant_only, side_connection

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
BATCH = 2000
STOCK_PREFIX = "stock:"
COLUMNS = ["sku", "product", "options", "price", "currency", "weight_g", "barcode", "category", "status", "image_url"]
REQUIRED = ("sku", "product", "price")
_ALIASES = {"variant": "options", "name": "product", "product_name": "product", "weight": "weight_g"}
_LOCK_CLASS = 4712  # pg_advisory_xact_lock(class, 0): one import at a time per merchant schema

Progress = Callable[[int, int, str], None]  # (done, total, phase)


@dataclass(frozen=True)
class RowError:
    row: int  # 1 = header row; 0 = the file as a whole
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


class ImportRejected(ValidationFailed):
    """The file has errors; `errors` lists each one. Nothing was written."""

    code = "import_rejected"

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        first = errors[0]
        where = _("row %(row)s, %(column)s") % {"row": first.row, "column": first.column} if first.row else first.column
        super().__init__(
            _("%(n)s problem(s) in the file; nothing was imported. First: %(where)s: %(msg)s")
            % {"n": len(errors), "where": where, "msg": first.message},
            field="file", details={"errors": [e.as_dict() for e in errors[:1000]]},
        )


@dataclass
class ImportRow:
    row: int
    sku: str
    product: str
    options: dict | None  # None = cell blank
    price_minor: int
    currency: str
    weight_g: int | None
    barcode: str | None
    category: str | None
    status: str | None
    image_url: str | None
    stock: dict[str, int] = field(default_factory=dict)  # warehouse code -> counted on_hand


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    errors: list[RowError]
    file_kind: str = ""
    new_variants: int = 0
    updated_variants: int = 0
    new_products: int = 0
    stock_cells: int = 0
    warehouse_codes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def row_count(self) -> int:
        return len(self.rows)


@dataclass
class ImportResult:
    rows: int
    products_created: int
    variants_created: int
    variants_updated: int
    stock_movements: int


# ---------------------------------------------------------------- reading the file

def read_upload(file) -> bytes:
    """The file's bytes, refusing anything over MAX_FILE_BYTES before reading it all."""
    size = getattr(file, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise ImportRejected([_file_too_big(size)])
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ImportRejected([_file_too_big(None)])
    return data


def _file_too_big(size: int | None) -> RowError:
    mb = f"{size / 1024 / 1024:.1f} MB" if size else _("more than %(mb)s MB") % {"mb": MAX_FILE_BYTES // 1024 // 1024}
    return RowError(0, "file", _("The file is %(size)s; the limit is %(limit)s MB. Split it into smaller files.")
                    % {"size": mb, "limit": MAX_FILE_BYTES // 1024 // 1024})


def _not_a_table() -> RowError:
    return RowError(0, "file", _("This is not a CSV or XLSX file. Save the sheet as CSV (UTF-8) or Excel .xlsx."))


def sniff_kind(data: bytes) -> str:
    """"xlsx" or "csv" by content, whatever the file is called; raises ImportRejected otherwise."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if "xl/workbook.xml" in zf.namelist():
                    return "xlsx"
        except zipfile.BadZipFile:
            pass
        raise ImportRejected([_not_a_table()])
    head = data[:65536]
    if not data.strip() or b"\x00" in head:
        raise ImportRejected([_not_a_table()])
    try:
        _decode(head, final=False)
    except UnicodeDecodeError:
        raise ImportRejected([_not_a_table()]) from None
    return "csv"


def _decode(data: bytes, *, final: bool = True) -> str:
    """UTF-8 (with or without BOM), else GB18030 as saved by Chinese Excel."""
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(data, final=final)
    except UnicodeDecodeError:
        text = codecs.getincrementaldecoder("gb18030")().decode(data, final=final)
        if any(ord(c) < 32 and c not in "\r\n\t" for c in text[:65536]):
            raise
        return text


def _table_rows(data: bytes, kind: str) -> Iterator[list]:
    if kind == "xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            raise ImportRejected([_not_a_table()]) from None
        try:
            ws = wb.worksheets[0]
            for values in ws.iter_rows(values_only=True):
                yield list(values)
        finally:
            wb.close()
        return
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        raise ImportRejected([_not_a_table()]) from None
    sample = text[:8192]
    delimiter = ","
    try:
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        pass
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


# ---------------------------------------------------------------- cell parsing

def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _parse_options(text: str) -> dict:
    if text.startswith("{"):
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError
        return value
    out = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        sep = "=" if "=" in part else ":"
        if sep not in part:
            raise ValueError
        key, val = part.split(sep, 1)
        if not key.strip():
            raise ValueError
        out[key.strip()] = val.strip()
    return out


def options_text(options: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in (options or {}).items())


def _quantity(value) -> int:
    """A whole, non-negative count; raises ValueError with a reason."""
    if isinstance(value, bool):
        raise ValueError(_("must be a whole number"))
    try:
        number = Decimal(_cell_text(value))
    except InvalidOperation:
        raise ValueError(_("%(v)r is not a number") % {"v": _cell_text(value)}) from None
    if not number.is_finite():
        raise ValueError(_("%(v)r is not a number") % {"v": _cell_text(value)})
    if number != number.to_integral_value():
        raise ValueError(_("%(v)s is not a whole number of units") % {"v": _cell_text(value)})
    if number < 0:
        raise ValueError(_("%(v)s is negative; stock counts cannot be below zero") % {"v": _cell_text(value)})
    if number > 1_000_000:
        raise ValueError(_("%(v)s is more than 1,000,000 units") % {"v": _cell_text(value)})
    return int(number)


def _header(raw: list, errors: list[RowError], warehouse_codes: dict[str, int]) -> dict[int, str]:
    """Column index -> canonical column name ("stock:CODE" for stock). Header problems go to row 1."""
    columns: dict[int, str] = {}
    seen: set[str] = set()
    for i, cell in enumerate(raw):
        name = _cell_text(cell)
        if not name:
            continue
        key = name.lower().replace(" ", "_")
        key = _ALIASES.get(key, key)
        if key.startswith(STOCK_PREFIX) or key.startswith("stock_"):
            code = name.split(":", 1)[1].strip() if ":" in name else name[len("stock_"):].strip()
            known = {c.upper(): c for c in warehouse_codes}
            if code.upper() not in known:
                errors.append(RowError(1, name, _("Unknown warehouse %(code)r; known codes: %(codes)s.")
                                       % {"code": code, "codes": ", ".join(sorted(warehouse_codes)) or _("none yet")}))
                continue
            key = STOCK_PREFIX + known[code.upper()]
        elif key not in COLUMNS:
            errors.append(RowError(1, name, _("Unknown column; expected %(cols)s or stock:<warehouse code>.")
                                   % {"cols": ", ".join(COLUMNS)}))
            continue
        if key in seen:
            errors.append(RowError(1, name, _("This column appears twice.")))
            continue
        seen.add(key)
        columns[i] = key
    for req in REQUIRED:
        if req not in seen:
            errors.append(RowError(1, req, _("Required column %(col)s is missing.") % {"col": req}))
    return columns


def _parse_row(rownum: int, cells: dict[str, object], errors: list[RowError], default_currency: str) -> ImportRow | None:
    bad = len(errors)

    def err(column: str, message: str) -> None:
        errors.append(RowError(rownum, column, message))

    text = {k: _cell_text(v) for k, v in cells.items()}
    for req in REQUIRED:
        if not text.get(req):
            err(req, _("%(col)s is required.") % {"col": req})
    sku = product = ""
    if text.get("sku"):
        try:
            sku = _sku(text["sku"])
        except ValidationFailed as exc:
            err("sku", exc.message)
    if text.get("product"):
        product = text["product"]
        if len(product) > 200:
            err("product", _("Product name is longer than 200 characters."))
    currency = default_currency
    if text.get("currency"):
        try:
            currency = _currency(text["currency"])
        except ValidationFailed as exc:
            err("currency", exc.message)
            currency = ""
    price_minor = 0
    if text.get("price") and currency:
        try:
            price = Money.parse(text["price"], currency)
            if price.minor < 0:
                err("price", _("Price must not be negative."))
            price_minor = price.minor
        except ValidationFailed as exc:
            err("price", exc.message)
    options = None
    if text.get("options"):
        try:
            options = _parse_options(text["options"])
        except (ValueError, json.JSONDecodeError):
            err("options", _("Write options as name=value pairs separated by ';', e.g. size=M; colour=red."))
    extra: dict = {}
    if options is not None:
        extra["options"] = options
    weight_g = None
    if text.get("weight_g"):
        try:
            weight_g = _quantity(text["weight_g"])
            extra["weight_g"] = weight_g
        except ValueError as exc:
            err("weight_g", _("Weight: %(reason)s.") % {"reason": exc})
    for col in ("barcode", "image_url"):
        if text.get(col):
            extra[col] = text[col]
    if extra:
        try:
            _clean_variant_fields(extra, prefix="", partial=True)
        except ValidationFailed as exc:
            err(exc.field or "options", exc.message)
    category = text.get("category") or None
    if category and len(category) > 120:
        err("category", _("Category is longer than 120 characters."))
    status = (text.get("status") or "").lower() or None
    if status and status not in Product.Status.values:
        err("status", _("Status must be active or draft, not %(v)r.") % {"v": text["status"]})
    stock: dict[str, int] = {}
    for col, value in cells.items():
        if col.startswith(STOCK_PREFIX) and _cell_text(value) != "":
            try:
                stock[col[len(STOCK_PREFIX):]] = _quantity(value)
            except ValueError as exc:
                err(col, _("Stock: %(reason)s.") % {"reason": exc})
    if len(errors) > bad:
        return None
    return ImportRow(row=rownum, sku=sku, product=product, options=options, price_minor=price_minor, currency=currency,
                     weight_g=weight_g, barcode=text.get("barcode") or None, category=category, status=status,
                     image_url=text.get("image_url") or None, stock=stock)


# ---------------------------------------------------------------- validation against the catalog

@dataclass
class _Plan:
    preview: ImportPreview
    existing: dict[str, Variant]  # sku -> variant (with product)
    product_by_name: dict[str, int]  # existing product name -> id, for new SKUs
    warehouses: dict[str, int]  # code -> id


def _plan(data: bytes, *, lock: bool) -> _Plan:
    kind = sniff_kind(data)
    errors: list[RowError] = []
    warehouses = dict(Warehouse.objects.values_list("code", "id"))
    merchant = current_merchant()
    default_currency = getattr(merchant, "default_currency", "CNY") or "CNY"
    rows: list[ImportRow] = []
    columns: dict[int, str] | None = None
    seen: dict[str, int] = {}
    count = 0
    for index, raw in enumerate(_table_rows(data, kind), start=1):
        if columns is None:
            columns = _header(raw, errors, warehouses)
            if not set(REQUIRED) <= set(columns.values()):
                break  # without the required columns no row can be read
            continue
        if not any(_cell_text(c) for c in raw):
            continue
        count += 1
        if count > MAX_ROWS:
            errors.append(RowError(index, "file", _("More than %(n)s rows; split the file.") % {"n": MAX_ROWS}))
            break
        cells = {name: (raw[i] if i < len(raw) else None) for i, name in columns.items()}
        parsed = _parse_row(index, cells, errors, default_currency)
        sku_text = _cell_text(cells.get("sku")).upper()
        if sku_text:
            if sku_text in seen:
                errors.append(RowError(index, "sku", _("Duplicate SKU %(sku)s: already on row %(row)s.")
                                       % {"sku": _cell_text(cells.get("sku")), "row": seen[sku_text]}))
                parsed = None
            else:
                seen[sku_text] = index
        if parsed is not None:
            rows.append(parsed)
    if columns is None:
        errors.append(RowError(0, "file", _("The file is empty.")))
    elif count == 0 and not errors:
        errors.append(RowError(0, "file", _("The file has a header but no rows.")))

    # Against the catalog: which SKUs exist, reserved stock, conflicting product fields.
    existing: dict[str, Variant] = {}
    skus = [r.sku for r in rows]
    for i in range(0, len(skus), 5000):
        for v in Variant.objects.filter(sku__in=skus[i:i + 5000]).select_related("product"):
            existing[v.sku] = v
    if len(existing) < len(skus):
        clash = {}
        new_upper = [s.upper() for s in skus if s not in existing]
        for i in range(0, len(new_upper), 5000):
            for sku in (Variant.objects.annotate(usku=Upper("sku")).filter(usku__in=new_upper[i:i + 5000])
                        .values_list("sku", flat=True)):
                clash[sku.upper()] = sku
        for r in rows:
            if r.sku not in existing and r.sku.upper() in clash:
                errors.append(RowError(r.row, "sku", _("SKU %(sku)s differs only in upper/lower case from existing SKU %(other)s.")
                                       % {"sku": r.sku, "other": clash[r.sku.upper()]}))
    new_names = sorted({r.product for r in rows if r.sku not in existing})
    product_by_name: dict[str, int] = {}
    for i in range(0, len(new_names), 5000):
        for pid, name in Product.objects.filter(name__in=new_names[i:i + 5000]).order_by("-id").values_list("id", "name"):
            product_by_name[name] = pid  # ordered newest first, so the oldest product with that name wins
    # Product-level cells (category, status) must agree between rows of the same product.
    first_row: dict[object, ImportRow] = {}
    for r in rows:
        key = existing[r.sku].product_id if r.sku in existing else product_by_name.get(r.product, ("new", r.product))
        first = first_row.setdefault(key, r)
        if first is r:
            continue
        for col in ("category", "status"):
            mine, theirs = getattr(r, col), getattr(first, col)
            if mine is not None and theirs is not None and mine.lower() != theirs.lower():
                errors.append(RowError(r.row, col, _("%(col)s %(mine)r differs from %(theirs)r on row %(row)s of the same product.")
                                       % {"col": col, "mine": mine, "theirs": theirs, "row": first.row}))
    # Stock counts below what is already reserved for orders cannot be applied.
    wanted = [(existing[r.sku].pk, warehouses[code], r, code) for r in rows if r.sku in existing for code in r.stock]
    if wanted:
        levels = StockLevel.objects.filter(variant_id__in={w[0] for w in wanted}, reserved__gt=0)
        if lock:
            levels = levels.select_for_update().order_by("variant_id", "warehouse_id")
        reserved = {(lv.variant_id, lv.warehouse_id): lv.reserved for lv in levels}
        for vid, wid, r, code in wanted:
            res = reserved.get((vid, wid), 0)
            if r.stock[code] < res:
                errors.append(RowError(r.row, STOCK_PREFIX + code, _("Count %(c)s is below the %(r)s units reserved for orders.")
                                       % {"c": r.stock[code], "r": res}))
    errors.sort(key=lambda e: (e.row, e.column))
    preview = ImportPreview(
        rows=rows, errors=errors, file_kind=kind,
        new_variants=sum(1 for r in rows if r.sku not in existing),
        updated_variants=sum(1 for r in rows if r.sku in existing),
        new_products=len({r.product for r in rows if r.sku not in existing and r.product not in product_by_name}),
        stock_cells=sum(len(r.stock) for r in rows),
        warehouse_codes=sorted(warehouses),
    )
    return _Plan(preview=preview, existing=existing, product_by_name=product_by_name, warehouses=warehouses)


@merchant_only
def import_preview(*, file) -> ImportPreview:
    """Parse and validate every row; returns all errors (empty when the file can be applied). Writes nothing."""
    try:
        data = read_upload(file)
        return _plan(data, lock=False).preview
    except ImportRejected as exc:
        return ImportPreview(rows=[], errors=exc.errors)


# ---------------------------------------------------------------- applying

def _noop(done: int, total: int, phase: str) -> None:
    return None


@merchant_only
def import_apply(*, file, actor=None, reference: str = "", progress: Progress | None = None) -> ImportResult:
    """Write the whole file in one transaction, or nothing (ImportRejected lists every error)."""
    progress = progress or _noop
    actor_id = getattr(actor, "pk", actor)
    data = read_upload(file)
    reference = (reference or f"import {timezone.now():%Y-%m-%d %H:%M}")[:120]
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_LOCK_CLASS])
        plan = _plan(data, lock=True)
        if plan.preview.errors:
            raise ImportRejected(plan.preview.errors)
        rows = plan.preview.rows
        total = len(rows)
        progress(0, total, "validated")
        now = timezone.now()

        # Categories by name, created when missing.
        cat_names = {r.category for r in rows if r.category}
        categories = {c.name.lower(): c.pk for c in Category.objects.filter(parent__isnull=True)}
        missing = sorted({n for n in cat_names if n.lower() not in categories}, key=str.lower)
        if missing:
            unique_missing = list({n.lower(): n for n in missing}.values())
            for c in Category.objects.bulk_create([Category(name=n, created_at=now) for n in unique_missing]):
                categories[c.name.lower()] = c.pk

        # Products: existing SKUs keep their product; new SKUs join a product by name or a new one.
        product_fields: dict[int, dict] = {}
        new_products: dict[str, Product] = {}
        for r in rows:
            if r.sku in plan.existing or r.product in plan.product_by_name:
                continue
            if r.product not in new_products:
                new_products[r.product] = Product(
                    name=r.product, status=r.status or Product.Status.ACTIVE,
                    category_id=categories.get(r.category.lower()) if r.category else None, created_at=now, updated_at=now)
        created_products = Product.objects.bulk_create(list(new_products.values()), batch_size=BATCH)
        name_to_pid = dict(plan.product_by_name)
        name_to_pid.update({p.name: p.pk for p in created_products})
        for r in rows:
            pid = plan.existing[r.sku].product_id if r.sku in plan.existing else name_to_pid[r.product]
            if r.product in new_products and r.sku not in plan.existing:
                continue
            fields = product_fields.setdefault(pid, {})
            if r.sku in plan.existing:
                fields.setdefault("name", r.product)
            if r.category:
                fields.setdefault("category_id", categories[r.category.lower()])
            if r.status:
                fields.setdefault("status", r.status)
        if product_fields:
            products = list(Product.objects.filter(pk__in=list(product_fields)).order_by("pk").select_for_update())
            changed = []
            for p in products:
                f = product_fields[p.pk]
                if any(getattr(p, k) != v for k, v in f.items()):
                    for k, v in f.items():
                        setattr(p, k, v)
                    p.updated_at = now
                    changed.append(p)
            Product.objects.bulk_update(changed, ["name", "category_id", "status", "updated_at"], batch_size=BATCH)
        progress(total // 10, total, "products")

        # Variants: bulk insert the new ones, bulk update the existing ones.
        to_create, to_update = [], []
        for r in rows:
            if r.sku in plan.existing:
                v = plan.existing[r.sku]
                v.price_minor, v.currency, v.updated_at = r.price_minor, r.currency, now
                if r.options is not None:
                    v.options = r.options
                    v.name_suffix = " / ".join(str(x) for x in r.options.values())[:120]
                for col in ("weight_g", "barcode", "image_url"):
                    if getattr(r, col) is not None:
                        setattr(v, col, getattr(r, col))
                to_update.append(v)
            else:
                options = r.options or {}
                to_create.append(Variant(
                    product_id=name_to_pid[r.product], sku=r.sku, options=options,
                    name_suffix=" / ".join(str(x) for x in options.values())[:120], price_minor=r.price_minor,
                    currency=r.currency, weight_g=r.weight_g or 0, barcode=r.barcode or "", image_url=r.image_url or "",
                    created_at=now, updated_at=now))
        written = 0
        for i in range(0, len(to_create), BATCH):
            Variant.objects.bulk_create(to_create[i:i + BATCH])
            written += len(to_create[i:i + BATCH])
            progress(total // 10 + written * total // (2 * max(total, 1)), total, "variants")
        to_update.sort(key=lambda v: v.pk)
        for i in range(0, len(to_update), BATCH):
            Variant.objects.bulk_update(to_update[i:i + BATCH], ["price_minor", "currency", "options", "name_suffix",
                                                                 "weight_g", "barcode", "image_url", "updated_at"])
            written += len(to_update[i:i + BATCH])
            progress(total // 10 + written * total // (2 * max(total, 1)), total, "variants")
        variant_ids = {v.sku: v.pk for v in to_create}
        variant_ids.update({v.sku: v.pk for v in to_update})

        # Stock: counts become stocktake movements through the catalog's stock code (locks in
        # (variant, warehouse) order, one movement per change, low-stock alerts, listing events).
        movements = 0
        counted = [(variant_ids[r.sku], plan.warehouses[code], n) for r in rows for code, n in r.stock.items()]
        for i in range(0, len(counted), BATCH):
            chunk = counted[i:i + BATCH]
            keys = sorted((v, w) for v, w, _n in chunk)
            current = {}
            levels = (StockLevel.objects.select_for_update()
                      .filter(variant_id__in={k[0] for k in keys}, warehouse_id__in={k[1] for k in keys})
                      .order_by("variant_id", "warehouse_id").values_list("variant_id", "warehouse_id", "on_hand"))
            for v, w, on_hand in levels:
                current[(v, w)] = on_hand
            changes = [
                _Change(v, w, n - current.get((v, w), 0), 0, StockMovement.Kind.STOCKTAKE,
                        f"import: counted {n}", reference)
                for v, w, n in sorted(chunk) if n != current.get((v, w), 0)
            ]
            if changes:
                _apply_changes(changes, actor_id=actor_id, create_missing=True)
                movements += len(changes)
            progress(total * 6 // 10 + (i + len(chunk)) * total * 3 // (10 * len(counted)), total, "stock")

        # Shoppers see new prices and products: one listing event per chunk of variants.
        all_ids = sorted(variant_ids.values())
        for i in range(0, len(all_ids), 1000):
            chunk = all_ids[i:i + 1000]
            outbox_emit(topic=TOPIC_LISTING, aggregate_type="variant", aggregate_id=chunk[0],
                        payload={"variant_ids": chunk})
        progress(total, total, "done")
    return ImportResult(rows=total, products_created=len(created_products), variants_created=len(to_create),
                        variants_updated=len(to_update), stock_movements=movements)


# ---------------------------------------------------------------- export

def _export_header(codes: list[str]) -> list[str]:
    return COLUMNS + [STOCK_PREFIX + c for c in codes]


@merchant_only
def export_rows() -> Iterator[list]:
    """Header, then one row per variant in id order, read in keyset batches (constant memory)."""
    warehouses = list(Warehouse.objects.order_by("priority", "id").values_list("id", "code"))
    yield _export_header([c for _i, c in warehouses])
    categories = dict(Category.objects.values_list("id", "name"))
    last = 0
    while True:
        batch = list(Variant.objects.filter(pk__gt=last).order_by("pk").select_related("product")[:BATCH])
        if not batch:
            return
        stock: dict[tuple[int, int], int] = {}
        for v, w, on_hand in StockLevel.objects.filter(variant_id__in=[v.pk for v in batch]).values_list(
                "variant_id", "warehouse_id", "on_hand"):
            stock[(v, w)] = on_hand
        for v in batch:
            yield [
                v.sku, v.product.name, options_text(v.options), str(Money(v.price_minor, v.currency).to_decimal()),
                v.currency, v.weight_g, v.barcode, categories.get(v.product.category_id, ""), v.product.status,
                v.image_url, *[stock.get((v.pk, wid), "") for wid, _c in warehouses],
            ]
        last = batch[-1].pk


def export_xlsx(rows: Iterable[list], target) -> None:
    core_export_xlsx(rows, target, sheet="catalog")


export_csv_chunks = core_export_csv_chunks  # formula-safe CSV, shared by every export

# ---------------------------------------------------------------- import jobs (upload → preview → apply → progress)
#
# A job's state (status, progress, errors, counts) is an ImportJob row in the merchant's schema.
# The uploaded file can be large (up to MAX_FILE_BYTES), so it is NOT put in the database: it stays
# on disk at var/imports/<schema>/<job id> (MALLARD_IMPORT_DIR; with several hosts that must be a
# shared volume) until the job is applied, then it is deleted.

SYNC_APPLY_MAX_ROWS = 1000  # larger files are applied by a Celery task while the page polls
ERRORS_CAP = 1000  # errors kept on the job; error_count has the full number


def _jobs_root() -> Path:
    root = os.environ.get("MALLARD_IMPORT_DIR") or str(settings.BASE_DIR / "var" / "imports")
    return Path(root) / current_schema()


def _upload_path(job_id) -> Path:
    return _jobs_root() / str(job_id)


def _error_dicts(errors: list[RowError]) -> list[dict]:
    return [{"row": e.row, "column": e.column, "reason": e.message} for e in errors[:ERRORS_CAP]]


def _job_for_update(job_id) -> ImportJob:
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("No import %(id)s.") % {"id": job_id}, field="job")
    return job


def _job_set(job_id, **changes) -> ImportJob:
    with transaction.atomic():
        job = _job_for_update(job_id)
        for key, value in changes.items():
            setattr(job, key, value)
        job.save(update_fields=list(changes))
    return job


@merchant_only
def _authorize_import(actor) -> None:
    """Imports write the catalog and stock: catalog.edit for the person behind them (a user or their id)."""
    if actor is None:
        return
    from permissions.models import User
    from permissions.policy import authorize

    user = actor if hasattr(actor, "pk") else User.objects.filter(pk=actor).first()
    if user is None:
        raise PermissionDenied(_("The person who started this import no longer exists."))
    authorize(user, "catalog.edit", merchant=current_merchant())


def import_job_create(*, file, actor=None) -> ImportJob:
    """Record the job, store the upload, preview it; the job ends `ready` (counts to confirm) or
    `failed` (with its errors). Nothing in the catalog is written."""
    _authorize_import(actor)
    filename = os.path.basename(getattr(file, "name", "") or "upload")[:200]
    job = ImportJob.objects.create(filename=filename, status=ImportJob.Status.VALIDATING,
                                   created_by_id=getattr(actor, "pk", actor))
    try:
        data = read_upload(file)
        job.kind = sniff_kind(data)
    except ImportRejected as exc:
        return _job_set(job.pk, status=ImportJob.Status.FAILED, error_count=len(exc.errors),
                        errors=_error_dicts(exc.errors), finished_at=timezone.now())
    path = _upload_path(job.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    preview = import_preview(file=io.BytesIO(data))
    changes = dict(
        kind=job.kind, total_rows=preview.row_count, error_count=len(preview.errors),
        errors=_error_dicts(preview.errors),
        summary={"rows": preview.row_count, "new_variants": preview.new_variants,
                 "updated_variants": preview.updated_variants, "new_products": preview.new_products,
                 "stock_cells": preview.stock_cells},
    )
    if preview.ok:
        changes["status"] = ImportJob.Status.READY
    else:
        changes.update(status=ImportJob.Status.FAILED, finished_at=timezone.now())
        path.unlink(missing_ok=True)
    return _job_set(job.pk, **changes)


class _ProgressWriter:
    """Writes progress on a second connection in autocommit: import_apply runs in ONE transaction,
    and anything written through the main connection would stay invisible to the polling page until
    it commits. Skipped when the caller is already inside a transaction (the job row may then be
    locked by it, or not yet committed)."""

    def __init__(self, job_id, enabled: bool):
        self.job_id = str(job_id)
        self.conn = None
        self.last = 0.0
        if enabled:
            self.conn = side_connection()

    def __call__(self, done: int, total: int, phase: str) -> None:
        if self.conn is None:
            return
        now = time.monotonic()
        if now - self.last < 0.3 and done < total:
            return
        self.last = now
        try:
            with self.conn.cursor() as cur:
                cur.execute(f"UPDATE {ImportJob._meta.db_table} SET processed_rows = %s, total_rows = %s, phase = %s "
                            "WHERE id = %s", [done, total, phase[:20], self.job_id])
        except Exception:  # progress is advisory; never let it fail the import
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None


@merchant_only
def import_job_run(*, job_id, actor=None) -> ImportJob:
    """Apply a ready (or queued) job: called in the request for small files, by the Celery task for big ones."""
    with transaction.atomic():
        job = _job_for_update(job_id)
        if job.status not in (ImportJob.Status.READY, ImportJob.Status.QUEUED, ImportJob.Status.APPLYING):
            return job  # done / failed: a redelivered task or a second click does nothing
    try:  # the person who started it must still be allowed when the task applies it (their role may be gone)
        _authorize_import(actor or job.created_by_id)
    except PermissionDenied as exc:
        return _job_set(job.pk, status=ImportJob.Status.FAILED, message=exc.message[:500], finished_at=timezone.now())
    with transaction.atomic():
        job = _job_for_update(job_id)
        # "applying" is re-run on purpose: a worker lost mid-apply rolled its one transaction back,
        # and applying a file twice is harmless (SKUs update, stock cells are counts, not additions).
        job.status, job.phase, job.processed_rows = ImportJob.Status.APPLYING, "validating", 0
        job.save(update_fields=["status", "phase", "processed_rows"])
    progress = _ProgressWriter(job.pk, enabled=not connection.in_atomic_block)
    path = _upload_path(job.pk)
    try:
        with open(path, "rb") as fh:
            result = import_apply(file=fh, actor=actor or job.created_by_id,
                                  reference=f"import {job.filename}"[:120], progress=progress)
    except ImportRejected as exc:  # the catalog changed since the preview
        return _job_set(job.pk, status=ImportJob.Status.FAILED, errors=_error_dicts(exc.errors),
                        error_count=len(exc.errors), finished_at=timezone.now())
    except Exception as exc:
        _job_set(job.pk, status=ImportJob.Status.FAILED, message=str(exc)[:500], finished_at=timezone.now())
        raise
    finally:
        progress.close()
    path.unlink(missing_ok=True)
    return _job_set(job.pk, status=ImportJob.Status.DONE, processed_rows=result.rows, total_rows=result.rows,
                    phase="done", result=result.__dict__, finished_at=timezone.now())


@merchant_only
def import_job_start(*, job_id, actor=None) -> ImportJob:
    """Apply now if the file is small, else queue the Celery task and return at once."""
    with transaction.atomic():
        job = _job_for_update(job_id)
        if job.status != ImportJob.Status.READY:
            return job
        if job.total_rows > SYNC_APPLY_MAX_ROWS:
            job.status, job.phase = ImportJob.Status.QUEUED, "queued"
            job.save(update_fields=["status", "phase"])
    if job.status == ImportJob.Status.READY:
        return import_job_run(job_id=job.pk, actor=actor)
    from catalog.bulk_tasks import import_apply_task

    try:
        import_apply_task.apply_async(kwargs={"job_id": str(job.pk)}, ignore_result=True)
    except Exception:  # no broker: do it in this request rather than leave the merchant waiting forever
        return import_job_run(job_id=job.pk, actor=actor)
    return job
