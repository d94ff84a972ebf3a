"""Shipping quotes: pure arithmetic over a merchant's ShippingRule rows."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quote:
    rule_id: int
    name: str
    cost_minor: int


def quote(rule, *, subtotal_minor: int, weight_g: int, region: str) -> Quote | None:
    """Cost of shipping a store's part of a cart with `rule`, or None if the rule does not serve `region`."""
    if not rule.is_active:
        return None
    if rule.regions and region not in rule.regions:
        return None
    if rule.free_over_minor is not None and subtotal_minor >= rule.free_over_minor:
        return Quote(rule.pk, rule.name, 0)
    started_kg = -(-max(weight_g, 0) // 1000)  # every started kilogram counts
    return Quote(rule.pk, rule.name, rule.flat_minor + rule.per_kg_minor * started_kg)
