"""The notifications Mallard sends: one kind per message, with who receives it, the variables its
templates may use, and the sample values the console's preview renders them with."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

SHOPPER, MERCHANT = "shopper", "merchant"
EMAIL, SMS = "email", "sms"
CHANNELS = (EMAIL, SMS)
LANGUAGES = ("en", "zh-hans")


@dataclass(frozen=True)
class NoticeKind:
    key: str
    label: object
    audience: str  # SHOPPER: preferences apply, SMS possible; MERCHANT: the store's contact email
    variables: tuple[str, ...]
    sample: dict = field(default_factory=dict)
    branded: bool = False  # a store's shopper email: the store's display name, logo and footer apply


# order_link: the order's signed link (accounts.selectors.guest_link_path), opens it with or without an account
_SAMPLE_ORDER = {"number": "M-20261203-0042", "mall_host": "mall.example",
                 "order_link": "http://mall.example/o/eyJuIjoiTS0yMDI2MTIwMy0wMDQyIn0:1abc:sig/"}
_SAMPLE_STORE = {**_SAMPLE_ORDER, "store": "Acme Outfitters"}
_SAMPLE_LINES = [{"quantity": 2, "sku": "TENT-2P-GRN"}, {"quantity": 1, "sku": "LAMP-USB"}]
_WHEN = dt.datetime(2026, 12, 4, 10, 30, tzinfo=dt.UTC)

KINDS: dict[str, NoticeKind] = {k.key: k for k in [
    NoticeKind("merchant_welcome", _("Welcome of a new store"), MERCHANT, ("name", "host", "mall_host"),
               {"name": "Acme Outfitters", "host": "acme.mall.example", "mall_host": "mall.example"}),
    NoticeKind("order_placed", _("Order placed"), SHOPPER, ("number", "total", "stores", "mall_host", "order_link"),
               {**_SAMPLE_ORDER, "total": "CNY 128.00", "stores": 2}),
    NoticeKind("order_expired", _("Unpaid order cancelled"), SHOPPER, ("number", "mall_host", "order_link"), dict(_SAMPLE_ORDER)),
    # support tickets (support/handlers.py): never an internal note's text, only visible messages
    NoticeKind("ticket_replied", _("A store or the mall answered a ticket"), SHOPPER,
               ("store", "ticket", "subject", "message", "number", "link"),
               {**_SAMPLE_STORE, "ticket": "T-000042", "subject": "Tent arrived with a torn flysheet",
                "message": "Sorry about that! We are sending a replacement flysheet today.",
                "link": "http://mall.example/support/tickets/42/"}, branded=True),
    NoticeKind("dispute_decided", _("The mall decided a dispute"), SHOPPER,
               ("store", "ticket", "subject", "outcome", "amount", "reason", "link"),
               {"store": "Acme Outfitters", "ticket": "T-000042", "subject": "Tent arrived with a torn flysheet",
                "outcome": "Refund at the mall's cost", "amount": "CNY 59.00", "reason": "The photos show the damage.",
                "link": "http://mall.example/support/tickets/42/"}),
    NoticeKind("merchant_ticket_opened", _("New support ticket (to the store)"), MERCHANT,
               ("ticket", "subject", "number", "priority", "link"),
               {"ticket": "T-000042", "subject": "Tent arrived with a torn flysheet", "number": "M-20261203-0042",
                "priority": "normal", "link": "http://acme.mall.example/tickets/42/"}),
    NoticeKind("merchant_ticket_sla", _("Ticket SLA about to be missed, or missed (to the store)"), MERCHANT,
               ("ticket", "subject", "clock", "due", "breached", "link"),
               {"ticket": "T-000042", "subject": "Tent arrived with a torn flysheet", "clock": "first response",
                "due": _WHEN, "breached": False, "link": "http://acme.mall.example/tickets/42/"}),
    NoticeKind("export_ready", _("An export is ready to download (to its asker)"), MERCHANT,
               ("what", "format", "rows", "expires", "link"),
               {"what": "Suborders", "format": "XLSX", "rows": 1234, "expires": _WHEN,
                "link": "http://acme.mall.example/exports/5f0c/"}),
    NoticeKind("suborder_accepted", _("A store accepted the order"), SHOPPER, ("store", "number", "mall_host", "order_link"),
               dict(_SAMPLE_STORE), branded=True),
    NoticeKind("suborder_refused", _("A store could not fulfil items"), SHOPPER,
               ("store", "number", "lines", "reason", "mall_host", "order_link"),
               {**_SAMPLE_STORE, "lines": _SAMPLE_LINES, "reason": "out of stock"}, branded=True),
    NoticeKind("suborder_cancelled", _("Items of the order were cancelled"), SHOPPER,
               ("store", "number", "lines", "reason", "mall_host", "order_link"),
               {**_SAMPLE_STORE, "lines": _SAMPLE_LINES[:1], "reason": "cancelled at your request"}, branded=True),
    NoticeKind("suborder_shipped", _("A store shipped the order"), SHOPPER, ("store", "number", "shipments", "mall_host", "order_link"),
               {**_SAMPLE_STORE, "shipments": [{"carrier": "SF Express", "number": "SF1234567890123",
                                                "link": "https://www.sf-express.com/", "eta": _WHEN}]}, branded=True),
    NoticeKind("suborder_delivered", _("The order was delivered"), SHOPPER, ("store", "number", "mall_host", "order_link"),
               dict(_SAMPLE_STORE), branded=True),
    NoticeKind("merchant_suborder_paid", _("New suborder to accept (to the store)"), MERCHANT, ("number", "deadline", "host"),
               {"number": "S-ACME-000042", "deadline": _WHEN, "host": "acme.mall.example"}),
    NoticeKind("return_updated", _("A return, exchange or refund-only request moved on"), SHOPPER,
               ("store", "number", "return_number", "status", "action", "reason", "refund", "mall_host"),
               {**_SAMPLE_STORE, "return_number": "M-20261203-0042-ACME1-R1", "status": "Approved", "action": "approved",
                "reason": "Arrived damaged", "refund": "CNY 59.00"}, branded=True),
    NoticeKind("merchant_suborder_late", _("Suborder late to ship (to the store)"), MERCHANT, ("number", "deadline", "host"),
               {"number": "S-ACME-000042", "deadline": _WHEN, "host": "acme.mall.example"}),
    # shopper cancellations (suborders.cancellations): the store hears of a request, the shopper of a refusal
    NoticeKind("merchant_cancellation_requested", _("A shopper asks to cancel accepted items (to the store)"), MERCHANT,
               ("number", "lines", "reason", "deadline", "host"),
               {"number": "S-ACME-000042", "lines": _SAMPLE_LINES[:1], "reason": "ordered one too many", "deadline": _WHEN,
                "host": "acme.mall.example"}),
    NoticeKind("cancellation_refused", _("A store refused a cancellation request"), SHOPPER,
               ("store", "number", "lines", "reason", "mall_host", "order_link"),
               {**_SAMPLE_STORE, "lines": _SAMPLE_LINES[:1], "reason": "already handed to the carrier"}, branded=True),
]}

SHOPPER_KINDS = [k for k in KINDS.values() if k.audience == SHOPPER]
