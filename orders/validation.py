"""Input checks shared by the checkout API and pages: clear errors naming the field."""
from __future__ import annotations

import re

from core.errors import ValidationFailed

MAX_LINE_QUANTITY = 9999
MAX_LINES = 100
ADDRESS_FIELDS = {"name": 100, "phone": 30, "line1": 200, "line2": 200, "city": 100, "region": 60, "postcode": 20, "country": 2}
REQUIRED_ADDRESS = ("name", "phone", "line1", "city", "region", "postcode", "country")
PHONE_RE = re.compile(r"^\+?[0-9 ()-]{5,30}$")


def clean_quantity(value, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        else:
            raise ValidationFailed("Quantity must be a whole number.", field=field)
    if value < 1 or value > MAX_LINE_QUANTITY:
        raise ValidationFailed(f"Quantity must be between 1 and {MAX_LINE_QUANTITY}.", field=field)
    return value


def clean_address(raw, *, field: str = "shipping_address") -> dict:
    if not isinstance(raw, dict):
        raise ValidationFailed("The address must be an object with name, phone, line1, city, region, postcode and country.", field=field)
    unknown = set(raw) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown address field(s): {', '.join(sorted(unknown))}.", field=f"{field}.{sorted(unknown)[0]}")
    out = {}
    for key, max_len in ADDRESS_FIELDS.items():
        value = raw.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ValidationFailed(f"Address {key} must be text.", field=f"{field}.{key}")
        value = value.strip()
        if key in REQUIRED_ADDRESS and not value:
            raise ValidationFailed(f"Address {key} is required.", field=f"{field}.{key}")
        if len(value) > max_len:
            raise ValidationFailed(f"Address {key} is longer than {max_len} characters.", field=f"{field}.{key}")
        out[key] = value
    out["country"] = out["country"].upper()
    if not re.fullmatch(r"[A-Z]{2}", out["country"]):
        raise ValidationFailed("Country must be a two-letter ISO code such as CN.", field=f"{field}.country")
    if not PHONE_RE.match(out["phone"]):
        raise ValidationFailed("Phone number looks wrong.", field=f"{field}.phone")
    return out


def clean_email(value, *, field: str = "email") -> str:
    value = (value or "").strip().lower() if isinstance(value, str) else ""
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValidationFailed("Enter a valid email address.", field=field)
    return value
