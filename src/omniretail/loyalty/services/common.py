"""Input checks shared by the points, gift card and store credit services."""

from __future__ import annotations

from decimal import Decimal

from omniretail.core.errors import ValidationFailed
from omniretail.core.money import quantum, to_decimal
from omniretail.loyalty.domain import Reference


def currency_code(currency: str, *, field: str = "currency") -> str:
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationFailed(
            f"{field}: {currency!r} is not an ISO 4217 code; send e.g. 'EUR'.", field=field
        )
    return code


def money_amount(value: object, currency: str, *, field: str = "amount") -> Decimal:
    """A positive amount with no more decimals than the currency has."""
    try:
        amount = to_decimal(value, field=field)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field=field)
    q = quantum(currency)
    if amount <= 0:
        raise ValidationFailed(f"{field} must be above 0 (got {amount}).", field=field)
    if amount != amount.quantize(q):
        raise ValidationFailed(
            f"{field} {amount} has more decimals than {currency} allows; round it to {q}.",
            field=field,
        )
    return amount.quantize(q)


def reference_check(reference: Reference, *, field: str = "reference") -> Reference:
    if not reference.type or not reference.id:
        raise ValidationFailed(f"{field} needs a type and an id (e.g. order 42).", field=field)
    if len(reference.type) > 32 or len(reference.id) > 64:
        raise ValidationFailed(
            f"{field}: the type is at most 32 characters and the id at most 64.", field=field
        )
    return reference
