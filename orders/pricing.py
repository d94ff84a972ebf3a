"""Pure checkout arithmetic: warehouse plans, shipping splits, voucher splits, totals.

No database here, so Hypothesis can hammer it. Every split uses the largest-remainder
allocator, so parts always sum to the whole: Σ suborder totals = order total, always.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.money import allocate, percent_of


@dataclass
class Line:
    index: int  # position in the shopper's request: errors name lines[index]
    merchant_id: int
    variant_id: int
    sku: str
    name: str
    unit_price_minor: int
    quantity: int
    weight_g: int = 0
    commission_bp: int = 0
    discount_minor: int = 0
    platform_discount_minor: int = 0

    @property
    def gross_minor(self) -> int:
        return self.unit_price_minor * self.quantity

    @property
    def total_minor(self) -> int:
        return self.gross_minor - self.discount_minor

    @property
    def commission_minor(self) -> int:
        # The platform-funded part of a discount is the platform's cost, not the merchant's.
        return percent_of(self.gross_minor - (self.discount_minor - self.platform_discount_minor), self.commission_bp)


@dataclass
class Shipment:
    """One suborder: the lines of one merchant shipping from one warehouse."""

    merchant_id: int
    warehouse_id: int
    warehouse_name: str
    reason: str
    lines: list[Line] = field(default_factory=list)
    shipping_minor: int = 0

    @property
    def subtotal_minor(self) -> int:
        return sum(line.gross_minor for line in self.lines)

    @property
    def discount_minor(self) -> int:
        return sum(line.discount_minor for line in self.lines)

    @property
    def platform_discount_minor(self) -> int:
        return sum(line.platform_discount_minor for line in self.lines)

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor - self.discount_minor + self.shipping_minor


@dataclass(frozen=True)
class WarehouseOption:
    warehouse_id: int
    name: str
    priority: int
    available: dict  # variant_id -> available units


def plan_warehouses(lines: list[Line], warehouses: list[WarehouseOption]) -> tuple[list[tuple[WarehouseOption, list[Line], str]], list[Line]]:
    """Choose a warehouse for every line of one merchant.

    Rules, in order: a warehouse must hold enough for the whole line; then prefer the
    warehouse that can ship the most remaining lines (fewest shipments); ties go to the
    better priority (lower number), then lower id. Returns (plan, lines that fit nowhere).
    """
    ordered = sorted(warehouses, key=lambda w: (w.priority, w.warehouse_id))
    remaining = list(lines)
    plan: list[tuple[WarehouseOption, list[Line], str]] = []
    while remaining:
        best = None
        best_fit: list[Line] = []
        for wh in ordered:
            fit = [ln for ln in remaining if wh.available.get(ln.variant_id, 0) >= ln.quantity]
            if len(fit) > len(best_fit):
                best, best_fit = wh, fit
        if best is None:
            return plan, remaining
        if len(best_fit) == len(lines):
            reason = f"{best.name}: holds every line; best priority ({best.priority}) among warehouses that do"
        elif len(best_fit) == len(remaining) and plan:
            reason = f"{best.name}: holds the remaining lines; priority {best.priority}"
        else:
            reason = f"{best.name}: holds {len(best_fit)} of {len(remaining)} remaining lines (most of any warehouse); priority {best.priority}"
        plan.append((best, best_fit, reason))
        fitted = {id(ln) for ln in best_fit}
        remaining = [ln for ln in remaining if id(ln) not in fitted]
        ordered = [w for w in ordered if w is not best]
    return plan, []


def split_shipping(shipments: list[Shipment], merchant_shipping_minor: int) -> None:
    """Spread one merchant's shipping charge over its shipments in proportion to their subtotals."""
    parts = allocate(merchant_shipping_minor, [s.subtotal_minor for s in shipments])
    for shipment, part in zip(shipments, parts, strict=True):
        shipment.shipping_minor = part


def apply_discount(lines: list[Line], discount_minor: int, *, platform_funded: bool) -> None:
    """Spread a discount over the lines it applies to, in proportion to their gross amounts."""
    if not lines or discount_minor <= 0:
        return
    gross = sum(ln.gross_minor for ln in lines)
    discount_minor = min(discount_minor, gross)  # a voucher never makes a line negative
    for line, part in zip(lines, allocate(discount_minor, [ln.gross_minor for ln in lines]), strict=True):
        line.discount_minor += part
        if platform_funded:
            line.platform_discount_minor += part


def order_totals(shipments: list[Shipment]) -> dict[str, int]:
    return {
        "subtotal_minor": sum(s.subtotal_minor for s in shipments),
        "shipping_minor": sum(s.shipping_minor for s in shipments),
        "discount_minor": sum(s.discount_minor for s in shipments),
        "total_minor": sum(s.total_minor for s in shipments),
    }
