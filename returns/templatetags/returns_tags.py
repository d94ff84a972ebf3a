"""`{% order_returns order as returns %}` on the shopper's order page: returns per suborder and which
delivered suborders can still be returned (read in each store's schema by returns.shopper)."""
from django import template

register = template.Library()


@register.simple_tag
def order_returns(order) -> dict:
    from returns.shopper import shopper_returnable, shopper_returns_for_order

    rets = shopper_returns_for_order(order=order)
    returnable = shopper_returnable(order=order)
    out = {}
    for m in order.suborders.all():
        key = f"{m.merchant_id}:{m.suborder_id}"
        out[key] = {"returns": [r for r in rets if r["merchant_id"] == m.merchant_id and r["suborder_id"] == m.suborder_id],
                    "can_return": any(ln["left"] for ln in returnable.get((m.merchant_id, m.suborder_id), []))}
    return out


@register.filter
def get_key(mapping, key):
    return (mapping or {}).get(key)


@register.simple_tag
def returns_of(order_rets, mirror) -> dict:
    return (order_rets or {}).get(f"{mirror.merchant_id}:{mirror.suborder_id}") or {"returns": [], "can_return": False}
