"""Demo: shipping rules per store, a platform voucher and a store voucher, and a few orders for shopper1.

Idempotent: a store that already has shipping rules, an existing voucher code, or a shopper who
already has demo orders is left alone. Registered in merchants.demo.DEMO_SEEDERS.
"""
from __future__ import annotations

from django.db import transaction

from catalog.models import StockLevel, Variant
from core.tenancy import in_merchant_schema
from fulfillment.models import ShippingRule
from fulfillment.services import shipping_rule_create
from orders.models import Order, Voucher
from orders.services import CheckoutLine, order_checkout
from permissions.models import User

# (name, regions, flat, per kg, free over) in CNY minor units; empty regions = everywhere.
RULES = [
    ("Standard 标准快递", [], 1000, 200, 19900),
    ("Express 顺丰次日达", [], 2500, 500, None),
    ("Same-city 同城配送", ["CN-SH", "CN-GD", "CN-ZJ"], 800, 0, 9900),
]
DEMO_ADDRESS = {"name": "沈购物 Shen Shopper", "phone": "+86 139 1234 5678", "line1": "100 Century Ave", "line2": "Apt 1201",
                "city": "Shanghai", "region": "CN-SH", "postcode": "200120", "country": "CN"}


def _buyable(merchant, n: int) -> list[int]:
    with in_merchant_schema(merchant):
        ids = (StockLevel.objects.filter(on_hand__gt=20, variant__is_active=True, variant__product__status="active")
               .order_by("variant_id").values_list("variant_id", flat=True).distinct()[:n])
        return list(ids) or list(Variant.objects.order_by("id").values_list("id", flat=True)[:n])


def seed_orders(merchants) -> None:
    for merchant in merchants:
        with in_merchant_schema(merchant):
            if not ShippingRule.objects.exists():
                for name, regions, flat, per_kg, free_over in RULES:
                    shipping_rule_create(actor=None, name=name, regions=regions, flat_minor=flat, per_kg_minor=per_kg,
                                         free_over_minor=free_over)
    with transaction.atomic():
        Voucher.objects.get_or_create(code="MALL10", defaults={"kind": "fixed", "amount_minor": 1000, "min_spend_minor": 10000,
                                                               "per_shopper_limit": 3})
        acme = next((m for m in merchants if m.slug == "acme"), None)
        if acme is not None:
            Voucher.objects.get_or_create(code="ACME15", defaults={"kind": "percent", "percent_bp": 1500, "merchant": acme})
    shopper = User.objects.filter(email="shopper1@example.com").first()
    if shopper is None or Order.objects.filter(shopper=shopper).exists():
        return
    picks = {m.pk: _buyable(m, 3) for m in merchants}
    for n in range(3):
        lines = [CheckoutLine(m.pk, picks[m.pk][n % len(picks[m.pk])], 1) for m in merchants[: n + 1] if picks[m.pk]]
        if lines:
            order_checkout(shopper=shopper, email=None, lines=lines, shipping_address=DEMO_ADDRESS,
                           idempotency_key=f"demo-order-{n}")
