"""Pure catalog rules: barcodes."""

from __future__ import annotations

from stdnum import ean
from stdnum.exceptions import ValidationError


def barcode_normalise(value: str) -> str:
    """Validate an EAN-8/EAN-13/UPC-A/GTIN-14 barcode and return its digits.

    Raises ValueError with a message that says what to fix.
    """
    digits = ean.compact(value or "")
    try:
        return str(ean.validate(digits))
    except ValidationError as exc:
        raise ValueError(
            f"barcode {value!r} is not a valid EAN/UPC ({exc}); check the digits and the "
            "check digit"
        ) from None


def barcode_with_check_digit(body: str) -> str:
    """Append the check digit to 7, 11, 12 or 13 digits."""
    return body + ean.calc_check_digit(body)
