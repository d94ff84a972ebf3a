"""Printable fulfillment documents (merchant schema): packing slips, shipping labels, pick lists, and the
bulk label job that prints many labels as one PDF.

PDFs are drawn with fpdf2 in an embedded CJK TrueType font (WenQuanYi Micro Hei, from the PyPI package
`paperang-p2-fonts-cjk`, byte-identical to Debian's fonts-wqy-microhei), so Chinese and Latin names and
addresses render on any machine. Code 128 and QR codes are drawn as vector rectangles, so they stay
sharp on 203-dpi thermal printers.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace

from core.errors import Conflict, NotFound, ValidationFailed
from core.tenancy import current_merchant, current_schema, merchant_only
from fulfillment.carriers import carrier_get
from fulfillment.models import Shipment
from suborders.models import SubOrder

logging.getLogger("fontTools").setLevel(logging.WARNING)  # fpdf2 subsets the font per PDF; INFO is a page of glyph names

FONT_FAMILY = "mallard-cjk"
LABEL_PAGE_MM = (100, 150)  # the 4×6-inch thermal label most Chinese and international carriers take
MAX_DOCUMENT_IDS = 500  # suborders on one pick list, shipments in one bulk label job


def font_path() -> Path:
    """The TrueType font embedded in every document. MALLARD_PDF_FONT (a .ttf/.ttc path) overrides it.

    A TrueType-outline font on purpose: fpdf2 embeds the CFF (OpenType/.otf) Noto CJK fonts through a
    custom code-to-CID CMap that viewers draw but common text extractors (pypdf) read back garbled.
    """
    override = os.environ.get("MALLARD_PDF_FONT")
    if override:
        return Path(override)
    import paperang_p2_fonts_cjk  # data-only package: the font file and nothing else

    return Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"


def _new_pdf(*, page=None, margin: float = 12) -> FPDF:
    pdf = FPDF(unit="mm", format=page or "A4")
    pdf.set_creator("Mallard")
    pdf.set_margins(margin, margin, margin)
    pdf.set_auto_page_break(True, margin=margin)
    pdf.add_font(FONT_FAMILY, "", str(font_path()))  # face 0 of the collection: Micro Hei (1 is its Mono)
    pdf.set_font(FONT_FAMILY, size=10)
    return pdf


def _output(pdf: FPDF) -> bytes:
    return bytes(pdf.output())


# ---------------------------------------------------------------- Code 128 (sets B and C)

# Bar/space widths of each symbol value, in modules (ISO/IEC 15417 table 1); 106 is the stop (7 elements).
CODE128_PATTERNS: tuple[str, ...] = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
    "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
    "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
    "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
    "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
    "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
    "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
)
CODE_C, CODE_B, START_B, START_C, STOP = 99, 100, 104, 105, 106
QUIET_MODULES = 10  # the quiet zone each side that scanners need


def _digit_run(text: str, i: int) -> int:
    n = i
    while n < len(text) and "0" <= text[n] <= "9":
        n += 1
    return n - i


def code128_values(text: str) -> list[int]:
    """Symbol values of `text` (start, data, checksum, stop), printable ASCII only.

    Set C packs digit pairs; it is used for 4+ digits at the start or end, 6+ in the middle (the
    ISO 15417 Annex E rules, which give the shortest symbol), so tracking numbers print small.
    """
    if not text:
        raise ValueError("Code 128 needs at least one character")
    bad = next((ch for ch in text if not 32 <= ord(ch) <= 126), None)
    if bad is not None:
        raise ValueError(f"Code 128 sets B/C cannot encode {bad!r}")
    n = len(text)
    lead = _digit_run(text, 0)
    values = [START_C] if lead >= 4 or lead == n == 2 else [START_B]
    charset = "C" if values[0] == START_C else "B"
    i = 0
    while i < n:
        run = _digit_run(text, i)
        if charset == "C":
            if run >= 2:
                for _k in range(run // 2):
                    values.append(int(text[i:i + 2]))
                    i += 2
                continue
            values.append(CODE_B)
            charset = "B"
            continue
        if run >= 6 or (run >= 4 and i + run == n):
            if run % 2:  # the odd digit goes in set B, the pairs after it in set C
                values.append(ord(text[i]) - 32)
                i += 1
            values.append(CODE_C)
            charset = "C"
            continue
        values.append(ord(text[i]) - 32)
        i += 1
    checksum = (values[0] + sum(pos * v for pos, v in enumerate(values[1:], start=1))) % 103
    return [*values, checksum, STOP]


def code128_widths(text: str) -> list[int]:
    """Alternating bar and space widths in modules, starting and ending with a bar (no quiet zone)."""
    return [int(w) for v in code128_values(text) for w in CODE128_PATTERNS[v]]


def draw_code128(pdf: FPDF, text: str, *, x: float, y: float, max_width: float, height: float) -> float:
    """Draw `text` as Code 128 centred in [x, x + max_width]; returns the width of the bars drawn.

    The module is a whole number of 203-dpi printer dots (0.125 mm) when it fits, which keeps every
    bar the same width on a thermal printer.
    """
    widths = code128_widths(text)
    modules = sum(widths) + 2 * QUIET_MODULES
    module = max_width / modules
    if module >= 0.25:
        module = min(0.5, int(module / 0.125) * 0.125)
    width = (modules - 2 * QUIET_MODULES) * module
    cursor = x + (max_width - width) / 2
    for k, w in enumerate(widths):
        if k % 2 == 0:
            pdf.rect(cursor, y, w * module, height, style="F")
        cursor += w * module
    return width


def draw_qr(pdf: FPDF, data: str, *, x: float, y: float, size: float) -> None:
    """A QR code (error correction M) with its 4-module quiet zone inside a size × size square."""
    qr = segno.make_qr(data, error="m")
    rows = list(qr.matrix_iter(border=0))
    module = size / (len(rows) + 8)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + (4 + start) * module, y + (4 + r) * module, (c - start) * module, module, style="F")
            else:
                c += 1


# ---------------------------------------------------------------- text helpers

def _fit(pdf: FPDF, text: str, *, x: float, y: float, w: float, h: float, size: float, min_size: float = 6,
         line: float = 1.25, align: str = "L") -> float:
    """Write `text` wrapped into the box (x, y, w, h), shrinking the font until it fits; returns the
    height used. Text is never dropped: below min_size it is written at min_size."""
    text = text or ""
    while True:
        pdf.set_font(FONT_FAMILY, size=size)
        lh = size * 0.3528 * line  # pt -> mm
        lines = pdf.multi_cell(w, lh, text, dry_run=True, output="LINES")
        if len(lines) * lh <= h or size <= min_size:
            break
        size = max(min_size, size - 0.5)
    pdf.set_xy(x, y)
    pdf.multi_cell(w, lh, text, align=align, new_x="LEFT", new_y="NEXT")
    return len(lines) * lh


def _heading(pdf: FPDF, en: str, zh: str, *, x: float, y: float) -> None:
    pdf.set_font(FONT_FAMILY, size=7)
    pdf.set_text_color(90)
    pdf.text(x, y, f"{en} · {zh}")
    pdf.set_text_color(0)


def address_lines(addr: dict) -> list[str]:
    """A shipping address (suborder JSON) as printed: street lines, then postcode city region, country."""
    addr = addr or {}
    tail = " ".join(str(addr.get(k) or "").strip() for k in ("postcode", "city", "region")).split()
    out = [str(addr.get("line1") or "").strip(), str(addr.get("line2") or "").strip(), " ".join(tail),
           str(addr.get("country") or "").strip()]
    return [s for s in out if s]


def _local(dt: datetime | None) -> str:
    if dt is None:
        return ""
    return dt.astimezone(ZoneInfo(settings.DISPLAY_TIME_ZONE)).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- reads

@dataclass(frozen=True)
class WarehouseInfo:
    pk: int
    code: str
    name: str
    address: str
    region: str


def _warehouses() -> dict[int, WarehouseInfo]:
    from catalog.selectors import warehouse_list

    return {w.pk: WarehouseInfo(w.pk, w.code, w.name, w.address, w.region) for w in warehouse_list()}


def _suborder(suborder_id: int) -> SubOrder:
    so = SubOrder.objects.prefetch_related("lines").filter(pk=suborder_id).first()
    if so is None:
        raise NotFound(_("No such suborder in this store."), field="suborder")
    return so


def _all_found(wanted: list[int], found, message: str) -> None:
    """NotFound naming the ids of `wanted` not in `found` (`message` has an %(ids)s placeholder)."""
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(message % {"ids": ", ".join(map(str, missing[:10]))}, field="ids")


def _shipments(shipment_ids: list[int]) -> list[Shipment]:
    rows = {s.pk: s for s in Shipment.objects.select_related("suborder").prefetch_related("lines__line")
            .filter(pk__in=shipment_ids)}
    _all_found(shipment_ids, rows, _("No such shipment in this store: %(ids)s."))
    return [rows[i] for i in shipment_ids]


@merchant_only
def suborders_to_pick(*, limit: int = 200) -> list[SubOrder]:
    """Accepted suborders with units still to ship, oldest first (the documents page offers them)."""
    return list(SubOrder.objects.filter(status__in=("accepted", "partially_shipped")).order_by("accepted_at", "id")[:limit])


@merchant_only
def shipments_recent(*, limit: int = 200) -> list[Shipment]:
    return list(Shipment.objects.select_related("suborder").order_by("-id")[:limit])


def parse_ids(raw: str | list[str], *, field_name: str = "ids") -> list[int]:
    """Ids from "1,2,3" (or several form values): ASCII digits only, at most MAX_DOCUMENT_IDS, in the
    order given, duplicates dropped. Anything else is a 400, never a 500."""
    parts = raw if isinstance(raw, list) else [raw]
    text = ",".join(p for p in parts if p is not None)
    if len(text) > MAX_DOCUMENT_IDS * 20:
        raise ValidationFailed(_("Too many ids."), field=field_name)
    ids: list[int] = []
    for token in text.replace(" ", ",").split(","):
        if not token:
            continue
        if not re.fullmatch(r"[0-9]{1,18}", token):
            raise ValidationFailed(_("Ids are whole numbers separated by commas."), field=field_name)
        value = int(token)
        if value not in ids:
            ids.append(value)
    if not ids:
        raise ValidationFailed(_("Choose at least one."), field=field_name)
    if len(ids) > MAX_DOCUMENT_IDS:
        raise ValidationFailed(_("At most %(n)s at a time.") % {"n": MAX_DOCUMENT_IDS}, field=field_name)
    return ids


# ---------------------------------------------------------------- packing slip

_TABLE_HEAD = FontFace(emphasis=None, fill_color=(235, 235, 235))


@merchant_only
def packing_slip_pdf(*, suborder_id: int) -> bytes:
    """The slip packed with a suborder: store, order and suborder numbers, recipient, the accepted lines."""
    so = _suborder(suborder_id)
    lines = [ln for ln in so.lines.all() if ln.accepted_qty]
    if not lines:
        raise Conflict(_("Nothing of suborder %(number)s is accepted yet, so there is nothing to pack.")
                       % {"number": so.number}, field="suborder")
    merchant = current_merchant()
    wh = _warehouses().get(so.warehouse_id)
    pdf = _new_pdf()
    pdf.set_title(f"Packing slip {so.number}")
    pdf.add_page()
    left, top, qr = pdf.l_margin, pdf.t_margin, 32
    page_w = pdf.w - pdf.l_margin - pdf.r_margin
    draw_qr(pdf, so.order_number, x=pdf.w - pdf.r_margin - qr, y=top - 2, size=qr)
    _fit(pdf, merchant.name, x=left, y=top, w=page_w - qr - 4, h=10, size=18)
    pdf.set_font(FONT_FAMILY, size=12)
    pdf.set_xy(left, top + 11)
    pdf.cell(text="Packing slip · 装箱单")
    info = [("Order · 订单", so.order_number), ("Suborder · 子订单", so.number), ("Ordered · 下单时间", _local(so.created_at)),
            ("Warehouse · 仓库", f"{wh.code} {wh.name}" if wh else so.warehouse_name),
            ("Shipping · 配送", so.shipping_method or "—")]
    y = top + 19
    for label, value in info:
        pdf.set_font(FONT_FAMILY, size=8)
        pdf.set_text_color(90)
        pdf.text(left, y + 3.5, label)
        pdf.set_text_color(0)
        pdf.set_font(FONT_FAMILY, size=11)
        pdf.text(left + 36, y + 3.5, value)
        y += 5.5
    y = max(y, top + qr) + 4
    addr = so.shipping_address or {}
    _heading(pdf, "Ship to", "收件人", x=left, y=y)
    y += 2
    y += _fit(pdf, " ".join(s for s in (str(addr.get("name") or ""), str(addr.get("phone") or "")) if s),
              x=left, y=y, w=page_w, h=12, size=13)
    y += _fit(pdf, "\n".join(address_lines(addr)), x=left, y=y, w=page_w, h=30, size=11) + 4
    pdf.set_xy(left, y)
    pdf.set_font(FONT_FAMILY, size=10)
    with pdf.table(col_widths=(28, 56, 16), headings_style=_TABLE_HEAD, text_align=("LEFT", "LEFT", "RIGHT"),
                   line_height=5.5, padding=1.2) as table:
        head = table.row()
        for t in ("SKU", "Product · 商品", "Qty · 数量"):
            head.cell(t)
        for ln in lines:
            row = table.row()
            row.cell(ln.sku)
            row.cell(ln.name)
            row.cell(str(ln.accepted_qty))
    units = sum(ln.accepted_qty for ln in lines)
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, size=10)
    pdf.cell(text=f"Units · 件数: {units}", new_x="LMARGIN", new_y="NEXT")
    not_listed = [ln for ln in so.lines.all() if not ln.accepted_qty]
    if not_listed:
        pdf.set_font(FONT_FAMILY, size=8)
        pdf.set_text_color(90)
        pdf.multi_cell(0, 4, "Not in this parcel (refused or cancelled) · 未发货: " + ", ".join(ln.sku for ln in not_listed))
        pdf.set_text_color(0)
    return _output(pdf)


# ---------------------------------------------------------------- shipping label

def _draw_label(pdf: FPDF, shipment: Shipment, *, store: str, warehouse: WarehouseInfo | None) -> None:
    so = shipment.suborder
    pdf.add_page()
    m = 4.0
    w = pdf.w - 2 * m
    carrier = carrier_get(shipment.carrier)
    carrier_name = carrier.name if carrier else shipment.carrier.upper()
    # carrier and service
    _fit(pdf, carrier_name, x=m, y=m, w=w * 0.68, h=7, size=14, min_size=9)
    pdf.set_font(FONT_FAMILY, size=9)
    parcels = f"{shipment.parcels} parcel{'s' if shipment.parcels != 1 else ''} · {shipment.parcels}件"
    if shipment.weight_g:
        parcels += f" · {shipment.weight_g / 1000:.2f} kg"
    pdf.set_xy(m + w * 0.68, m + 0.5)
    pdf.cell(w * 0.32, 5, parcels, align="R")
    if shipment.service:
        pdf.set_xy(m + w * 0.68, m + 5)
        pdf.cell(w * 0.32, 4, shipment.service[:40], align="R")
    pdf.set_line_width(0.3)
    pdf.line(m, 13, m + w, 13)
    # tracking number: Code 128 and the digits under it
    draw_code128(pdf, shipment.tracking_number, x=m, y=15, max_width=w, height=20)
    pdf.set_font(FONT_FAMILY, size=12)
    pdf.set_xy(m, 36)
    pdf.cell(w, 5, shipment.tracking_number, align="C")
    pdf.line(m, 43, m + w, 43)
    # recipient
    addr = so.shipping_address or {}
    _heading(pdf, "To", "收件人", x=m, y=47)
    y = 48.5
    y += _fit(pdf, str(addr.get("name") or ""), x=m, y=y, w=w, h=9, size=16, min_size=10)
    y += _fit(pdf, str(addr.get("phone") or ""), x=m, y=y, w=w, h=6, size=12, min_size=9)
    _fit(pdf, "\n".join(address_lines(addr)), x=m, y=y + 0.5, w=w, h=86 - y, size=12, min_size=7)
    pdf.line(m, 88, m + w, 88)
    # sender: the shipping warehouse
    _heading(pdf, "From", "寄件人", x=m, y=92)
    sender = [store, f"{warehouse.name} ({warehouse.code})" if warehouse else so.warehouse_name]
    if warehouse and warehouse.address:
        sender.append(warehouse.address)
    if warehouse and warehouse.region:
        sender.append(warehouse.region)
    _fit(pdf, "\n".join(sender), x=m, y=93.5, w=w, h=21, size=9, min_size=6)
    pdf.line(m, 116, m + w, 116)
    # order: QR of the order number, and the numbers a packer or the shopper quotes
    qr = 30.0
    draw_qr(pdf, so.order_number, x=m - 1, y=117, size=qr)
    units = sum(sl.quantity for sl in shipment.lines.all())
    facts = [("Order · 订单", so.order_number), ("Suborder · 子订单", so.number),
             ("Units · 件数", str(units)), ("Shipped · 发货", _local(shipment.shipped_at))]
    y = 120.0
    for label, value in facts:
        pdf.set_font(FONT_FAMILY, size=6.5)
        pdf.set_text_color(90)
        pdf.text(m + qr + 1, y, label)
        pdf.set_text_color(0)
        pdf.set_font(FONT_FAMILY, size=9.5)
        pdf.text(m + qr + 1, y + 3.8, value)
        y += 7.2


def _label_document(count: int) -> FPDF:
    pdf = _new_pdf(page=LABEL_PAGE_MM, margin=4)
    pdf.set_auto_page_break(False)  # one label, one page: the layout is fixed, text shrinks to fit
    pdf.set_title("Shipping labels" if count > 1 else "Shipping label")
    return pdf


@merchant_only
def shipping_label_pdf(*, shipment_id: int) -> bytes:
    """One 100 × 150 mm label: carrier, Code 128 of the tracking number, recipient, sender, QR of the order."""
    (shipment,) = _shipments([shipment_id])
    pdf = _label_document(1)
    _draw_label(pdf, shipment, store=current_merchant().name, warehouse=_warehouses().get(shipment.warehouse_id))
    return _output(pdf)


# ---------------------------------------------------------------- pick list

@dataclass
class PickRow:
    bin_location: str
    sku: str
    name: str
    quantity: int = 0
    suborders: list[tuple[str, int]] = field(default_factory=list)  # (suborder number, units)


@merchant_only
def pick_rows(*, suborder_ids: list[int]) -> tuple[dict[int, list[PickRow]], list[str]]:
    """What to pick for these suborders: per warehouse, one row per (bin, SKU) with the units still to
    ship (accepted − shipped) summed, and which suborders want them. Also the suborder numbers with
    nothing left to pick."""
    from catalog.models import StockLevel

    found = {so.pk: so for so in SubOrder.objects.prefetch_related("lines").filter(pk__in=suborder_ids)}
    _all_found(suborder_ids, found, _("No such suborder in this store: %(ids)s."))
    wanted = [(so, ln) for so in (found[i] for i in suborder_ids) for ln in so.lines.all() if ln.to_ship_qty > 0]
    bins = {(v, w): b for v, w, b in StockLevel.objects.filter(
        variant_id__in={ln.variant_id for _so, ln in wanted}, warehouse_id__in={so.warehouse_id for so, _ln in wanted},
    ).values_list("variant_id", "warehouse_id", "bin_location")}
    rows: dict[int, dict[tuple[str, str], PickRow]] = defaultdict(dict)
    for so, ln in wanted:
        bin_location = bins.get((ln.variant_id, so.warehouse_id), "")
        row = rows[so.warehouse_id].setdefault((bin_location, ln.sku), PickRow(bin_location, ln.sku, ln.name))
        row.quantity += ln.to_ship_qty
        row.suborders.append((so.number, ln.to_ship_qty))
    # bins in walking order (natural sort: A-2 before A-10), unassigned bins last
    def order(row: PickRow):
        key = [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", row.bin_location.upper())]
        return (row.bin_location == "", key, row.sku)

    grouped = {wh: sorted(r.values(), key=order) for wh, r in rows.items()}
    idle = [found[i].number for i in suborder_ids if not any(ln.to_ship_qty > 0 for ln in found[i].lines.all())]
    return grouped, idle


@merchant_only
def pick_list_pdf(*, suborder_ids: list[int]) -> bytes:
    grouped, idle = pick_rows(suborder_ids=suborder_ids)
    if not grouped:
        raise Conflict(_("Nothing of these suborders is left to pick."), field="ids")
    warehouses = _warehouses()
    pdf = _new_pdf()
    pdf.set_title("Pick list")
    pdf.add_page()
    pdf.set_font(FONT_FAMILY, size=16)
    pdf.cell(h=9, text=f"{current_merchant().name} · Pick list · 拣货单", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, size=9)
    count = len(suborder_ids) - len(idle)
    pdf.cell(h=5, text=f"{_local(timezone.now())} · {count} suborder{'s' if count != 1 else ''} · {count}个子订单",
             new_x="LMARGIN", new_y="NEXT")
    for wh_id in sorted(grouped, key=lambda k: (warehouses[k].code if k in warehouses else "", k)):
        wh = warehouses.get(wh_id)
        pdf.ln(4)
        pdf.set_font(FONT_FAMILY, size=12)
        pdf.multi_cell(0, 6, f"Warehouse · 仓库: {wh.code} {wh.name}" if wh else f"Warehouse · 仓库 #{wh_id}",
                       new_x="LMARGIN", new_y="NEXT")
        if wh and wh.address:
            pdf.set_font(FONT_FAMILY, size=8)
            pdf.multi_cell(0, 4, wh.address, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        pdf.set_font(FONT_FAMILY, size=9)
        with pdf.table(col_widths=(13, 22, 33, 10, 35), headings_style=_TABLE_HEAD, line_height=4.8, padding=1,
                       text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "LEFT")) as table:
            head = table.row()
            for t in ("Bin · 库位", "SKU", "Product · 商品", "Qty · 数量", "Suborders · 子订单"):
                head.cell(t)
            for r in grouped[wh_id]:
                row = table.row()
                row.cell(r.bin_location or "—")
                row.cell(r.sku)
                row.cell(r.name)
                row.cell(str(r.quantity))
                row.cell(", ".join(f"{number} ×{q}" for number, q in r.suborders))
    if idle:
        pdf.ln(3)
        pdf.set_font(FONT_FAMILY, size=8)
        pdf.multi_cell(0, 4, "Nothing left to pick · 无需拣货: " + ", ".join(idle), new_x="LMARGIN", new_y="NEXT")
    return _output(pdf)


# ---------------------------------------------------------------- bulk labels as one PDF (Celery job)
#
# A job is a JSON state file next to the PDF it produces, under var/documents/<schema>/label-jobs/
# (MALLARD_DOCUMENTS_DIR moves the root; with several hosts it must be a shared volume, as it must be
# for the PDF itself). Files rather than the cache: the demo's cache is per process, and the web and
# the worker are different processes. Every write is a rename of a complete file, so a poll never
# reads half a state or half a PDF.

JOB_KEEP = timedelta(days=7)
PROGRESS_EVERY_S = 0.5


@dataclass
class LabelJob:
    id: str
    status: str  # queued | running | done | failed
    shipment_ids: list[int]
    total: int
    done: int = 0
    actor_id: int | None = None
    created_at: str = ""
    finished_at: str = ""
    message: str = ""

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def as_status(self) -> dict:
        return {"status": self.status, "done": self.done, "total": self.total, "percent": self.percent,
                "message": self.message}


def _jobs_dir() -> Path:
    root = os.environ.get("MALLARD_DOCUMENTS_DIR") or str(settings.BASE_DIR / "var" / "documents")
    return Path(root) / current_schema() / "label-jobs"


def _job_id(job_id) -> str:
    try:
        return str(uuid.UUID(str(job_id)))
    except ValueError:
        raise NotFound(_("No such label job in this store."), field="job") from None


@merchant_only
def label_job_pdf_path(job_id: str) -> Path:
    return _jobs_dir() / f"{_job_id(job_id)}.pdf"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _save(job: LabelJob) -> None:
    _write_atomically(_jobs_dir() / f"{job.id}.json", json.dumps(job.__dict__).encode())


def _prune_old_jobs(now: float) -> None:
    folder = _jobs_dir()
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        try:
            if now - path.stat().st_mtime > JOB_KEEP.total_seconds():
                path.unlink()
        except FileNotFoundError:  # another process pruned it first
            pass


@merchant_only
def label_job_get(*, job_id) -> LabelJob:
    path = _jobs_dir() / f"{_job_id(job_id)}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotFound(_("No such label job in this store."), field="job") from None
    return LabelJob(**data)


@merchant_only
def label_job_create(*, shipment_ids: list[int], actor) -> LabelJob:
    """Queue one PDF of these shipments' labels (in this order). The Celery task carries the schema."""
    from permissions.policy import authorize

    authorize(actor, "suborders.ship", merchant=current_merchant())
    if not shipment_ids or len(shipment_ids) > MAX_DOCUMENT_IDS:
        raise ValidationFailed(_("Choose between 1 and %(n)s shipments.") % {"n": MAX_DOCUMENT_IDS}, field="ids")
    # every shipment exists in this store, or NotFound now rather than later in the worker
    _all_found(shipment_ids, set(Shipment.objects.filter(pk__in=shipment_ids).values_list("pk", flat=True)),
               _("No such shipment in this store: %(ids)s."))
    _prune_old_jobs(time.time())
    job = LabelJob(id=str(uuid.uuid4()), status="queued", shipment_ids=list(shipment_ids), total=len(shipment_ids),
                   actor_id=getattr(actor, "pk", None), created_at=datetime.now(UTC).isoformat())
    _save(job)
    from fulfillment.tasks import labels_job_run_task

    try:
        labels_job_run_task.apply_async(kwargs={"job_id": job.id}, ignore_result=True)
    except Exception:  # no broker: print in this request rather than leave the page waiting forever
        return label_job_run(job_id=job.id)
    return job


@merchant_only
def label_job_run(*, job_id) -> LabelJob:
    """Draw every label of the job into one PDF, recording progress as it goes. Idempotent: a finished
    job is returned as it is; a re-delivered one is drawn again from the start into the same file."""
    job = label_job_get(job_id=job_id)
    if job.status == "done" and label_job_pdf_path(job.id).exists():
        return job
    job.status, job.done, job.message = "running", 0, ""
    _save(job)
    try:
        shipments = _shipments(job.shipment_ids)
        warehouses = _warehouses()
        store = current_merchant().name
        pdf = _label_document(len(shipments))
        last = time.monotonic()
        for k, shipment in enumerate(shipments, start=1):
            _draw_label(pdf, shipment, store=store, warehouse=warehouses.get(shipment.warehouse_id))
            if time.monotonic() - last >= PROGRESS_EVERY_S:
                job.done = k
                _save(job)
                last = time.monotonic()
        _write_atomically(label_job_pdf_path(job.id), _output(pdf))
    except NotFound as err:  # a shipment vanished since the job was queued: retrying cannot help
        job.status, job.message, job.finished_at = "failed", err.message, datetime.now(UTC).isoformat()
        _save(job)
        return job
    except Exception:
        job.status, job.message = "failed", _("Printing the labels failed; try again.")
        _save(job)
        raise
    job.status, job.done, job.finished_at = "done", job.total, datetime.now(UTC).isoformat()
    _save(job)
    return job
