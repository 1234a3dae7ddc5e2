"""Exact money: Decimal amounts with their currency, rounded at named points.

Every rounding rule of the system lives here so that the server, reports and
exports agree to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

RoundingPoint = Literal["unit", "line", "tax", "total"]

# Minor units per ISO 4217 currency; anything not listed has two decimals.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "TND": 3}

# Where a value is rounded and how. Tax is rounded half-even (banker's) per tax
# line as most EU tax authorities accept; prices and totals round half-up as a
# shopper expects.
ROUNDING: dict[RoundingPoint, str] = {
    "unit": ROUND_HALF_UP,
    "line": ROUND_HALF_UP,
    "tax": ROUND_HALF_EVEN,
    "total": ROUND_HALF_UP,
}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Parse a user or JSON value into a Decimal; floats are refused on purpose."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool | float):
        raise ValueError(f"{field}: send amounts as strings or integers, not floats ({value!r})")
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f'{field}: {value!r} is not a number; send e.g. "12.50"')
    else:
        raise ValueError(f"{field}: {value!r} is not an amount")
    if not result.is_finite():
        raise ValueError(f"{field}: {value!r} is not a finite amount")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ValueError(f"currency: {self.currency!r} is not an ISO 4217 code like 'EUR'")
        object.__setattr__(self, "currency", self.currency.upper())

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def of(cls, value: object, currency: str) -> Money:
        return cls(to_decimal(value), currency)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, float):
            raise TypeError("multiply Money by int or Decimal, never float")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    def round(self, point: RoundingPoint = "total") -> Money:
        return Money(
            self.amount.quantize(quantum(self.currency), rounding=ROUNDING[point]), self.currency
        )

    def round_to_step(self, step: Decimal) -> Money:
        """Cash rounding to the smallest coin in use (e.g. 0.05 CHF), half up."""
        if step <= 0:
            return self.round("total")
        units = (self.amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return Money(units * step, self.currency).round("total")

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.round('total').amount} {self.currency}"


def tax_from_gross(gross: Money, rate: Decimal) -> Money:
    """Tax contained in a tax-inclusive amount, rounded at the tax point."""
    return Money(gross.amount * rate / (Decimal(1) + rate), gross.currency).round("tax")


def tax_on_net(net: Money, rate: Decimal) -> Money:
    return Money(net.amount * rate, net.currency).round("tax")


def allocate(total: Money, weights: list[Decimal]) -> list[Money]:
    """Split `total` in proportion to `weights`; the rounding difference goes to
    the largest shares first so the parts always add up to the total exactly."""
    if not weights:
        return []
    q = quantum(total.currency)
    if total.amount != total.amount.quantize(q):
        raise ValueError(f"round the total ({total.amount}) to {q} before allocating it")
    if total.amount < 0:
        # A refund splits exactly like the sale it reverses.
        return [-part for part in allocate(-total, weights)]
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    raw = [total.amount * w / weight_sum for w in weights]
    parts = [r.quantize(q, rounding="ROUND_DOWN") for r in raw]
    remainder = total.amount - sum(parts, Decimal(0))
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - parts[i], weights[i]), reverse=True)
    step = q if remainder >= 0 else -q
    i = 0
    while remainder != 0:
        parts[order[i % len(order)]] += step
        remainder -= step
        i += 1
    return [Money(p, total.currency) for p in parts]
