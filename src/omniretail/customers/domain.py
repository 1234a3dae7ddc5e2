"""Pure rules for finding one customer: phone numbers in E.164, a folded
search key (lower case, no accents), the placeholders of an erased person.
No Django here."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

CONSENT_PURPOSES = ("marketing_email", "marketing_sms", "profiling")
ERASED_FIRST_NAME = "Erased"
ERASED_TEXT = "erased"
_NOT_WORD = re.compile(r"[^\w@.+-]+")
# Letters that do not decompose into a base letter and an accent.
_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


class PhoneInvalid(ValueError):
    """The text is not a phone number that can be dialled."""


def phone_e164(raw: str, region: str | None) -> str:
    """'06 12 34 56 78' (region FR), '+33 6 12 34 56 78' or '0033612345678'
    -> '+33612345678'. Raises PhoneInvalid when it is not a valid number."""
    text = (raw or "").strip()
    if not text:
        raise PhoneInvalid("empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise PhoneInvalid(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneInvalid(f"{raw!r} is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """'+33612345678' -> '+33 6 12 34 56 78'."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def text_fold(text: str) -> str:
    """Lower case without accents: 'Léa  MÜLLER' -> 'lea muller'. The same
    folding is stored and applied to what is typed, so matching is portable
    (SQLite and PostgreSQL compare plain lower-case ASCII)."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold().translate(_UNDECOMPOSED))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", stripped).split())


def search_key(first_name: str, last_name: str, email: str | None) -> str:
    """What a name search looks in: ' lea martin lea.martin@example.com '.
    Padded with spaces so a word can be matched at its start (' mart')."""
    folded = text_fold(" ".join(p for p in (first_name, last_name, email or "") if p))
    return f" {folded} " if folded else ""


def query_words(query: str, *, limit: int = 4) -> list[str]:
    return text_fold(query).split()[:limit]


def looks_like_phone(query: str) -> bool:
    digits = sum(c.isdigit() for c in query)
    return digits >= 6 and all(c.isdigit() or c in " +-.()/" for c in query.strip())


@dataclass(frozen=True)
class ErasedIdentity:
    first_name: str
    last_name: str


def erased_identity(customer_id: int) -> ErasedIdentity:
    return ErasedIdentity(ERASED_FIRST_NAME, f"customer #{customer_id}")


def erased_address(address: dict[str, object]) -> dict[str, object]:
    """Every line of a shipping address replaced by a placeholder; the
    country stays (it identifies nobody and keeps tax and sales-by-country
    reports right)."""
    return {
        key: (value if key == "country" else (ERASED_TEXT if value not in ("", None) else value))
        for key, value in address.items()
    }
