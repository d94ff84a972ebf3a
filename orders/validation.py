"""Input checks shared by the checkout API and pages: clear errors naming the field."""
from __future__ import annotations

import re

from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from core.inputs import is_ascii_digits

MAX_LINE_QUANTITY = 9999
MAX_LINES = 100
ADDRESS_FIELDS = {"name": 100, "phone": 30, "line1": 200, "line2": 200, "city": 100, "district": 100, "region": 60,
                  "postcode": 20, "country": 2}
# Region and postcode depend on the country (accounts.regions: Hong Kong has no postcodes, a Chinese
# address names its province, city and district from GB/T 2260); `district` is optional for API clients
# written before it existed.
REQUIRED_ADDRESS = ("name", "phone", "line1", "city", "country")


def clean_quantity(value, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        # ASCII digits only, length bounded before int() (core.inputs): "²".isdigit() is True, int("²") fails
        if isinstance(value, str) and is_ascii_digits(value.strip()):
            value = int(value.strip())
        else:
            raise ValidationFailed(_("Quantity must be a whole number."), field=field)
    if value < 1 or value > MAX_LINE_QUANTITY:
        raise ValidationFailed(_("Quantity must be between 1 and %(max)s.") % {"max": MAX_LINE_QUANTITY}, field=field)
    return value


def clean_address(raw, *, field: str = "shipping_address") -> dict:
    if not isinstance(raw, dict):
        raise ValidationFailed(_("The address must be an object with name, phone, line1, city, district, region, postcode and country."), field=field)
    unknown = set(raw) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown address field(s): %(fields)s.") % {"fields": ", ".join(sorted(unknown))}, field=f"{field}.{sorted(unknown)[0]}")
    out = {}
    for key, max_len in ADDRESS_FIELDS.items():
        value = raw.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ValidationFailed(_("Address %(field)s must be text.") % {"field": key}, field=f"{field}.{key}")
        value = value.strip()
        if key in REQUIRED_ADDRESS and not value:
            raise ValidationFailed(_("Address %(field)s is required.") % {"field": key}, field=f"{field}.{key}")
        if len(value) > max_len:
            raise ValidationFailed(_("Address %(field)s is longer than %(max)s characters.") % {"field": key, "max": max_len}, field=f"{field}.{key}")
        out[key] = value
    from accounts.regions import address_check

    return address_check(out, field=field)


def clean_email(value, *, field: str = "email") -> str:
    value = (value or "").strip().lower() if isinstance(value, str) else ""
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValidationFailed(_("Enter a valid email address."), field=field)
    return value
