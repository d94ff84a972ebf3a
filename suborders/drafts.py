"""Orders a store's staff enter for a customer (代客下单): drafts they edit, then confirm into a checkout order.

Drafts live in the merchant schema (suborders.models_drafts). `draft_confirm` places the order with
orders.services.order_checkout in public: the same services, stock reservation and totals rules as
the storefront, the draft's discount as a merchant-funded discount. It runs inside the transaction
holding the draft's row lock, so a draft becomes exactly one order: the order and the draft's
"confirmed" commit together, and a second confirm waits for the lock and finds the order.

Then the customer pays through a signed link to the order page (`pay_link_url`, emailed by
`draft_pay_link_send`), or finance records a payment received offline
(payments.services.payment_mark_paid_offline).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from core.money import Money
from core.tenancy import current_merchant, in_public_schema, merchant_only
from orders.validation import MAX_LINES, clean_address, clean_email, clean_quantity
from suborders.models_drafts import DRAFT_TRANSITIONS, OrderDraft, OrderDraftLine, OrderDraftStatus

log = logging.getLogger("mallard.suborders")
S = OrderDraftStatus

# An order entered by the store waits longer for its money than a storefront checkout (30 minutes):
# the customer pays from an emailed link or by bank transfer. Its stock stays reserved meanwhile.
PAY_WINDOW = timedelta(days=3)
PAY_LINK_MAX_AGE = timedelta(days=30)  # the link only opens the order page; an expired order shows as cancelled
_PAY_LINK_SALT = "mallard.orders.pay-link"
MAX_REASON = 300


@dataclass(frozen=True)
class DraftLine:
    variant_id: int
    quantity: int


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()  # draft_update: leave this part of the draft as it is


# --- pay links -----------------------------------------------------------------------------------

def pay_link_token(*, number: str, email: str) -> str:
    """A signed token naming one order and its customer: whoever holds it may open that order's page."""
    return signing.dumps([number, email], salt=_PAY_LINK_SALT)


def pay_link_verify(*, token: str) -> tuple[str, str] | None:
    """(order number, customer email) of a pay-link token, or None if it is forged, altered or too old."""
    if not isinstance(token, str) or len(token) > 400:
        return None
    try:
        value = signing.loads(token, salt=_PAY_LINK_SALT, max_age=PAY_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        return None
    return value[0], value[1]


def pay_link_url(*, number: str, email: str) -> str:
    token = pay_link_token(number=number, email=email)
    path = reverse("order-pay-link", urlconf="config.urls_public", kwargs={"number": number, "token": token})
    return f"http://{settings.MALL_HOST}{path}"


# --- input checks ------------------------------------------------------------------------------------

@dataclass
class _Clean:
    lines: list[DraftLine]
    email: str
    shipping_address: dict
    shipping_rule_id: int | None
    discount_minor: int
    discount_reason: str
    currency: str
    subtotal_minor: int


def _clean(*, lines, email, shipping_address, shipping_rule_id, discount_minor, discount_reason) -> _Clean:
    """Check a draft against this store's catalog and shipping rules; errors name the field at fault.

    A draft may be incomplete (no customer or address yet); what is there must be right.
    """
    from catalog.selectors import variants_for_checkout
    from fulfillment.selectors import shipping_rule_list
    from fulfillment.shipping import quote

    if not isinstance(lines, list | tuple):
        raise ValidationFailed(_("Lines must be a list of products and quantities."), field="lines")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(_("At most %(n)s lines per order.") % {"n": MAX_LINES}, field="lines")
    cleaned: list[DraftLine] = []
    first: dict[int, int] = {}
    for i, ln in enumerate(lines):
        vid = ln.variant_id
        if isinstance(vid, bool) or not isinstance(vid, int) or not 0 < vid < 2**63:
            raise ValidationFailed(_("Line %(n)s: choose a product.") % {"n": i + 1}, field=f"lines[{i}].variant_id")
        quantity = clean_quantity(ln.quantity, field=f"lines[{i}].quantity")
        if vid in first:
            raise ValidationFailed(_("Line %(n)s: this product is already on line %(m)s.") % {"n": i + 1, "m": first[vid] + 1},
                                   field=f"lines[{i}].variant_id")
        first[vid] = i
        cleaned.append(DraftLine(vid, quantity))
    snaps = variants_for_checkout(variant_ids=[ln.variant_id for ln in cleaned]) if cleaned else {}
    currency = ""
    subtotal = weight = 0
    for i, ln in enumerate(cleaned):
        snap = snaps.get(ln.variant_id)
        if snap is None or not snap.is_active:
            raise ValidationFailed(_("Line %(n)s: product %(id)s is not sold by this store (unknown or inactive).")
                                   % {"n": i + 1, "id": ln.variant_id}, field=f"lines[{i}].variant_id")
        if currency and snap.currency != currency:
            raise ValidationFailed(_("Line %(n)s is priced in %(c)s, the others in %(o)s.") % {"n": i + 1, "c": snap.currency, "o": currency},
                                   field=f"lines[{i}].variant_id")
        currency = snap.currency
        subtotal += snap.price_minor * ln.quantity
        weight += snap.weight_g * ln.quantity
    currency = currency or "CNY"

    email = clean_email(email) if (email or "").strip() else ""
    address = clean_address(shipping_address) if shipping_address else {}

    rules = [r for r in shipping_rule_list() if r.is_active]
    rule = None
    if shipping_rule_id is not None:
        rule = next((r for r in rules if r.pk == shipping_rule_id), None) if isinstance(shipping_rule_id, int) else None
        if rule is None:
            raise ValidationFailed(_("Choose one of this store's shipping methods."), field="shipping_rule_id")
    if address and rules:
        served = [r for r in ([rule] if rule else rules)
                  if quote(r, subtotal_minor=subtotal, weight_g=weight, region=address["region"]) is not None]
        if not served:
            raise ValidationFailed((_("%(method)s does not ship to %(region)s.") % {"method": rule.name, "region": address["region"]}) if rule
                                   else _("This store does not ship to %(region)s.") % {"region": address["region"]},
                                   field="shipping_address.region")

    if isinstance(discount_minor, bool) or not isinstance(discount_minor, int) or discount_minor < 0:
        raise ValidationFailed(_("The discount must be an amount of 0 or more."), field="discount_minor")
    if discount_minor > subtotal:
        raise ValidationFailed(_("The discount of %(d)s is more than the items cost (%(s)s).")
                               % {"d": Money(discount_minor, currency).format(), "s": Money(subtotal, currency).format()},
                               field="discount_minor")
    reason = (discount_reason or "").strip() if isinstance(discount_reason, str) else ""
    if len(reason) > MAX_REASON or "\x00" in reason:
        raise ValidationFailed(_("The reason must be at most %(n)s characters.") % {"n": MAX_REASON}, field="discount_reason")
    if discount_minor and not reason:
        raise ValidationFailed(_("Say why the customer gets a discount."), field="discount_reason")
    return _Clean(cleaned, email, address, shipping_rule_id, discount_minor, reason if discount_minor else "", currency, subtotal)


# --- writes ----------------------------------------------------------------------------------------

def _merchant():
    """The store whose schema this is (the @merchant_only guard has made sure there is one)."""
    merchant = current_merchant()
    assert merchant is not None
    return merchant


def _authorize(actor) -> None:
    from permissions.policy import authorize

    authorize(actor, "orders.create", merchant=_merchant())


def _snapshot(draft: OrderDraft, lines: list[DraftLine] | None = None) -> dict:
    lines = lines if lines is not None else [DraftLine(ln.variant_id, ln.quantity) for ln in draft.lines.all()]
    return {"status": draft.status, "email": draft.email, "shipping_address": draft.shipping_address,
            "shipping_rule_id": draft.shipping_rule_id, "discount_minor": draft.discount_minor,
            "discount_reason": draft.discount_reason, "currency": draft.currency,
            "lines": [[ln.variant_id, ln.quantity] for ln in lines]}


def _audit(actor, draft: OrderDraft, action: str, before: dict | None, after: dict | None) -> None:
    from permissions.services import audit_record

    audit_record(actor=actor, entity="order_draft", entity_id=draft.pk, action=action, before=before, after=after)


def _lock(draft_id: int) -> OrderDraft:
    draft = OrderDraft.objects.select_for_update(of=("self",)).filter(pk=draft_id).first() if isinstance(draft_id, int) else None
    if draft is None:
        raise NotFound(_("No such draft in this store."), field="draft")
    return draft


def _transition(*, draft: OrderDraft, to: str, actor, action: str, extra: dict | None = None, now=None) -> OrderDraft:
    """The only code that assigns OrderDraft.status: checks DRAFT_TRANSITIONS, saves, writes the audit entry."""
    current = draft.status
    if to not in DRAFT_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(_("This draft is %(status)s; it can no longer be changed.") % {"status": draft.get_status_display()},
                                field="status", details={"from": current, "to": to})
    draft.status, draft.updated_at = to, now or timezone.now()
    draft.save()
    _audit(actor, draft, action, {"status": current}, {"status": to, **(extra or {})})
    return draft


def _write_lines(draft: OrderDraft, lines: list[DraftLine]) -> None:
    OrderDraftLine.objects.filter(draft=draft).delete()
    OrderDraftLine.objects.bulk_create([OrderDraftLine(draft=draft, variant_id=ln.variant_id, quantity=ln.quantity) for ln in lines])


def _apply(draft: OrderDraft, c: _Clean) -> None:
    draft.email, draft.shipping_address, draft.shipping_rule_id = c.email, c.shipping_address, c.shipping_rule_id
    draft.discount_minor, draft.discount_reason, draft.currency = c.discount_minor, c.discount_reason, c.currency


@merchant_only
def draft_create(*, actor, lines: list[DraftLine] | None = None, email: str = "", shipping_address: dict | None = None,
                 shipping_rule_id: int | None = None, discount_minor: int = 0, discount_reason: str = "") -> OrderDraft:
    """Start an order for a customer. Anything may be filled in later; what is given is checked now."""
    _authorize(actor)
    c = _clean(lines=list(lines or []), email=email, shipping_address=shipping_address, shipping_rule_id=shipping_rule_id,
               discount_minor=discount_minor, discount_reason=discount_reason)
    with transaction.atomic():
        now = timezone.now()
        draft = OrderDraft(created_by=actor if getattr(actor, "pk", None) else None, created_at=now, updated_at=now)
        _apply(draft, c)
        draft.save()
        _write_lines(draft, c.lines)
        _audit(actor, draft, "create", None, _snapshot(draft, c.lines))
    return draft


@merchant_only
def draft_update(*, draft_id: int, actor, lines: list[DraftLine] = UNCHANGED, email: str = UNCHANGED,
                 shipping_address: dict | None = UNCHANGED, shipping_rule_id: int | None = UNCHANGED,
                 discount_minor: int = UNCHANGED, discount_reason: str = UNCHANGED) -> OrderDraft:
    """Change a draft; parts left UNCHANGED stay as they are. `lines`, when given, replace all lines.
    The whole draft is checked again (a new line changes what the discount may be)."""
    _authorize(actor)
    with transaction.atomic():
        draft = _lock(draft_id)
        if draft.status != S.DRAFT:
            raise InvalidTransition(_("This draft is %(status)s; it can no longer be changed.") % {"status": draft.get_status_display()},
                                    field="status")
        current = [DraftLine(ln.variant_id, ln.quantity) for ln in draft.lines.all()]
        before = _snapshot(draft, current)

        def pick(value, old):
            return old if value is UNCHANGED else value

        c = _clean(lines=pick(lines, current), email=pick(email, draft.email),
                   shipping_address=pick(shipping_address, draft.shipping_address),
                   shipping_rule_id=pick(shipping_rule_id, draft.shipping_rule_id),
                   discount_minor=pick(discount_minor, draft.discount_minor),
                   discount_reason=pick(discount_reason, draft.discount_reason))
        _apply(draft, c)
        draft.updated_at = timezone.now()
        draft.save()
        if c.lines != current:
            _write_lines(draft, c.lines)
        after = _snapshot(draft, c.lines)
        if after != before:
            _audit(actor, draft, "update", before, after)
    return draft


# checkout names fields of its own request; say them as the draft does
def _draft_field(field: str | None, merchant) -> str | None:
    if not field:
        return field
    if field == f"merchant_discounts.{merchant.pk}":
        return "discount_minor"
    if field == f"merchant_discounts.{merchant.pk}.reason":
        return "discount_reason"
    if field.startswith("shipping_methods."):
        return "shipping_rule_id"
    return field


@merchant_only
def draft_confirm(*, draft_id: int, actor) -> OrderDraft:
    """Place the draft as a checkout order (one order, this store's suborder(s), stock reserved,
    payment pending for PAY_WINDOW). Confirming a confirmed draft answers it as it is."""
    from orders.services import CheckoutLine, order_checkout

    _authorize(actor)
    merchant = _merchant()
    with transaction.atomic():
        draft = _lock(draft_id)
        if draft.status == S.CONFIRMED:
            return draft
        if draft.status != S.DRAFT:
            raise InvalidTransition(_("This draft was discarded; start a new one."), field="status")
        lines = [DraftLine(ln.variant_id, ln.quantity) for ln in draft.lines.all()]
        if not lines:
            raise ValidationFailed(_("Add at least one product."), field="lines")
        if not draft.email:
            raise ValidationFailed(_("Enter the customer's email: the order and its pay link go there."), field="email")
        if not draft.shipping_address:
            raise ValidationFailed(_("Enter the customer's name, phone and address."), field="shipping_address")
        # prices may have moved since the draft was saved: the discount must still fit, the products still be sold
        c = _clean(lines=lines, email=draft.email, shipping_address=draft.shipping_address, shipping_rule_id=draft.shipping_rule_id,
                   discount_minor=draft.discount_minor, discount_reason=draft.discount_reason)
        try:
            with in_public_schema():
                order, _created = order_checkout(
                    shopper=None, email=c.email, shipping_address=c.shipping_address, currency=c.currency,
                    lines=[CheckoutLine(merchant.pk, ln.variant_id, ln.quantity) for ln in c.lines],
                    idempotency_key=f"order-draft-{merchant.pk}-{draft.pk}",
                    shipping_choices={merchant.pk: c.shipping_rule_id} if c.shipping_rule_id else None,
                    merchant_discounts={merchant.pk: (c.discount_minor, c.discount_reason)} if c.discount_minor else None,
                    unpaid_ttl=PAY_WINDOW,
                )
                placed: dict[str, Any] = {"order": order.number, "order_id": order.pk, "total_minor": order.total_minor,
                          "discount_minor": order.discount_minor, "discount_reason": c.discount_reason}
        except DomainError as err:
            err.field = _draft_field(err.field, merchant)
            raise
        now = timezone.now()
        draft.order_id, draft.order_number, draft.confirmed_at = placed["order_id"], placed["order"], now
        _transition(draft=draft, to=S.CONFIRMED, actor=actor, action="confirm", extra=placed, now=now)
    return draft


@merchant_only
def draft_discard(*, draft_id: int, actor) -> OrderDraft:
    _authorize(actor)
    with transaction.atomic():
        draft = _lock(draft_id)
        return _transition(draft=draft, to=S.DISCARDED, actor=actor, action="discard")


@merchant_only
def draft_pay_link_send(*, draft_id: int, actor) -> OrderDraft:
    """Email the customer the link to their order page, where they choose how to pay (after commit)."""
    from django.template.loader import render_to_string

    _authorize(actor)
    merchant = _merchant()
    with transaction.atomic():
        draft = _lock(draft_id)
        if draft.status != S.CONFIRMED:
            raise InvalidTransition(_("Confirm the order first."), field="status")
        summary = draft_order_summary(draft=draft)
        if summary is None or not summary.can_pay:
            raise InvalidTransition(_("Order %(number)s is %(status)s; there is nothing to pay.")
                                    % {"number": draft.order_number, "status": summary.payment_label if summary else ""},
                                    field="status")
        draft.pay_link_sent_at = timezone.now()
        draft.save(update_fields=["pay_link_sent_at"])
        _audit(actor, draft, "pay_link_sent", None, {"order": draft.order_number, "email": draft.email})
        body = render_to_string("suborders/drafts/pay_link_email.txt", {
            "store": merchant.name, "number": draft.order_number, "total": Money(summary.total_minor, summary.currency).format(),
            "link": summary.pay_link, "expires_at": summary.expires_at})
        subject = _("%(store)s: your order %(number)s") % {"store": merchant.name, "number": draft.order_number}
        to = draft.email

        def send():
            send_mail(subject=subject, message=body, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[to])

        # robust: a mail server that is down must not turn a committed change into an error page; the
        # link is on the draft page to send by other means, and the staff can press "send" again
        transaction.on_commit(send, robust=True)
    return draft


# --- reads ---------------------------------------------------------------------------------------------

@merchant_only
def draft_list_for_merchant(*, status: str | None = None, limit: int = 200) -> list[OrderDraft]:
    qs = OrderDraft.objects.all()
    if status:
        qs = qs.filter(status=status)
    return list(qs.prefetch_related("lines").order_by("-id")[:limit])


@merchant_only
def draft_get(*, draft_id: int) -> OrderDraft:
    draft = OrderDraft.objects.prefetch_related("lines").filter(pk=draft_id).first() if isinstance(draft_id, int) else None
    if draft is None:
        raise NotFound(_("No such draft in this store."), field="draft")
    return draft


@dataclass
class DraftLineView:
    variant_id: int
    quantity: int
    sku: str
    name: str
    unit_price_minor: int

    @property
    def total_minor(self) -> int:
        return self.unit_price_minor * self.quantity


@merchant_only
def draft_lines_view(*, draft: OrderDraft) -> list[DraftLineView]:
    """The draft's lines with this store's current names and prices."""
    from catalog.selectors import variants_for_checkout

    lines = list(draft.lines.all())
    snaps = variants_for_checkout(variant_ids=[ln.variant_id for ln in lines]) if lines else {}
    out = []
    for ln in lines:
        s = snaps.get(ln.variant_id)
        out.append(DraftLineView(ln.variant_id, ln.quantity, s.sku if s else "?", s.name if s else _("Unavailable product"),
                                 s.price_minor if s else 0))
    return out


@dataclass
class DraftTotals:
    currency: str
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int | None  # None until the address is known
    total_minor: int | None
    shipping_method: str
    problem: str  # what checkout would refuse now (out of stock, ...), "" if nothing


@merchant_only
def draft_totals(*, draft: OrderDraft) -> DraftTotals:
    """What confirming would charge now, priced by checkout itself (orders.services.order_quote)."""
    from orders.services import CheckoutLine, order_quote

    merchant = _merchant()
    lines = draft_lines_view(draft=draft)
    subtotal = sum(ln.total_minor for ln in lines)
    totals = DraftTotals(draft.currency, subtotal, draft.discount_minor, None, None, "", "")
    if not lines or not draft.shipping_address:
        return totals
    try:
        with in_public_schema():
            q = order_quote(shopper=None, email=draft.email or None, shipping_address=draft.shipping_address, currency=draft.currency,
                            lines=[CheckoutLine(merchant.pk, ln.variant_id, ln.quantity) for ln in lines],
                            shipping_choices={merchant.pk: draft.shipping_rule_id} if draft.shipping_rule_id else None,
                            merchant_discounts={merchant.pk: (draft.discount_minor, draft.discount_reason)} if draft.discount_minor else None)
    except DomainError as err:
        totals.problem = err.message
        return totals
    t = q.totals
    return DraftTotals(draft.currency, t["subtotal_minor"], t["discount_minor"], t["shipping_minor"], t["total_minor"],
                       ", ".join(p.shipping_method for p in q.parts), "")


@dataclass
class DraftOrderSummary:
    number: str
    currency: str
    total_minor: int
    expires_at: Any
    expired: bool
    payment_status: str
    payment_label: str
    payment_gateway: str
    payment_reference: str
    can_pay: bool
    pay_link: str
    suborder_ids: list[int]


@merchant_only
def draft_order_summary(*, draft: OrderDraft) -> DraftOrderSummary | None:
    """The order a confirmed draft became, as the store may see it: totals, payment, its suborders here."""
    from orders.models import Order
    from payments.models import Payment
    from payments.states import OPEN, PaymentStatus
    from suborders.models import SubOrder

    if draft.order_id is None:
        return None
    suborder_ids = list(SubOrder.objects.filter(order_id=draft.order_id).order_by("pk").values_list("pk", flat=True))
    with in_public_schema():
        order = Order.objects.get(pk=draft.order_id)
        payment = Payment.objects.filter(order_id=order.pk).first()
    status = payment.status if payment else ""
    can_pay = payment is not None and status in OPEN and order.expired_at is None
    return DraftOrderSummary(
        number=order.number, currency=order.currency, total_minor=order.total_minor, expires_at=order.expires_at,
        expired=order.expired_at is not None, payment_status=status, payment_label=str(dict(PaymentStatus.choices).get(status, status)),
        payment_gateway=payment.gateway if payment else "", payment_reference=payment.gateway_reference if payment else "",
        can_pay=can_pay, pay_link=pay_link_url(number=order.number, email=order.email) if can_pay else "", suborder_ids=suborder_ids)


@merchant_only
def order_for_merchant(*, number: str):
    """A public order that has a suborder of this store (for finance on the merchant host), or NotFound."""
    from orders.models import Order, SubOrderMirror

    merchant = _merchant()
    if not isinstance(number, str) or not 0 < len(number) <= 32:
        raise NotFound(_("No such order in this store."), field="number")
    with in_public_schema():
        ids = SubOrderMirror.objects.filter(merchant_id=merchant.pk, order__number=number).values_list("order_id", flat=True)
        order = Order.objects.filter(pk__in=ids).first()
    if order is None:
        raise NotFound(_("No such order in this store."), field="number")
    return order


@merchant_only
def draft_variant_choices(*, limit: int = 500) -> list[tuple[str, str]]:
    """(SKU, name) of this store's products on sale, for the order form's product picker."""
    from catalog.selectors import product_list_for_merchant

    out: list[tuple[str, str]] = []
    for product in product_list_for_merchant(status="active").prefetch_related("variants")[:limit]:
        for v in product.variants.all():
            if v.is_active:
                out.append((v.sku, f"{product.name} {v.name_suffix}".strip()))
    return out[:limit]
