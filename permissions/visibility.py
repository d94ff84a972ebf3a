"""What of an order a role may see: amounts (warehouse never), and contact details (finance masked).

One place decides, from the role table's `amounts.view` and `contacts.view`; pages, API serializers,
exports and documents ask here instead of checking role names.
"""
from __future__ import annotations

from dataclasses import dataclass

from permissions.selectors import user_can

ADDRESS_KEEP_MASKED = ("region", "city", "district", "country", "postcode")


@dataclass(frozen=True)
class FieldAccess:
    amounts: bool  # prices, totals, discounts, payments and refunds
    contacts: bool  # shopper's phone, street and full name unmasked


FULL = FieldAccess(amounts=True, contacts=True)


def field_access(*, user, merchant) -> FieldAccess:
    if getattr(user, "is_staff", False) or merchant is None:
        return FULL
    cache = getattr(user, "_mallard_field_access", None)
    if cache is None:
        cache = user._mallard_field_access = {}
    if merchant.pk not in cache:
        cache[merchant.pk] = FieldAccess(amounts=user_can(user=user, merchant=merchant, capability="amounts.view"),
                                         contacts=user_can(user=user, merchant=merchant, capability="contacts.view"))
    return cache[merchant.pk]


def mask_phone(phone) -> str:
    """`+86 138 1234 5678` → `138****5678`: the first three and last four digits of the number."""
    digits = "".join(ch for ch in str(phone or "") if ch.isdigit() and ch.isascii())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) <= 4:
        return "*" * len(digits)
    head = digits[:3] if len(digits) >= 10 else ""
    return f"{head}{'*' * (len(digits) - len(head) - 4)}{digits[-4:]}"


def mask_name(name) -> str:
    name = str(name or "").strip()
    return (name[0] + "*" * min(len(name) - 1, 3)) if name else ""


def mask_address(address: dict | None) -> dict:
    """District level only: region, city, district, country and postcode; the name initial and a masked phone."""
    a = address or {}
    out = {k: a.get(k, "") for k in ADDRESS_KEEP_MASKED if a.get(k)}
    if a.get("name"):
        out["name"] = mask_name(a["name"])
    if a.get("phone"):
        out["phone"] = mask_phone(a["phone"])
    return out


def address_for(access: FieldAccess, address: dict | None) -> dict:
    return dict(address or {}) if access.contacts else mask_address(address)


AMOUNT_KEYS = frozenset({"price", "amount", "total", "subtotal", "refunds", "payment", "payments"})
CONTACT_KEYS = frozenset({"shipping_address", "billing_address", "address"})


def mask_email(email) -> str:
    local, _at, domain = str(email or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else ""


def redact(data, access: FieldAccess):
    """A JSON-ready value with what `access` hides taken out: without amounts, every `*_minor` key and
    the amount keys are dropped (not nulled: a warehouse response has no amount fields at all);
    without contacts, addresses are masked to the district, phones and emails masked."""
    if access.amounts and access.contacts:
        return data
    if isinstance(data, list):
        return [redact(item, access) for item in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if not access.amounts and (key.endswith("_minor") or key in AMOUNT_KEYS):
            continue
        if not access.contacts:
            if key in CONTACT_KEYS and isinstance(value, dict):
                out[key] = mask_address(value)
                continue
            if key in ("phone", "shopper_phone"):
                out[key] = mask_phone(value)
                continue
            if key in ("email", "shopper_email"):
                out[key] = mask_email(value)
                continue
        out[key] = redact(value, access)
    return out
