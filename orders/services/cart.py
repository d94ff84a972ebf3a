"""Cart writes (public). A cart holds (merchant, variant) lines with the price the shopper saw."""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.cross_schema import checkout_variants_many
from core.errors import MerchantSuspended, NotFound, ValidationFailed
from core.tenancy import platform_only
from orders.models import Cart, CartLine
from orders.validation import clean_quantity
from tenants.models import Merchant


@platform_only
def cart_get_or_create(*, shopper=None, token: str | None = None) -> Cart:
    """The shopper's open cart (signed in), or the guest cart named by `token`, or a new one."""
    if shopper is not None and getattr(shopper, "is_authenticated", False):
        cart = Cart.objects.filter(shopper=shopper, checked_out_at__isnull=True).first()
        if cart is None:
            try:
                with transaction.atomic():
                    cart = Cart.objects.create(shopper=shopper)
            except IntegrityError:  # a parallel request created it
                cart = Cart.objects.get(shopper=shopper, checked_out_at__isnull=True)
        if token:  # a guest who signs in keeps what they collected
            guest = Cart.objects.filter(token=token, shopper__isnull=True, checked_out_at__isnull=True).first()
            if guest is not None and guest.pk != cart.pk:
                _cart_merge(into=cart, source=guest)
        return cart
    if token:
        cart = Cart.objects.filter(token=token, shopper__isnull=True, checked_out_at__isnull=True).first()
        if cart is not None:
            return cart
    return Cart.objects.create()


def _cart_merge(*, into: Cart, source: Cart) -> None:
    with transaction.atomic():
        for line in source.lines.all():
            existing = into.lines.filter(merchant_id=line.merchant_id, variant_id=line.variant_id).first()
            if existing:
                existing.quantity = min(existing.quantity + line.quantity, 9999)
                existing.save(update_fields=["quantity"])
            else:
                line.pk = None
                line.cart = into
                line.save()
        source.delete()


def _variant_price(merchant: Merchant, variant_id: int) -> int:
    snap = checkout_variants_many(wanted={merchant.schema_name: [variant_id]})[merchant.schema_name].get(variant_id)
    if snap is None or not snap.is_active:
        raise NotFound(_("That product is not for sale."), field="variant_id")
    return snap.price_minor


@platform_only
def cart_add_line(*, cart: Cart, merchant_id: int, variant_id: int, quantity: int) -> CartLine:
    quantity = clean_quantity(quantity, field="quantity")
    merchant = Merchant.objects.filter(pk=merchant_id, is_template=False).first()
    if merchant is None:
        raise ValidationFailed(_("Unknown store."), field="merchant_id")
    if not merchant.is_active:
        raise MerchantSuspended(_("%(store)s is closed at the moment.") % {"store": merchant.name}, field="merchant_id")
    price = _variant_price(merchant, int(variant_id))
    with transaction.atomic():
        line = CartLine.objects.select_for_update().filter(cart=cart, merchant=merchant, variant_id=variant_id).first()
        if line is None:
            line = CartLine.objects.create(cart=cart, merchant=merchant, variant_id=variant_id, quantity=quantity,
                                           unit_price_seen_minor=price)
        else:
            line.quantity = clean_quantity(line.quantity + quantity, field="quantity")
            line.unit_price_seen_minor = price
            line.save(update_fields=["quantity", "unit_price_seen_minor"])
        Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return line


@platform_only
def cart_set_quantity(*, cart: Cart, line_id: int, quantity: int) -> CartLine | None:
    """Set a line's quantity; 0 removes it."""
    if quantity in (0, "0"):
        cart_remove_line(cart=cart, line_id=line_id)
        return None
    quantity = clean_quantity(quantity, field="quantity")
    line = CartLine.objects.filter(cart=cart, pk=line_id).first()
    if line is None:
        raise NotFound(_("That line is not in your cart."), field="line_id")
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    return line


@platform_only
def cart_remove_line(*, cart: Cart, line_id: int) -> None:
    CartLine.objects.filter(cart=cart, pk=line_id).delete()


@platform_only
def cart_accept_prices(*, cart: Cart, prices: dict[int, int]) -> None:
    """After the shopper was shown changed prices: record the new ones as seen."""
    for line in cart.lines.all():
        if line.pk in prices and prices[line.pk] != line.unit_price_seen_minor:
            line.unit_price_seen_minor = prices[line.pk]
            line.save(update_fields=["unit_price_seen_minor"])
