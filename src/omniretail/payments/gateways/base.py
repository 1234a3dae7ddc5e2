"""The contract every card gateway adapter keeps: tokens in, references out.

Amounts cross this boundary as Decimal in the currency's major unit; each
adapter converts to what its gateway wants (Stripe: integer minor units).
No card number ever passes through here: a token, a brand and a last four.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

AUTHORISED = "authorised"
CAPTURED = "captured"
DECLINED = "declined"
REQUIRES_ACTION = "requires_action"
VOIDED = "voided"
REFUNDED = "refunded"
RESULT_STATUSES = (AUTHORISED, CAPTURED, DECLINED, REQUIRES_ACTION, VOIDED, REFUNDED)

# Normalised webhook event types (each adapter maps its own names onto these).
EVENT_AUTHORISED = "payment.authorised"
EVENT_CAPTURED = "payment.captured"
EVENT_VOIDED = "payment.voided"
EVENT_FAILED = "payment.failed"
EVENT_REFUNDED = "payment.refunded"
EVENT_IGNORED = "ignored"

_PAN_LIKE = re.compile(r"\d{12,19}")


class GatewayError(Exception):
    """The gateway refused a request or could not be reached. `reason` is
    safe to show (it never contains card data)."""

    def __init__(self, reason: str, *, code: str = "gateway_error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class SignatureInvalid(Exception):
    """A webhook whose signature, or timestamp, does not check out."""


class WebhookNotConfigured(Exception):
    """No webhook secret is configured: every webhook is refused (fail closed)."""


@dataclass(frozen=True)
class GatewayResult:
    """What the gateway answered. For a refund, `reference` and `amount` are
    the refund's own; the other calls describe the payment."""

    status: str
    reference: str
    amount: Decimal
    currency: str
    captured_amount: Decimal = Decimal(0)
    refunded_amount: Decimal = Decimal(0)
    brand: str = ""
    last4: str = ""
    decline_reason: str = ""


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook event, normalised. Amounts are the payment's
    cumulative state at the time of the event (like the object snapshots
    gateways send), so an event can be compared with what we already know."""

    id: str
    type: str
    reference: str
    created: dt.datetime
    currency: str = ""
    amount_captured: Decimal | None = None
    amount_refunded: Decimal | None = None
    failure_reason: str = ""


class PaymentGateway(Protocol):
    name: str

    def authorise(
        self,
        *,
        amount: Decimal,
        currency: str,
        token: str,
        idempotency_key: str,
        capture: bool,
    ) -> GatewayResult: ...

    def capture(self, *, reference: str, amount: Decimal | None = None) -> GatewayResult: ...

    def void(self, *, reference: str) -> GatewayResult: ...

    def refund(self, *, reference: str, amount: Decimal, idempotency_key: str) -> GatewayResult: ...

    def webhook_event(self, *, payload: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify the signature and parse the event; raises SignatureInvalid or
        WebhookNotConfigured."""
        ...


def token_check(token: str) -> None:
    """Refuse anything that looks like a card number instead of a token. The
    message never repeats the value."""
    if not token or not token.strip():
        raise GatewayError("a card token is required (e.g. tok_visa)", code="invalid_token")
    if _PAN_LIKE.search(token.replace(" ", "").replace("-", "")):
        raise GatewayError(
            "this looks like a card number: send the gateway's token, never the number",
            code="invalid_token",
        )


def header_get(headers: Mapping[str, str], name: str) -> str:
    """A header by name, whatever its case (Django's request.headers or a dict)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), "")
    return value or ""
