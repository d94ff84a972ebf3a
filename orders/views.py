"""Shopper pages on the mall host: cart, checkout, my orders, the order page.

Guests are remembered in their session: the cart by its token, their orders by number and
email (so the order page opens right after checkout without an account).
"""
from __future__ import annotations

import uuid
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotFound, ValidationFailed
from core.inputs import is_malformed, parse_id, refuse_malformed
from core.tenancy import in_merchant_schema
from fulfillment.selectors import shipping_rules_many
from orders.forms import CheckoutForm, shipping_field_name
from orders.selectors import cart_view, order_get_for_visitor, order_list_for_shopper
from orders.services import (
    CheckoutLine,
    cart_add_line,
    cart_get_or_create,
    cart_remove_line,
    cart_set_quantity,
    order_checkout,
    order_quote,
)
from orders.services.cart import cart_accept_prices
from orders.validation import ADDRESS_FIELDS
from payments.selectors import gateways_offered, refunds_for_order
from payments.states import OPEN as PAYMENT_OPEN
from payments.states import PaymentStatus, RefundStatus
from suborders.states import SubOrderStatus

SESSION_CART = "cart_token"
SESSION_REGION = "shipping_region"
SESSION_SHIPPING = "shipping_choices"  # {"<merchant_id>": rule_id}
SESSION_ADDRESS = "checkout_address"
SESSION_GUEST_ORDERS = "guest_orders"  # {"<order number>": email}
SESSION_PLACED = "placed_by_key"  # {idempotency key: order number}: a resubmitted form finds its order

SUBORDER_LABELS = dict(SubOrderStatus.choices)
PAYMENT_LABELS = dict(PaymentStatus.choices)
REFUND_LABELS = dict(RefundStatus.choices)


# ---------------------------------------------------------------- cart helpers

def _cart(request, *, create: bool):
    """The shopper's open cart; a guest's is named by the token in their session."""
    token = request.session.get(SESSION_CART)
    if request.user.is_authenticated:
        cart = cart_get_or_create(shopper=request.user, token=token)  # a guest cart is merged on sign-in
        request.session.pop(SESSION_CART, None)
        return cart
    if token is None and not create:
        return None
    cart = cart_get_or_create(token=token)
    if str(cart.token) != token:
        request.session[SESSION_CART] = str(cart.token)
    return cart


def _saved_address(request) -> dict:
    if request.user.is_authenticated:  # the address book: the one picked on the checkout page, else the default
        from accounts.selectors import address_get_for_user, default_address

        picked = request.GET.get("address", "")
        try:
            book = (address_get_for_user(user=request.user, address_id=int(picked)) if picked.isascii() and picked.isdigit()
                    else None) or (None if request.session.get(SESSION_ADDRESS) else default_address(user=request.user))
        except NotFound:
            book = None
        if book is not None:
            return book.as_shipping_address()
    saved = request.session.get(SESSION_ADDRESS)
    if saved:
        return saved
    if request.user.is_authenticated:
        last = order_list_for_shopper(shopper=request.user, limit=1)
        if last:
            return dict(last[0].shipping_address)
    return {}


def _region(request, value: str | None = None) -> str:
    if value is not None:
        return value.strip()[:60]
    return request.session.get(SESSION_REGION) or _saved_address(request).get("region", "")


def _price_stores(cart, *, region: str, chosen: dict[int, int]):
    """cart_view plus, per store, the chosen shipping quote (cheapest unless the shopper picked one)."""
    stores = cart_view(cart=cart, region=region) if cart is not None else []
    rules = shipping_rules_many(schemas=[s.merchant.schema_name for s in stores]) if stores else {}
    regions = set()
    for store in stores:
        store_rules = rules.get(store.merchant.schema_name, [])
        for rule in store_rules:
            regions.update(rule.regions)
        opts = store.shipping_options
        pick = next((q for q in opts if q.rule_id == chosen.get(store.merchant.pk)), None)
        if pick is None and opts:
            pick = min(opts, key=lambda q: (q.cost_minor, q.rule_id))
        store.chosen = pick
        store.has_rules = bool(store_rules)
        store.ships = pick is not None or not store_rules  # no rules at all: the store ships free
        store.shipping_minor = pick.cost_minor if pick else 0
        store.total_minor = store.subtotal_minor + store.shipping_minor
        store.field_name = shipping_field_name(store.merchant.pk)
        store.problems = any(ln.price_changed or ln.short or not ln.is_active for ln in store.lines)
    if region:
        regions.add(region)
    return stores, sorted(regions)


def _shipping_choices(params) -> dict[int, int]:
    """`ship_<merchant id>=<shipping rule id>` parameters; a malformed one is a 400 naming it (core.inputs)."""
    chosen = {}
    for key, value in params.items():
        if key.startswith("ship_") and value.strip():
            merchant_id = parse_id(key[5:], field=key[:40])
            chosen[merchant_id] = parse_id(value, field=key[:40])
    return chosen


def _session_choices(request) -> dict[int, int]:
    return {int(k): int(v) for k, v in (request.session.get(SESSION_SHIPPING) or {}).items()}


def _back(request, default: str):
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or default
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = default
    return redirect(target)


# ---------------------------------------------------------------- cart pages

def cart_page(request):
    cart = _cart(request, create=False)
    region = _region(request, request.GET.get("region"))
    chosen = _session_choices(request)
    chosen.update(_shipping_choices(request.GET))
    stores, regions = _price_stores(cart, region=region, chosen=chosen)
    if "region" in request.GET:
        request.session[SESSION_REGION] = region
    request.session[SESSION_SHIPPING] = {str(s.merchant.pk): s.chosen.rule_id for s in stores if s.chosen}
    return render(request, "orders/cart.html", {
        "cart": cart, "stores": stores, "region": region, "regions": regions,
        "currency": cart.currency if cart else "CNY",
        "subtotal_minor": sum(s.subtotal_minor for s in stores),
        "shipping_minor": sum(s.shipping_minor for s in stores),
        "total_minor": sum(s.total_minor for s in stores),
        "price_changed": any(ln.price_changed for s in stores for ln in s.lines),
        "blocked": any(s.problems or not s.ships for s in stores),
    })


@require_POST
def cart_add(request):
    try:
        merchant_id = parse_id(request.POST.get("merchant_id", ""), field="merchant_id")
        variant_id = parse_id(request.POST.get("variant_id", ""), field="variant_id")
    except ValidationFailed as exc:
        if is_malformed(request.POST.get(exc.field, "")):
            raise ValidationFailed(_("That product is not for sale."), field=exc.field) from None
        messages.error(request, _("That product is not for sale."))
        return _back(request, reverse("cart"))
    refuse_malformed(request.POST.get("quantity", "1"), field="quantity")
    cart = _cart(request, create=True)
    try:
        cart_add_line(cart=cart, merchant_id=merchant_id, variant_id=variant_id, quantity=request.POST.get("quantity", "1"))
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Added to your cart."))
    return _back(request, reverse("cart"))


@require_POST
def cart_line_update(request, line_id: int):
    refuse_malformed(request.POST.get("quantity", ""), field="quantity")
    cart = _cart(request, create=False)
    if cart is not None:
        try:
            line = cart_set_quantity(cart=cart, line_id=line_id, quantity=request.POST.get("quantity", "").strip())
        except DomainError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, _("Quantity updated.") if line else _("Removed from your cart."))
    return redirect("cart")


@require_POST
def cart_line_remove(request, line_id: int):
    cart = _cart(request, create=False)
    if cart is not None:
        cart_remove_line(cart=cart, line_id=line_id)
        messages.success(request, _("Removed from your cart."))
    return redirect("cart")


@require_POST
def cart_prices_accept(request):
    cart = _cart(request, create=False)
    if cart is not None:
        stores = cart_view(cart=cart)
        cart_accept_prices(cart=cart, prices={ln.id: ln.unit_price_minor for s in stores for ln in s.lines if ln.is_active})
        messages.success(request, _("The new prices are accepted."))
    return redirect("cart")


# ---------------------------------------------------------------- checkout

def _error_field(err: DomainError, form: CheckoutForm, stores) -> str | None:
    """Which form field a service error belongs to (None: shown at the top of the form)."""
    field = err.field or ""
    if field.startswith("shipping_address."):
        field = field.removeprefix("shipping_address.")
    elif field.startswith("shipping_methods."):
        slug = field.removeprefix("shipping_methods.")
        field = next((s.field_name for s in stores if s.merchant.slug == slug), "")
    return field if field in form.fields and field != "idempotency_key" else None


def checkout(request):
    placed = (request.session.get(SESSION_PLACED) or {}).get(request.POST.get("idempotency_key", "")) if request.method == "POST" else None
    if placed:  # the same form again after success (double click, back + resubmit): the same order
        return redirect("order-detail", number=placed)
    cart = _cart(request, create=False)
    guest = not request.user.is_authenticated
    if request.method == "POST":
        region = _region(request, request.POST.get("region", ""))
        chosen = _shipping_choices(request.POST)
    else:
        region = _region(request)
        chosen = _session_choices(request)
    stores, _regions = _price_stores(cart, region=region, chosen=chosen)
    if not any(s.lines for s in stores):
        messages.error(request, _("Your cart is empty."))
        return redirect("cart")
    if any(ln.price_changed for s in stores for ln in s.lines):
        messages.error(request, _("Some prices changed since you added the items. Review them before you check out."))
        return redirect("cart")
    form_kw = {"stores": stores, "guest": guest, "currency": cart.currency}
    quote = voucher_error = None
    status = 200
    if request.method != "POST":
        initial = {**_saved_address(request), "idempotency_key": uuid.uuid4().hex}
        initial.update({s.field_name: s.chosen.rule_id for s in stores if s.chosen})
        form = CheckoutForm(initial=initial, **form_kw)
    elif "recalculate" in request.POST:  # region or voucher changed: show the new prices, place nothing
        initial = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        initial.update({s.field_name: s.chosen.rule_id for s in stores if s.chosen})
        form = CheckoutForm(initial=initial, **form_kw)
        code = request.POST.get("voucher_code", "").strip()
        if code:
            try:
                quote = order_quote(
                    shopper=request.user if not guest else None, email=request.POST.get("email") or None,
                    lines=[CheckoutLine(s.merchant.pk, ln.variant_id, ln.quantity) for s in stores for ln in s.lines],
                    shipping_address={k: request.POST.get(k, "") for k in ADDRESS_FIELDS},
                    shipping_choices={s.merchant.pk: s.chosen.rule_id for s in stores if s.chosen},
                    voucher_code=code, currency=cart.currency,
                )
            except DomainError as err:
                if err.field == "voucher_code":
                    voucher_error = err.message
                else:  # an incomplete address does not stop the preview of the rest
                    messages.info(request, _("Complete the address to see the voucher's discount."))
    else:
        form = CheckoutForm(request.POST, **form_kw)
        if form.is_valid():
            try:
                order, _created = order_checkout(
                    shopper=request.user if not guest else None, email=form.cleaned_data["email"] or None,
                    lines=[CheckoutLine(s.merchant.pk, ln.variant_id, ln.quantity, expected_unit_price_minor=ln.seen_price_minor)
                           for s in stores for ln in s.lines],
                    shipping_address=form.address(), idempotency_key=form.cleaned_data["idempotency_key"],
                    shipping_choices=form.shipping_choices(), voucher_code=form.cleaned_data["voucher_code"] or None,
                    currency=cart.currency, cart=cart,
                )
            except DomainError as err:
                form.add_error(_error_field(err, form, stores), err.message)
                if err.code == "price_changed":
                    form.price_changed = True
            else:
                request.session[SESSION_ADDRESS] = order.shipping_address
                request.session[SESSION_REGION] = order.shipping_address.get("region", "")
                request.session.pop(SESSION_SHIPPING, None)
                keys = request.session.get(SESSION_PLACED) or {}
                keys[form.cleaned_data["idempotency_key"]] = order.number
                request.session[SESSION_PLACED] = dict(list(keys.items())[-10:])
                if guest:
                    remembered = request.session.get(SESSION_GUEST_ORDERS) or {}
                    remembered[order.number] = order.email
                    request.session[SESSION_GUEST_ORDERS] = dict(list(remembered.items())[-20:])
                messages.success(request, _("Thank you! Your order %(number)s is placed.") % {"number": order.number})
                return redirect("order-detail", number=order.number)
        status = 400
    return render(request, "orders/checkout.html", {
        "form": form, "stores": stores, "quote": quote, "voucher_error": voucher_error, "region": region, "currency": cart.currency, "guest": guest,
        "subtotal_minor": sum(s.subtotal_minor for s in stores), "shipping_minor": sum(s.shipping_minor for s in stores),
        "total_minor": sum(s.total_minor for s in stores), "address_fields": [form[k] for k in ADDRESS_FIELDS],
        "shipping_fields": [(s, form[s.field_name] if s.field_name in form.fields else None) for s in stores],
        "address_book": _address_book(request),
    }, status=status)


def _address_book(request) -> list:
    from accounts.selectors import addresses_for_user

    return addresses_for_user(user=request.user)


# ---------------------------------------------------------------- orders

ORDER_TABS = {  # "My orders" tabs: tab -> the derived order statuses it shows (orders.selectors.order_status)
    "to_pay": ("awaiting_payment", "payment_failed"),
    "to_ship": ("processing",),
    "to_receive": ("partially_shipped", "shipped"),
    "completed": ("delivered", "completed"),
}


@login_required
def order_list(request):
    tab = request.GET.get("tab", "")
    tab = tab if tab in ORDER_TABS else ""
    orders = order_list_for_shopper(shopper=request.user, limit=200 if tab else 50)
    if tab:
        orders = [o for o in orders if o.derived_status in ORDER_TABS[tab]][:50]
    tabs = [("", _("All")), ("to_pay", _("To pay")), ("to_ship", _("To ship")), ("to_receive", _("To receive")),
            ("completed", _("Completed"))]
    return render(request, "orders/order_list.html", {"orders": orders, "tab": tab, "tabs": tabs})


def _order_for(request, number: str):
    """The order if it is this shopper's, or a guest order placed from this session; else 404."""
    try:
        return order_get_for_visitor(number=number, user=request.user, guest_orders=request.session.get(SESSION_GUEST_ORDERS))
    except NotFound:
        raise Http404(_("No such order.")) from None


def order_parcels(order) -> dict:
    """Each store's shipments of this order, read in that store's schema (one query per store)."""
    from fulfillment.selectors import shipments_for_order

    out = {}
    merchants = {m.merchant_id: m.merchant for m in order.suborders.all()}
    for merchant_id in sorted(merchants):
        with in_merchant_schema(merchants[merchant_id]):
            for suborder_id, rows in shipments_for_order(order_id=order.pk).items():
                out[(merchant_id, suborder_id)] = rows
    return out


@require_POST
def order_confirm_receipt(request, number: str, merchant_id: int, suborder_id: int):
    from fulfillment.shipments import suborder_confirm_receipt

    order = _order_for(request, number)
    mirror = next((m for m in order.suborders.all() if m.merchant_id == merchant_id and m.suborder_id == suborder_id), None)
    if mirror is None:
        raise Http404(_("No such parcel."))
    try:
        with in_merchant_schema(mirror.merchant):
            suborder_confirm_receipt(suborder_id=suborder_id, shopper_email=order.email, actor=request.user if request.user.is_authenticated else None)
        messages.success(request, _("Thank you: receipt confirmed."))
    except DomainError as err:
        messages.error(request, err.message)
    return redirect("order-detail", number=number)


def order_detail(request, number: str):
    order = _order_for(request, number)
    lines = defaultdict(list)
    for ln in order.lines.all():
        lines[(ln.merchant_id, ln.suborder_id)].append(ln)
    parcels = order_parcels(order)
    suborders = [{
        "mirror": m, "store": m.merchant.name, "status_label": SUBORDER_LABELS.get(m.status, m.status),
        "lines": lines[(m.merchant_id, m.suborder_id)], "parcels": parcels.get((m.merchant_id, m.suborder_id), []),
        "can_confirm": m.status in ("shipped", "partially_shipped"),
    } for m in order.suborders.all()]
    from orders.services.cancellations import order_cancellation_state  # the cancel buttons and requests

    cancel_state = order_cancellation_state(order=order)
    for s in suborders:
        s["cancel"] = cancel_state.get((s["mirror"].merchant_id, s["mirror"].suborder_id))
        s["cancel_lines"] = [(ln, s["cancel"]["lines"].get(ln.pk, 0)) for ln in s["lines"]] if s["cancel"] else []
    payment = getattr(order, "payment", None)
    refunds = list(refunds_for_order(order_id=order.pk))
    for r in refunds:
        r.status_label = REFUND_LABELS.get(r.status, r.status)
    can_pay = payment is not None and payment.status in PAYMENT_OPEN and order.expired_at is None
    return render(request, "orders/order_detail.html", {
        "order": order, "suborders": suborders, "payment": payment, "refunds": refunds,
        "payment_label": PAYMENT_LABELS.get(payment.status, payment.status) if payment else _("No payment yet"),
        "can_pay": can_pay, "gateways": gateways_offered() if can_pay else [],
        "can_cancel_order": sum(1 for s in suborders if s["cancel"] and s["cancel"]["mode"]) > 1,
    })


def order_pay_link(request, number: str, token: str):
    """The signed link a store emails with an order it entered (suborders.drafts.pay_link_url): remember
    the order in this session, as after a guest checkout, and open its page with the payment methods."""
    from suborders.drafts import pay_link_verify

    signed = pay_link_verify(token=token)
    if signed is None or signed[0] != number:
        raise Http404(_("This link is not valid (any more)."))
    remembered = request.session.get(SESSION_GUEST_ORDERS) or {}
    remembered.pop(number, None)
    remembered[number] = signed[1]
    request.session[SESSION_GUEST_ORDERS] = dict(list(remembered.items())[-20:])
    return redirect("order-detail", number=number)
