"""Input at the edge: the one set of parsers for numbers, ids, quantities, amounts and free text.

Every parser bounds the text's length (and a decimal's exponent) *before* converting it, refuses
NUL and non-ASCII digits (`²`, `١`: `str.isdigit()` says yes, `int()` then says no or reads them
as something else) and raises `ValidationFailed` naming the field, so hostile input is a 400 with
the field at fault, never a 500 and never seconds of CPU (`Decimal("1e400000")` arithmetic).
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from core.errors import ValidationFailed

MAX_INT_DIGITS = 18  # fits a PostgreSQL bigint
MAX_DECIMAL_LENGTH = 40  # characters of a decimal number's text, sign and exponent included
MAX_DECIMAL_EXPONENT = 30  # |adjusted exponent|: 1e30 is already far beyond any price or weight
BIGINT_MAX = 2**63 - 1

_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")


def has_nul(text: str) -> bool:
    return "\x00" in text


def is_ascii_digits(text: object, *, max_length: int = MAX_INT_DIGITS) -> bool:
    """True for a non-empty run of ASCII digits 0-9 no longer than `max_length` (a safe `int()` input)."""
    return isinstance(text, str) and 0 < len(text) <= max_length and text.isascii() and text.isdigit()


def is_malformed(text: object) -> bool:
    """Text that only looks like a number: digits other than 0-9 (`²`, `١`) or a run of digits too long
    for any id or quantity. (Plain words such as "abc" are ordinary wrong answers, not malformed.)"""
    if not isinstance(text, str):
        return False
    text = text.strip()
    if any(ch.isdigit() and not ch.isascii() for ch in text):
        return True
    return text.isascii() and text.isdigit() and len(text) > MAX_INT_DIGITS


def refuse_malformed(text: object, *, field: str) -> None:
    """Raise a 400 naming `field` when `text` is malformed (see is_malformed)."""
    if is_malformed(text):
        raise ValidationFailed(_("Write whole numbers with the digits 0-9, at most %(n)s of them.") % {"n": MAX_INT_DIGITS},
                               field=field)


def parse_int(value: object, *, field: str, minimum: int | None = None, maximum: int | None = None,
              message: str | None = None) -> int:
    """A whole number from an int or from text of ASCII digits (optionally signed when negatives are allowed)."""
    if isinstance(value, bool):
        raise ValidationFailed(message or _("Must be a whole number."), field=field)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if not is_ascii_digits(digits):
            raise ValidationFailed(message or _("Must be a whole number."), field=field)
        number = int(text)
    else:
        raise ValidationFailed(message or _("Must be a whole number."), field=field)
    if minimum is not None and number < minimum:
        raise ValidationFailed(message or _("Must be at least %(min)s.") % {"min": minimum}, field=field)
    if maximum is not None and number > maximum:
        raise ValidationFailed(message or _("Must be at most %(max)s.") % {"max": maximum}, field=field)
    return number


def parse_id(value: object, *, field: str) -> int:
    """A row id: a positive bigint."""
    return parse_int(value, field=field, minimum=1, maximum=BIGINT_MAX, message=_("Must be a valid id."))


def parse_optional_id(value: object, *, field: str) -> int | None:
    """An id, or None for an absent or empty value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_id(value, field=field)


def parse_decimal(value: object, *, field: str, max_length: int = MAX_DECIMAL_LENGTH,
                  max_exponent: int = MAX_DECIMAL_EXPONENT, message: str | None = None) -> Decimal:
    """A finite decimal such as "12.34" or "1.5e2"; length and exponent bounded before `Decimal()` runs."""
    if isinstance(value, bool):
        raise ValidationFailed(message or _("Must be a number."), field=field)
    text = str(value).strip() if isinstance(value, int | float | Decimal) else value
    if not isinstance(text, str):
        raise ValidationFailed(message or _("Must be a number."), field=field)
    text = text.strip()
    if len(text) > max_length or not text.isascii() or not _DECIMAL_RE.fullmatch(text):
        raise ValidationFailed(message or _("Must be a number."), field=field)
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):  # pragma: no cover - the pattern admits only valid literals
        raise ValidationFailed(message or _("Must be a number."), field=field) from None
    if not number.is_finite() or (number and abs(number.adjusted()) > max_exponent):
        raise ValidationFailed(message or _("The number is out of range."), field=field)
    return number


def clean_text(value: object, *, field: str, max_length: int, required: bool = False) -> str:
    """Free text: stripped, no NUL, at most `max_length` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(_("Must be text."), field=field)
    if has_nul(value):
        raise ValidationFailed(_("Must not contain NUL characters."), field=field)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(_("This field is required."), field=field)
    if len(value) > max_length:
        raise ValidationFailed(_("Must be at most %(max)s characters.") % {"max": max_length}, field=field)
    return value
