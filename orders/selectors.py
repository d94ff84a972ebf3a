"""Order reads for shoppers and operators. The order's status is derived here, never stored."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from catalog.cross_schema import checkout_variants_many
from core.errors import NotFound
from fulfillment.selectors import shipping_rules_many
from fulfillment.shipping import quote
from orders.models import Cart, Order
from suborders.states import SubOrderStatus as S

ORDER_STATUS_LABELS = {
    "awaiting_payment": _("Awaiting payment"),
    "cancelled": _("Cancelled"),
    "processing": _("Processing"),
    "partially_shipped": _("Partially shipped"),
    "shipped": _("Shipped"),
    "delivered": _("Delivered"),
    "completed": _("Completed"),
    "refused": _("Refused by the stores"),
    "payment_failed": _("Payment failed"),
    "refunded": _("Refunded"),
}


def order_status(*, payment_status: str | None, suborder_statuses: list[str], expired: bool) -> str:
    """The shopper-facing status of an order, from its payment and its suborders."""
    live = [s for s in suborder_statuses if s not in (S.CANCELLED, S.REFUSED)]
    if expired or not suborder_statuses or (not live and all(s == S.CANCELLED for s in suborder_statuses)):
        return "cancelled"
    if not live:
        return "refused"
    if payment_status == "failed":
        return "payment_failed"
    if payment_status in (None, "pending", "requires_action"):
        return "awaiting_payment"
    if payment_status == "refunded":
        return "refunded"
    if all(s == S.COMPLETED for s in live):
        return "completed"
    if all(s in (S.DELIVERED, S.COMPLETED) for s in live):
        return "delivered"
    if all(s in (S.SHIPPED, S.DELIVERED, S.COMPLETED) for s in live):
        return "shipped"
    if any(s in (S.SHIPPED, S.PARTIALLY_SHIPPED, S.DELIVERED, S.COMPLETED) for s in live):
        return "partially_shipped"
    return "processing"


def order_status_of(order: Order) -> str:
    payment = getattr(order, "payment", None)
    return order_status(payment_status=payment.status if payment else None,
                        suborder_statuses=[m.status for m in order.suborders.all()], expired=order.expired_at is not None)


def order_annotate_status(order: Order) -> Order:
    order.derived_status = order_status_of(order)
    order.derived_status_label = ORDER_STATUS_LABELS[order.derived_status]
    return order


def _owned(qs, *, shopper=None, email: str | None = None):
    if shopper is not None and getattr(shopper, "is_authenticated", False):
        return qs.filter(shopper=shopper)
    if email:
        return qs.filter(shopper__isnull=True, email=email)
    return qs.none()


def order_list_for_shopper(*, shopper, limit: int = 50):
    orders = list(_owned(Order.objects.select_related("payment").prefetch_related("suborders__merchant"), shopper=shopper)[:limit])
    for o in orders:
        order_annotate_status(o)
    return orders


def order_row_get_for_shopper(*, number: str, shopper=None, email: str | None = None) -> Order:
    """The shopper's order row alone (NotFound if it is not theirs), for actions on the order that need
    none of its suborders, lines or status (starting a payment): one statement instead of four."""
    order = _owned(Order.objects.all(), shopper=shopper, email=email).filter(number=number).first()
    if order is None:
        raise NotFound(_("No such order."), field="number")
    return order


def order_get_for_shopper(*, number: str, shopper=None, email: str | None = None) -> Order:
    order = (_owned(Order.objects.select_related("payment", "voucher").prefetch_related("suborders__merchant", "lines"),
                    shopper=shopper, email=email).filter(number=number).first())
    if order is None:
        raise NotFound(_("No such order."), field="number")
    return order_annotate_status(order)


@dataclass
class CartLineView:
    id: int
    variant_id: int
    sku: str
    name: str
    quantity: int
    unit_price_minor: int
    seen_price_minor: int
    available: int
    is_active: bool

    @property
    def price_changed(self) -> bool:
        return self.unit_price_minor != self.seen_price_minor

    @property
    def line_total_minor(self) -> int:
        return self.unit_price_minor * self.quantity

    @property
    def short(self) -> bool:
        return self.quantity > self.available


@dataclass
class CartStoreView:
    merchant: object
    lines: list[CartLineView] = field(default_factory=list)
    shipping_options: list = field(default_factory=list)  # fulfillment.shipping.Quote

    @property
    def subtotal_minor(self) -> int:
        return sum(ln.line_total_minor for ln in self.lines if ln.is_active)

    @property
    def cheapest_shipping_minor(self) -> int:
        return min((q.cost_minor for q in self.shipping_options), default=0)


def cart_view(*, cart: Cart, region: str = "") -> list[CartStoreView]:
    """The cart grouped by store with live prices, availability and shipping options (3 queries)."""
    lines = list(cart.lines.select_related("merchant").order_by("merchant_id", "id"))
    stores: dict[int, CartStoreView] = {}
    for ln in lines:
        stores.setdefault(ln.merchant_id, CartStoreView(ln.merchant))
    wanted: dict[str, list[int]] = {}
    for ln in lines:
        wanted.setdefault(ln.merchant.schema_name, []).append(ln.variant_id)
    snaps = checkout_variants_many(wanted=wanted) if wanted else {}
    rules = shipping_rules_many(schemas=list(wanted)) if wanted else {}
    for ln in lines:
        snap = snaps.get(ln.merchant.schema_name, {}).get(ln.variant_id)
        stores[ln.merchant_id].lines.append(CartLineView(
            id=ln.pk, variant_id=ln.variant_id, sku=snap.sku if snap else "?", name=snap.name if snap else str(_("Unavailable product")),
            quantity=ln.quantity, unit_price_minor=snap.price_minor if snap else ln.unit_price_seen_minor,
            seen_price_minor=ln.unit_price_seen_minor,
            available=max((a for _, _, a in snap.stock.values()), default=0) if snap else 0,
            is_active=bool(snap and snap.is_active and ln.merchant.is_active),
        ))
    for store in stores.values():
        weight = 0
        for ln in store.lines:
            snap = snaps.get(store.merchant.schema_name, {}).get(ln.variant_id)
            weight += (snap.weight_g if snap else 0) * ln.quantity
        store_rules = rules.get(store.merchant.schema_name, [])
        if store_rules:
            store.shipping_options = [q for q in (quote(r, subtotal_minor=store.subtotal_minor, weight_g=weight, region=region)
                                                  for r in store_rules) if q]
    return list(stores.values())


def order_get_for_visitor(*, number: str, user, guest_orders: dict | None) -> Order:
    """The order if it is this signed-in shopper's, or a guest order remembered by this session; else NotFound."""
    attempts = []
    if user is not None and user.is_authenticated:
        attempts.append({"shopper": user})
    guest_email = (guest_orders or {}).get(number)
    if guest_email:
        attempts.append({"email": guest_email})
    for who in attempts:
        try:
            return order_get_for_shopper(number=number, **who)
        except NotFound:
            continue
    raise NotFound(_("No such order."), field="number")


def orders_imported_keys(*, scope: str, keys: list[str]) -> set[str]:
    """Which external order ids of an import scope (orders.services.channel.import_scope) have an order."""
    if not keys:
        return set()
    return set(Order.objects.filter(idempotency_scope=scope, idempotency_key__in=keys).values_list("idempotency_key", flat=True))


def cart_item_count(*, shopper=None, token: str | None = None) -> int:
    """Units in the visitor's open cart (the header's cart badge): one indexed query, no cart created."""
    from django.db.models import Sum

    from orders.models import CartLine

    if shopper is not None and getattr(shopper, "is_authenticated", False):
        lines = CartLine.objects.filter(cart__shopper=shopper, cart__checked_out_at__isnull=True)
    elif token:
        lines = CartLine.objects.filter(cart__token=token, cart__shopper__isnull=True, cart__checked_out_at__isnull=True)
    else:
        return 0
    return int(lines.aggregate(n=Sum("quantity"))["n"] or 0)
