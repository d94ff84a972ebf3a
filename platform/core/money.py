"""Money: integer minor units plus an ISO 4217 currency. Never floats."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from core.inputs import parse_decimal

# Minor-unit exponents for the currencies we price in; ISO 4217.
CURRENCY_EXPONENTS = {"CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "HKD": 2, "JPY": 0, "KRW": 0}
# The largest amount any parsed input may carry, in minor units: far above any price or order, far
# below a bigint column, so a typed amount can never overflow the database.
MAX_MINOR = 10**15


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValidationFailed(f"Unsupported currency {currency!r}.", field="currency") from None


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int")
        exponent(self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {getattr(other, 'currency', other)!r}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, qty: int) -> Money:
        if not isinstance(qty, int):
            raise TypeError("Money can only be multiplied by an int")
        return Money(self.minor * qty, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str | int | Decimal, currency: str, *, field: str = "price") -> Money:
        """Parse a decimal amount such as "12.34"; refuse more decimals than the currency has."""
        # length and exponent are bounded before Decimal() runs (1e400000 would cost seconds of CPU)
        shown = str(text)[:40]
        value = parse_decimal(text, field=field, message=_("%(text)s is not an amount.") % {"text": repr(shown)})
        exp = exponent(currency)
        scaled = value.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise ValidationFailed(
                f"{text} has more than {exp} decimal places for {currency}.", field=field
            )
        minor = int(scaled)
        if abs(minor) > MAX_MINOR:
            raise ValidationFailed(_("%(text)s is too large an amount.") % {"text": shown}, field=field)
        return cls(minor, currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def format(self) -> str:
        exp = exponent(self.currency)
        return f"{self.currency} {self.to_decimal():,.{exp}f}"

    def __str__(self) -> str:
        return self.format()


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` minor units in proportion to `weights` (largest remainder).

    The parts always sum to `total` exactly; ties go to the earlier weight.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    wsum = sum(weights)
    if wsum == 0:
        weights = [1] * len(weights)
        wsum = len(weights)
    sign = -1 if total < 0 else 1
    amount = abs(total)
    floors = [amount * w // wsum for w in weights]
    remainders = [amount * w % wsum for w in weights]
    left = amount - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * f for f in floors]


def percent_of(amount_minor: int, basis_points: int) -> int:
    """`basis_points` (1/100 of a percent) of an amount, rounded half up to the minor unit."""
    return int((Decimal(amount_minor) * basis_points / Decimal(10000)).to_integral_value(ROUND_HALF_UP))
