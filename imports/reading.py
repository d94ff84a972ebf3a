"""An order file's orders, checked field by field: RawOrder (formats) -> ParsedOrder (our units) ->
ChannelOrder (stores and variants resolved, orders.services.channel). Every problem is a RowError naming
the row and the field; nothing here writes."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from core.inputs import is_ascii_digits
from core.money import Money, exponent
from imports.formats import (
    FORMATS,
    MALLARD,
    SHOPIFY,
    TAOBAO,
    FileRejected,
    Format,
    RowError,
    Table,
    column_mapping,
    detect_format,
    grouped_orders,
    split_cn_address,
)

MAX_QUANTITY = 9999
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PAID_SHOPIFY = {"paid"}
UNPAID_TAOBAO = {"等待买家付款", "交易关闭", "TRADE_CLOSED", "WAIT_BUYER_PAY"}
CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# A plain non-negative amount (most cells of a file): read directly; anything else goes through Money.parse,
# which bounds, refuses and explains. 12 digits before the point stay far below core.money's MAX_MINOR.
_PLAIN_AMOUNT = re.compile(r"^([0-9]{1,12})(?:\.([0-9]{1,4}))?$")
_EXPONENTS: dict[str, int] = {}


def _exponent(currency: str) -> int:
    """The currency's decimals; -1 for an unknown currency (then Money.parse names the problem)."""
    if currency not in _EXPONENTS:
        try:
            _EXPONENTS[currency] = exponent(currency)
        except ValidationFailed:
            return -1
    return _EXPONENTS[currency]


@dataclass
class ParsedLine:
    row: int
    merchant: str  # the store's slug as written ("" = the importing store)
    sku: str
    quantity: int
    unit_price_minor: int
    discount_minor: int
    shipping_minor: int = 0


@dataclass
class ParsedOrder:
    external_id: str
    row: int
    email: str
    currency: str
    address: dict
    created_at: datetime
    discount_minor: int
    shipping_method: str
    lines: list[ParsedLine] = field(default_factory=list)


def clean_channel(value: str) -> str:
    text = (value or "").strip().lower()
    if not CHANNEL_RE.match(text) or text == "mallard":
        raise ValidationFailed(_("A channel is 1–32 lowercase letters, digits, - or _ (not “mallard”), e.g. shopify."),
                               field="channel")
    return text


def open_file(path: str, format_code: str = "") -> tuple[Table, Format]:
    """Open the file, settle its format (given, or recognised from the header) and check its columns."""
    table = Table(path)
    fmt = FORMATS.get(format_code) if format_code else detect_format(table.header)
    if fmt is None:
        raise FileRejected([RowError(1, "format", _("The columns match none of the formats we read (Mallard, Shopify, 淘宝千牛); "
                                                  "choose the format or see the documented columns."))])
    column_mapping(fmt, table.header)  # FileRejected naming every missing column
    return table, fmt


def parsed_orders(table: Table, fmt: Format, errors: list[RowError], *, store_column: bool = True) -> Iterator[ParsedOrder]:
    """Every order of the file that parsed; each problem appended to `errors` (the order is then left out).

    `store_column` False: the file's store column is not read (a store's own Shopify or Taobao export,
    whose Vendor / 店铺 name brands and shops, not Mallard stores)."""
    mapping = column_mapping(fmt, table.header)
    if not store_column:
        mapping.index.pop("merchant", None)
    for raw in grouped_orders(table, mapping, errors):
        order = _parse(raw, fmt, errors)
        if order is not None:
            yield order


def _money(text: str, currency: str, *, row: int, column: str, errors: list, default: int | None = 0) -> int | None:
    text = (text or "").strip().replace(",", "")
    for sign in ("¥", "￥", "$", "€", "£"):
        text = text.replace(sign, "")
    if not text:
        if default is None:
            errors.append(RowError(row, column, _("An amount is required.")))
        return default
    fast = _PLAIN_AMOUNT.match(text)
    if fast and 0 <= len(fast.group(2) or "") <= _exponent(currency):  # "129.90": what Money.parse would give, without its cost
        exp = _exponent(currency)
        return int(fast.group(1)) * 10**exp + int((fast.group(2) or "").ljust(exp, "0") or 0)
    try:
        minor = Money.parse(text, currency, field=column).minor
    except ValidationFailed as exc:
        errors.append(RowError(row, column, str(exc.message)))
        return None
    if minor < 0:
        errors.append(RowError(row, column, _("%(text)s is negative; amounts are 0 or more.") % {"text": text}))
        return None
    return minor


def _quantity(text: str, *, row: int, column: str, errors: list) -> int | None:
    text = (text or "").strip()
    if text.endswith(".0"):  # spreadsheets write whole numbers as 2.0
        text = text[:-2]
    if not is_ascii_digits(text, max_length=6) or not 1 <= int(text) <= MAX_QUANTITY:
        errors.append(RowError(row, column, _("The quantity must be a whole number from 1 to %(max)s, not %(text)s.")
                               % {"max": MAX_QUANTITY, "text": repr(text[:20])}))
        return None
    return int(text)


def _created_at(text: str, *, row: int, column: str, errors: list) -> datetime:
    text = (text or "").strip()
    if not text:
        return timezone.now()
    value = parse_datetime(text.replace("/", "-")) if len(text) <= 40 else None
    if value is None and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? [+-]\d{4}", text):  # Shopify: 2024-01-15 10:23:45 +0800
        value = parse_datetime(text[:-6].strip() + text[-5:-2] + ":" + text[-2:])
    if value is None:
        errors.append(RowError(row, column, _("%(text)s is not a date and time such as 2024-01-15 10:23:45.") % {"text": repr(text[:40])}))
        return timezone.now()
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value


def _parse(raw, fmt: Format, errors: list) -> ParsedOrder | None:
    before = len(errors)
    f, col, row = raw.fields, fmt.columns, raw.row
    currency = (f.get("currency") or fmt.default_currency).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors.append(RowError(row, col["currency"], _("%(c)s is not a currency code such as CNY.") % {"c": repr(currency[:10])}))
        currency = fmt.default_currency
    status = (f.get("paid_status") or "").strip()
    if fmt is SHOPIFY and status and status.lower() not in PAID_SHOPIFY:
        errors.append(RowError(row, col["paid_status"], _("Only paid orders are imported; this one is %(s)s.") % {"s": status}))
    if fmt is TAOBAO and status in UNPAID_TAOBAO:
        errors.append(RowError(row, col["paid_status"], _("Only paid orders are imported; this one is %(s)s.") % {"s": status}))
    email = (f.get("email") or "").strip().lower()
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        errors.append(RowError(row, col["email"], _("%(e)s is not an email address.") % {"e": repr(email[:60])}))
    address = _address(f, fmt, row, errors)
    created_at = _created_at(f.get("created_at", ""), row=row, column=col["created_at"], errors=errors)
    discount = _money(f.get("discount", ""), currency, row=row, column=col.get("discount", "discount"), errors=errors) or 0
    lines: list[ParsedLine] = []
    merged: dict[tuple[str, str], ParsedLine] = {}
    for n, ln in raw.lines:
        sku = ln["sku"].strip()
        if not sku:
            errors.append(RowError(n, col["sku"], _("The SKU is empty.")))
        qty = _quantity(ln["quantity"], row=n, column=col["quantity"], errors=errors)
        price = _money(ln["unit_price"], currency, row=n, column=col["unit_price"], errors=errors, default=None)
        line_discount = _money(ln.get("line_discount", ""), currency, row=n, column=col.get("line_discount", "discount"), errors=errors)
        shipping = _money(ln.get("shipping", ""), currency, row=n, column=col["shipping"], errors=errors) if fmt is MALLARD else 0
        if not sku or qty is None or price is None or line_discount is None or shipping is None:
            continue
        if line_discount > price * qty:
            errors.append(RowError(n, col.get("line_discount", "discount"), _("The discount is more than the line costs.")))
            continue
        merchant = ln.get("merchant", "").strip().lower()
        key = (merchant, sku)
        if key in merged:  # the same SKU twice in an order: one line, as checkout merges them
            prev = merged[key]
            if prev.unit_price_minor != price:
                errors.append(RowError(n, col["unit_price"], _("%(sku)s appears twice in order %(id)s at different prices.")
                                       % {"sku": sku, "id": raw.external_id}))
                continue
            prev.quantity += qty
            prev.discount_minor += line_discount
            prev.shipping_minor += shipping
            continue
        merged[key] = ParsedLine(n, merchant, sku, qty, price, line_discount, shipping)
        lines.append(merged[key])
    if not lines and len(errors) == before:
        errors.append(RowError(row, col["sku"], _("The order has no lines.")))
    if len(errors) > before:
        return None
    if fmt is not MALLARD:  # an order-level shipping charge: the store of the first line ships it
        lines[0].shipping_minor = _money(f.get("shipping", ""), currency, row=row, column=col["shipping"], errors=errors) or 0
    if fmt is TAOBAO and f.get("goods_total"):  # 买家应付货款 is what the goods cost after the shop's discounts
        goods = _money(f["goods_total"], currency, row=row, column=col["goods_total"], errors=errors)
        gross = sum(ln.unit_price_minor * ln.quantity - ln.discount_minor for ln in lines)
        if goods is not None:
            if goods > gross:
                errors.append(RowError(row, col["goods_total"], _("买家应付货款 is more than the items cost (%(g)s).")
                                       % {"g": Money(gross, currency).format()}))
            discount = gross - goods
    gross = sum(ln.unit_price_minor * ln.quantity - ln.discount_minor for ln in lines)
    if discount > gross:
        errors.append(RowError(row, col.get("discount", "discount"), _("The discount is more than the items cost.")))
    total = sum(ln.shipping_minor for ln in lines) + gross - discount
    if f.get("total") and fmt in (SHOPIFY, TAOBAO):
        stated = _money(f["total"], currency, row=row, column=col["total"], errors=errors)
        if stated is not None and fmt is TAOBAO and stated != total:
            errors.append(RowError(row, col["total"], _("总金额 %(t)s is not goods + shipping (%(c)s).")
                                   % {"t": Money(stated, currency).format(), "c": Money(total, currency).format()}))
    if len(errors) > before:
        return None
    return ParsedOrder(raw.external_id, row, email, currency, address or {}, created_at, discount,
                       (f.get("shipping_method") or "")[:120], lines)


# A stand-in phone for the one check a channel's order may fail through no fault of the buyer: Shopify
# leaves the shipping phone empty when the shop does not ask for it. Every other part of the address is
# checked exactly as checkout checks it (accounts.regions.address_check); the stand-in is never stored.
_PHONE_STAND_IN = {"CN": "13800000000"}


def _address(f: dict, fmt: Format, row: int, errors: list) -> dict | None:
    """The order's address as checkout stores it (name, phone, line1, line2, city, district, region, postcode,
    country), checked by accounts.regions.address_check: the country must be one the mall ships to, a Chinese
    province (and city and district, when they are the data's) must exist, postcodes fit their country."""
    from accounts.regions import address_check

    col = fmt.columns
    if fmt is TAOBAO:
        split = split_cn_address(f.get("address", ""))
        if split is None:
            errors.append(RowError(row, col["address"], _("收货地址 must start with a province (省/自治区/直辖市), then the city, "
                                                          "district and street, e.g. 浙江省 杭州市 西湖区 文三路100号.")))
            return None
        out = {"name": f.get("name", ""), "phone": f.get("phone", ""), "line1": split["line1"], "line2": "",
               "city": split["city"], "district": split["district"], "region": split["region"], "postcode": split["postcode"],
               "country": "CN"}
    else:
        out = {k: f.get(k, "") for k in ("name", "phone", "line1", "line2", "city", "district", "region", "postcode", "country")}
        out["country"] = (out["country"] or fmt.default_country).upper()
    limits = {"name": 100, "phone": 30, "line1": 200, "line2": 200, "city": 100, "district": 100, "region": 60, "postcode": 20}
    ok = True
    for key in ("name", "line1", "city"):
        if not out[key]:
            errors.append(RowError(row, col.get(key, col.get("address", key)), _("This is required.")))
            ok = False
    for key, limit in limits.items():
        if len(out[key]) > limit:
            errors.append(RowError(row, col.get(key, col.get("address", key)), _("At most %(n)s characters.") % {"n": limit}))
            ok = False
    if not ok:
        return None
    phone = out["phone"]
    if not phone:
        out["phone"] = _PHONE_STAND_IN.get(out["country"], "+1 555 0100")
    try:
        checked = address_check(out, field="address")
    except ValidationFailed as exc:
        part = (exc.field or "address.country").split(".", 1)[-1]
        column = col.get(part) or col.get("address") or col.get("region") or part
        errors.append(RowError(row, column, str(exc.message)))
        return None
    checked["phone"] = phone
    return checked
