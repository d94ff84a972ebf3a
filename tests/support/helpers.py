"""Support test helpers: a paid order of the shopper at acme (and optionally globex), a ticket on it."""
from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

from tests.payments.helpers import pay, place_order

SH = ZoneInfo("Asia/Shanghai")


def local(y, m, d, hh=0, mm=0) -> dt.datetime:
    """An instant given in Shanghai time (the default support zone)."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


def paid_order(mall, *, stores=("acme",), shopper=None, qty=2, price_minor=1999):
    order, items = place_order(mall, stores=stores, qty=qty, price_minor=price_minor, shopper=shopper)
    pay(order)
    return order


def open_ticket(mall, order, *, merchant=None, shopper=None, now=None, priority="normal", subject="Torn flysheet",
                body="The tent arrived torn.", files=None):
    from support.services import ticket_open

    ticket, _created = ticket_open(shopper=shopper or mall.users["shopper"], order_number=order.number,
                                   merchant_id=(merchant or mall.acme).pk, subject=subject, body=body, priority=priority,
                                   files=files, now=now)
    return ticket


def png_bytes(size=(4, 4)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


PDF_BYTES = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
             b"trailer<</Root 1 0 R>>\n%%EOF\n")
