"""The store's customers (客户管理), merchant schema: the shoppers who ordered from THIS store and only
this store's relationship with them — its suborders, what they spent here, returns and tickets with this
store, first and last order, tags (automation.CustomerTag, which also drives automation rules and
tag-only vouchers) and the staff's private notes (CustomerNote). Nothing of a shopper's other stores or
account is read: every number comes from this schema's rows, or public rows filtered by this merchant.

A customer is named by a signed key of their email (salted with the schema), so lists, pages and the API
never put an email in a URL and a key minted for one store opens nothing at another.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core import signing
from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils.translation import gettext as _

from core.errors import NotFound
from core.inputs import clean_text
from core.tenancy import current_merchant, current_schema, merchant_only
from suborders.models import CustomerNote, SubOrder
from suborders.states import SubOrderStatus

S = SubOrderStatus
NOT_BOUGHT = (S.PENDING_PAYMENT,)  # an unpaid checkout is not an order at this store yet
NOT_SPENT = (S.PENDING_PAYMENT, S.REFUSED, S.CANCELLED)
MAX_NOTE = 2000


def customer_key(email: str) -> str:
    """Signed per store, without a timestamp: a customer's address (URL) stays the same."""
    return signing.Signer(salt=f"mallard.customer:{current_schema()}").sign_object(email.lower(), compress=True)


def _email_of(key: str) -> str:
    try:
        return signing.Signer(salt=f"mallard.customer:{current_schema()}").unsign_object(str(key)[:400])
    except signing.BadSignature:
        raise NotFound(_("No such customer in this store."), field="customer") from None


@dataclass
class Customer:
    key: str
    email: str
    name: str
    phone: str
    orders: int
    spent_minor: int
    currency: str
    first_order_at: datetime
    last_order_at: datetime
    tags: list[str] = field(default_factory=list)
    returns: int | None = None  # None: returns are not counted (no returns app)
    tickets: int | None = None
    address: dict = field(default_factory=dict)


def _authorize(actor, capability: str) -> None:
    from permissions.policy import authorize

    authorize(actor, capability, merchant=current_merchant())


def _bought():
    """Suborders the shopper paid for: not awaiting payment, and not an unpaid checkout that expired (cancelled
    without ever getting an acceptance deadline, which payment sets)."""
    return (SubOrder.objects.exclude(status__in=NOT_BOUGHT)
            .exclude(status=S.CANCELLED, accept_by__isnull=True, accepted_at__isnull=True))


def _aggregate(emails: list[str] | None, *, order: str = "-last", limit: int | None = None, offset: int = 0) -> list[Customer]:
    from automation.models import CustomerTag

    rows = _bought()
    if emails is not None:
        rows = rows.filter(shopper_email__in=emails)
    grouped = (rows.values("shopper_email")
               .annotate(orders=Count("order_id", distinct=True), first=Min("created_at"), last=Max("created_at"),
                         spent=Sum("total_minor", filter=~Q(status__in=NOT_SPENT), default=0), currency=Max("currency")))
    grouped = grouped.order_by({"-last": "-last", "-spent": "-spent", "-orders": "-orders", "email": "shopper_email"}[order],
                               "shopper_email")
    if limit is not None:
        grouped = grouped[offset:offset + limit]
    grouped = list(grouped)
    emails_here = [g["shopper_email"] for g in grouped]
    latest = {}  # the newest shipping address each shopper gave this store
    for so in (SubOrder.objects.filter(shopper_email__in=emails_here).order_by("shopper_email", "-created_at", "-id")
               .distinct("shopper_email").only("shopper_email", "shipping_address")):
        latest[so.shopper_email] = so.shipping_address or {}
    tags = dict(CustomerTag.objects.filter(email__in=[e.lower() for e in emails_here]).values_list("email", "tags"))
    returns = _returns_count(emails_here)
    tickets = _tickets_count(emails_here)
    return [Customer(key=customer_key(g["shopper_email"]), email=g["shopper_email"],
                     name=latest.get(g["shopper_email"], {}).get("name", ""), phone=latest.get(g["shopper_email"], {}).get("phone", ""),
                     address=latest.get(g["shopper_email"], {}), orders=g["orders"], spent_minor=g["spent"] or 0,
                     currency=g["currency"] or "CNY", first_order_at=g["first"], last_order_at=g["last"],
                     tags=list(tags.get(g["shopper_email"].lower(), [])),
                     returns=None if returns is None else returns.get(g["shopper_email"], 0),
                     tickets=None if tickets is None else tickets.get(g["shopper_email"].lower(), 0))
            for g in grouped]


def _returns_count(emails: list[str]) -> dict[str, int] | None:
    """Return requests with this store per shopper (the returns app's rows in this schema)."""
    try:
        from returns.models import ReturnRequest
    except ImportError:  # pragma: no cover - a build without returns
        return None
    return dict(ReturnRequest.objects.filter(shopper_email__in=emails).values("shopper_email")
                .annotate(n=Count("id")).values_list("shopper_email", "n"))


def _tickets_count(emails: list[str]) -> dict[str, int] | None:
    """Support tickets this store is party to, per shopper (public rows filtered by this merchant)."""
    try:
        from support.models import Ticket
    except ImportError:  # pragma: no cover - a build without support
        return None
    from django.db.models.functions import Lower

    from core.tenancy import in_public_schema

    merchant_id = current_merchant().pk
    with in_public_schema():
        return dict(Ticket.objects.filter(merchant_id=merchant_id).annotate(e=Lower("shopper__email"))
                    .filter(e__in=[x.lower() for x in emails]).values("e").annotate(n=Count("id")).values_list("e", "n"))


def _matching_emails(q: str, tag: str) -> list[str] | None:
    from automation.models import CustomerTag

    emails = None
    if q:
        emails = set(_bought().filter(Q(shopper_email__icontains=q) | Q(shipping_address__name__icontains=q)
                                      | Q(shipping_address__phone__icontains=q) | Q(order_number__icontains=q)
                                      | Q(number__icontains=q))
                     .values_list("shopper_email", flat=True).distinct()[:5000])
    if tag:
        tagged = set(CustomerTag.objects.filter(tags__contains=[tag.lower()]).values_list("email", flat=True))
        base = emails if emails is not None else set(_bought().filter(shopper_email__in=tagged).values_list(
            "shopper_email", flat=True).distinct())
        emails = {e for e in base if e.lower() in tagged}
    return None if emails is None else sorted(emails)


@merchant_only
def customers_list(*, actor, q: str = "", tag: str = "", order: str = "-last", limit: int = 50, offset: int = 0) -> list[Customer]:
    """This store's customers, searched by email, name, phone or order number, filtered by tag."""
    _authorize(actor, "customers.view")
    q = clean_text(q, field="q", max_length=100)
    tag = clean_text(tag, field="tag", max_length=40)
    if order not in ("-last", "-spent", "-orders", "email"):
        order = "-last"
    emails = _matching_emails(q, tag)
    if emails == []:
        return []
    return _aggregate(emails, order=order, limit=limit, offset=offset)


@merchant_only
def customers_export_rows(*, actor, q: str = "", tag: str = "") -> list[Customer]:
    """Every matching customer (the export); same checks as the list."""
    return customers_list(actor=actor, q=q, tag=tag, limit=100_000)


@dataclass
class CustomerDetail:
    customer: Customer
    suborders: list
    notes: list


@merchant_only
def customer_get(*, actor, key: str) -> CustomerDetail:
    """One customer of this store with their suborders here and the staff's notes. A shopper who never
    ordered from this store is not found, whatever tags or notes exist for the email."""
    _authorize(actor, "customers.view")
    email = _email_of(key)
    found = _aggregate([email])
    if not found:
        raise NotFound(_("No such customer in this store."), field="customer")
    suborders = list(_bought().filter(shopper_email=email).order_by("-created_at", "-id")[:200])
    notes = list(CustomerNote.objects.filter(email=email.lower()).select_related("author"))
    return CustomerDetail(customer=found[0], suborders=suborders, notes=notes)


@merchant_only
def customer_note_add(*, actor, key: str, text: str) -> CustomerNote:
    """A private note on a customer (never shown to the shopper), audited."""
    _authorize(actor, "customers.edit")
    text = clean_text(text, field="text", max_length=MAX_NOTE, required=True)
    email = _email_of(key)
    if not _bought().filter(shopper_email=email).exists():
        raise NotFound(_("No such customer in this store."), field="customer")
    from permissions.services import audit_record

    with transaction.atomic():
        note = CustomerNote.objects.create(email=email.lower(), text=text, author=actor if getattr(actor, "pk", None) else None)
        audit_record(actor=actor, entity="customer_note", entity_id=note.pk, action="created", before=None,
                     after={"email": email.lower(), "text": text[:300]})
    return note


@merchant_only
def customer_tags_update(*, actor, key: str, tags: list[str] | str):
    """Set a customer's tags through automation's tag service (the same rows its customer-tag condition
    and tag-only vouchers read). Capability customers.edit; the tag service checks automation.manage for
    its own page, so it is called as the system here after this check."""
    _authorize(actor, "customers.edit")
    email = _email_of(key)
    if not _bought().filter(shopper_email=email).exists():
        raise NotFound(_("No such customer in this store."), field="customer")
    from automation.services import customer_tags_set

    return customer_tags_set(actor=actor, email=email, tags=tags, authorized=True)


@merchant_only
def customer_has_tag(*, email: str, tag: str) -> bool:
    """Whether this store tagged the shopper `tag` (a tag-only voucher's check at checkout)."""
    from automation.models import CustomerTag

    return CustomerTag.objects.filter(email=(email or "").strip().lower(), tags__contains=[tag.lower()]).exists()
