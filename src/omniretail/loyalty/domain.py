"""Pure loyalty rules: points arithmetic, gift card codes. No Django."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_UP, Decimal

# Gift card codes: no 0/O, 1/I/L, so a code read aloud or typed from a card
# is not mistaken. 31 symbols, 16 random ones = about 79 bits: unguessable.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_RANDOM_LENGTH = 16
CODE_GROUP = 4

# A cumulative refunded fraction is kept to 12 places: three refunds of 1/3
# add up to 0.999999999999, which still rounds to every point earned.
FRACTION_PLACES = Decimal("0.000000000001")
FRACTION_SLACK = Decimal("0.000001")


@dataclass(frozen=True)
class Reference:
    """What a ledger entry belongs to: ("order", "42"), ("pos_sale", uuid)..."""

    type: str
    id: str

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"


def points_for(net_amount: Decimal, points_per_unit: Decimal) -> int:
    """Whole points earned on a net amount; fractions of a point are not earned."""
    if net_amount <= 0 or points_per_unit <= 0:
        return 0
    return int((net_amount * points_per_unit).to_integral_value(rounding=ROUND_DOWN))


def points_value(points: int, point_value: Decimal, quantum: Decimal) -> Decimal:
    """Money value of points, rounded half up to the currency's minor unit."""
    return (Decimal(points) * point_value).quantize(quantum, rounding=ROUND_HALF_UP)


def points_value_down(points: int, point_value: Decimal, quantum: Decimal) -> Decimal:
    """What points pay for at a till: never more than they are worth."""
    return (Decimal(points) * point_value).quantize(quantum, rounding=ROUND_DOWN)


def points_needed(amount: Decimal, point_value: Decimal) -> int:
    """Points that pay for `amount`: a part of a point counts as a whole one."""
    return int((amount / point_value).to_integral_value(rounding=ROUND_CEILING))


def fraction_add(done: Decimal, more: Decimal) -> Decimal | None:
    """The cumulative fraction after `more`, or None when it would exceed 1
    (beyond a rounding slack, which is clamped to exactly 1)."""
    total = (done + more).quantize(FRACTION_PLACES)
    if total > 1 + FRACTION_SLACK:
        return None
    return min(total, Decimal(1))


def points_due(points: int, cumulative_fraction: Decimal) -> int:
    """Points of an entry that a cumulative refunded fraction accounts for."""
    return int((Decimal(points) * cumulative_fraction).to_integral_value(rounding=ROUND_HALF_UP))


def _check_symbol(body: str) -> str:
    """Weighted sum modulo 31 (a prime, like ISBN-10's 11): weights 1, 2, 3...
    catch every single wrong symbol and every swap of two adjacent ones. The
    check symbol c makes sum(i * v_i) + (len + 1) * c = 0 (mod 31)."""
    n = len(CODE_ALPHABET)
    total = sum(i * CODE_ALPHABET.index(char) for i, char in enumerate(body, start=1))
    weight = len(body) + 1
    return CODE_ALPHABET[(-total * pow(weight, -1, n)) % n]


def giftcard_code_new() -> str:
    """A fresh code: 16 random symbols and a check symbol, shown in groups."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_RANDOM_LENGTH))
    return giftcard_code_format(body + _check_symbol(body))


def giftcard_code_format(code: str) -> str:
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def giftcard_code_normalise(raw: str) -> str:
    """Upper case without spaces or dashes; raises ValueError with a message
    for the person typing it when it cannot be a gift card code."""
    code = "".join(raw.split()).replace("-", "").upper()
    if len(code) != CODE_RANDOM_LENGTH + 1:
        raise ValueError(
            f"a gift card code has {CODE_RANDOM_LENGTH + 1} characters (got {len(code)}); "
            "type every character printed on the card"
        )
    bad = sorted({c for c in code if c not in CODE_ALPHABET})
    if bad:
        raise ValueError(
            f"a gift card code never contains {', '.join(bad)} (no 0, 1, I, L or O); "
            "re-read the card"
        )
    if _check_symbol(code[:-1]) != code[-1]:
        raise ValueError("this is not a valid gift card code (a character is wrong); re-read it")
    return code


def giftcard_code_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode()).hexdigest()
