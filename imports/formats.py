"""Reading order files: encoding, CSV/XLSX streaming, and the three formats we accept.

A file is read row by row and never held whole (memory stays flat in the file's size): a CSV through
csv.reader over a text wrapper of the open file, an XLSX through openpyxl's read-only mode. Each row
becomes a dict of OUR field names (FIELDS) through the column mapping of its format; rows with the same
external order id must follow one another and form one order. docs/import-formats.md describes the
formats, the column mappings and how a Taobao 收货地址 is split.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

SAMPLE_BYTES = 64 * 1024
MAX_CELL = 2000


@dataclass(frozen=True)
class RowError:
    row: int | None  # the file's row number (the header is row 1); None = the whole file
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}


class FileRejected(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def _reject(message: str, field: str = "file", row: int | None = None) -> FileRejected:
    return FileRejected([RowError(row, field, message)])


# ---------------------------------------------------------------- encoding and rows

def detect_encoding(sample: bytes) -> str:
    """utf-8-sig (BOM), utf-8 or gb18030 (a superset of GBK, what Taobao's 千牛 writes); anything else refused."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in sample:
        raise _reject(_("The file is UTF-16 or binary; save it as CSV in UTF-8 or GBK, or as XLSX."))
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)  # a cut last character is fine
            return encoding
        except UnicodeDecodeError:
            continue
    raise _reject(_("The file is neither UTF-8 nor GBK/GB18030 text; save it as CSV in UTF-8 or GBK, or as XLSX."))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value).strip()[:MAX_CELL]


class Table:
    """An open file: `encoding` ("xlsx" for a workbook), `header` and `rows()` -> (row number, cells)."""

    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            head = f.read(SAMPLE_BYTES)
        if not head.strip():
            raise _reject(_("The file is empty."))
        self.is_xlsx = head.startswith(b"PK\x03\x04")
        self.encoding = "xlsx" if self.is_xlsx else detect_encoding(head)
        first = self._raw()
        try:
            self.header: list[str] = next(first, (1, []))[1]
        finally:
            first.close()  # closes the file (and the workbook) now, not when the generator is collected
        if not any(self.header):
            raise _reject(_("The file has no header row."))

    def _raw(self) -> Iterator[tuple[int, list[str]]]:
        if self.is_xlsx:
            from openpyxl import load_workbook

            with open(self.path, "rb") as raw:  # a file object: openpyxl judges a path by its extension
                try:
                    wb = load_workbook(raw, read_only=True, data_only=True)
                except Exception:  # noqa: BLE001 - an unreadable workbook is the user's file, not our bug
                    raise _reject(_("This is not a readable XLSX file.")) from None
                try:
                    for n, row in enumerate(wb.active.iter_rows(values_only=True), start=1):
                        yield n, [_cell(c) for c in row]
                finally:
                    wb.close()
            return
        with open(self.path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
            n = 0
            try:
                for n, row in enumerate(csv.reader(text), start=1):  # noqa: B007 - n names the row of an error
                    yield n, [c.strip()[:MAX_CELL] for c in row]
            except UnicodeDecodeError:
                raise _reject(_("Row %(n)s is not %(enc)s text: the file mixes encodings.")
                              % {"n": n + 1, "enc": self.encoding}, row=n + 1) from None
            except csv.Error as exc:
                raise _reject(_("Row %(n)s is not readable CSV (%(why)s).") % {"n": n + 1, "why": exc}, row=n + 1) from None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        it = self._raw()
        next(it, None)  # the header
        for n, cells in it:
            if any(cells):
                yield n, cells


# ---------------------------------------------------------------- formats

# Our field names, what every format is mapped to. Order-level fields are read from an order's first row
# that has them; line fields from every row.
ORDER_FIELDS = ("merchant", "email", "currency", "created_at", "name", "phone", "line1", "line2", "city", "district",
                "region", "postcode", "country", "address", "shipping", "discount", "paid_status", "goods_total", "total",
                "shipping_method")
LINE_FIELDS = ("sku", "quantity", "unit_price", "line_discount", "product_name", "merchant", "shipping")


@dataclass(frozen=True)
class Format:
    code: str
    label: str
    default_channel: str
    id_column: str
    columns: dict  # our field -> the file's column
    required: tuple  # our fields that must have a column
    merchant_per_line: bool = False  # the merchant column is read per line (Shopify's Vendor)
    default_country: str = ""
    default_currency: str = "CNY"


MALLARD = Format(
    code="mallard", label="Mallard CSV/XLSX", default_channel="import", id_column="order_id",
    columns={"merchant": "merchant", "email": "email", "currency": "currency", "created_at": "created_at", "name": "name",
             "phone": "phone", "line1": "address", "line2": "address2", "city": "city", "district": "district",
             "region": "region", "postcode": "postcode", "country": "country", "shipping": "shipping",
             "discount": "order_discount", "shipping_method": "shipping_method", "sku": "sku", "quantity": "quantity",
             "unit_price": "unit_price", "line_discount": "discount", "product_name": "product_name"},
    required=("sku", "quantity", "unit_price", "name", "line1", "city", "region", "country"),
    merchant_per_line=True,
)

SHOPIFY = Format(
    code="shopify", label="Shopify orders export", default_channel="shopify", id_column="Name",
    columns={"merchant": "Vendor", "email": "Email", "currency": "Currency", "created_at": "Created at",
             "paid_status": "Financial Status", "shipping": "Shipping", "discount": "Discount Amount", "total": "Total",
             "name": "Shipping Name", "phone": "Shipping Phone", "line1": "Shipping Address1", "line2": "Shipping Address2",
             "city": "Shipping City", "postcode": "Shipping Zip", "region": "Shipping Province", "country": "Shipping Country",
             "shipping_method": "Shipping Method", "sku": "Lineitem sku", "quantity": "Lineitem quantity",
             "unit_price": "Lineitem price", "line_discount": "Lineitem discount", "product_name": "Lineitem name"},
    required=("sku", "quantity", "unit_price", "name", "line1", "city", "country", "currency"),
    merchant_per_line=True,
)

TAOBAO = Format(
    code="taobao", label="淘宝/天猫 千牛 order export", default_channel="taobao", id_column="订单编号",
    columns={"merchant": "店铺", "created_at": "订单创建时间", "paid_status": "订单状态", "goods_total": "买家应付货款",
             "shipping": "买家应付邮费", "total": "总金额", "name": "收货人姓名", "address": "收货地址", "phone": "联系手机",
             "sku": "商家编码", "quantity": "宝贝数量", "unit_price": "宝贝单价", "product_name": "宝贝标题"},
    required=("sku", "quantity", "unit_price", "name", "address"),
    default_country="CN",
)
# Other names the same Taobao column goes by in 千牛's exports (and in the shop's own templates).
TAOBAO_ALIASES = {"商家编码/SKU": "商家编码", "SKU": "商家编码", "商品编码": "商家编码", "价格": "宝贝单价", "单价": "宝贝单价",
                  "购买数量": "宝贝数量", "数量": "宝贝数量", "商品标题": "宝贝标题", "手机": "联系手机", "订单号": "订单编号"}

FORMATS = {f.code: f for f in (MALLARD, SHOPIFY, TAOBAO)}


def detect_format(header: list[str]) -> Format | None:
    names = set(header)
    if "Name" in names and "Lineitem sku" in names:
        return SHOPIFY
    if names & {"订单编号", "订单号"}:
        return TAOBAO
    if "order_id" in {h.lower() for h in header}:
        return MALLARD
    return None


@dataclass
class Mapping:
    fmt: Format
    index: dict  # our field -> column index
    id_index: int


def column_mapping(fmt: Format, header: list[str]) -> Mapping:
    """Where each of our fields is in this header; FileRejected naming every missing column."""
    names = [h.strip().lstrip("\ufeff") for h in header]
    if fmt is MALLARD:
        names = [h.lower() for h in names]
    if fmt is TAOBAO:
        names = [TAOBAO_ALIASES.get(h, h) for h in names]
    pos = {}
    for i, h in enumerate(names):
        pos.setdefault(h, i)
    missing = [fmt.id_column] if fmt.id_column not in pos else []
    missing += [fmt.columns[f] for f in fmt.required if fmt.columns[f] not in pos]
    if missing:
        raise FileRejected([RowError(1, col, _("The column %(col)s is missing (format: %(fmt)s).") % {"col": col, "fmt": fmt.label})
                            for col in missing])
    index = {f: pos[col] for f, col in fmt.columns.items() if col in pos}
    return Mapping(fmt, index, pos[fmt.id_column])


@dataclass
class RawOrder:
    external_id: str
    row: int
    fields: dict  # order-level fields (first non-empty value)
    lines: list  # [(row, {line field: text, "merchant": text})]


def grouped_orders(table: Table, mapping: Mapping, errors: list[RowError]) -> Iterator[RawOrder]:
    """The file's orders: consecutive rows with the same external id. A row without an id continues no
    order and is an error; an id seen again after another order is a duplicate (an error naming both rows)."""
    seen: dict[str, int] = {}
    current: RawOrder | None = None
    # where each field is, worked out once (cells come stripped from Table.rows); short rows are padded
    order_at = [(f, mapping.index[f]) for f in ORDER_FIELDS if f in mapping.index]
    line_at = [(f, mapping.index.get(f)) for f in LINE_FIELDS]
    width = max([mapping.id_index, *mapping.index.values()]) + 1
    for n, cells in table.rows():
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        ext = cells[mapping.id_index]
        if not ext:
            errors.append(RowError(n, mapping.fmt.id_column, _("The order id is empty.")))
            continue
        if current is None or ext != current.external_id:
            if current is not None:
                yield current
            if ext in seen:
                errors.append(RowError(n, mapping.fmt.id_column,
                                       _("Order %(id)s appears twice in this file (first at row %(first)s); the rows of an order must follow one another.")
                                       % {"id": ext, "first": seen[ext]}))
                current = None
                continue
            seen[ext] = n
            current = RawOrder(ext, n, {}, [])
        fields = current.fields
        for f, i in order_at:
            if cells[i] and not fields.get(f):
                fields[f] = cells[i]
        current.lines.append((n, {f: (cells[i] if i is not None else "") for f, i in line_at}))
    if current is not None:
        yield current


# ---------------------------------------------------------------- Taobao addresses

PROVINCES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东",
             "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏",
             "宁夏", "新疆", "香港", "澳门")
_POSTCODE_RE = re.compile(r"[(（]\s*(\d{6})\s*[)）]\s*$")
_ADDRESS_RE = re.compile(r"^(?P<city>.+?(?:市|自治州|地区|盟))?(?P<district>.+?(?:区|县|旗|市))?(?P<rest>.*)$")


def split_cn_address(text: str) -> dict | None:
    """收货地址 -> {region, city, district, line1, postcode}; None when the province is not one of China's 34.

    千牛 writes "浙江省 杭州市 西湖区 文三路100号(310000)": space-separated province, city, district, then
    the street, with the postcode in brackets at the end. Without spaces the parts are found by their
    suffixes (省/自治区/市, then 市/自治州/地区/盟, then 区/县/旗/市). A municipality's city repeats it
    (北京 北京市 朝阳区 …)."""
    text = (text or "").strip()
    postcode = ""
    m = _POSTCODE_RE.search(text)
    if m:
        postcode, text = m.group(1), text[:m.start()].strip()
    province = next((p for p in sorted(PROVINCES, key=len, reverse=True) if text.startswith(p)), None)
    if province is None:
        return None
    parts = text.split()
    if len(parts) >= 3:
        region, city = parts[0], parts[1]
        district = parts[2] if len(parts) >= 4 else ""
        street = " ".join(parts[3:] if len(parts) >= 4 else parts[2:])
    else:
        rest = text[len(province):]
        for suffix in ("省", "市", "壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区"):
            if rest.startswith(suffix):
                rest = rest[len(suffix):]
                break
        region = text[:len(text) - len(rest)]
        if province in ("北京", "天津", "上海", "重庆") and not rest.startswith(province):
            rest = region + rest if region.endswith("市") else rest
        parts_m = _ADDRESS_RE.match(rest.strip())
        city = (parts_m.group("city") or "").strip()
        district = (parts_m.group("district") or "").strip()
        street = (parts_m.group("rest") or "").strip()
    if not city or not street:
        return None
    return {"region": region, "city": city, "district": district, "line1": street, "postcode": postcode}
