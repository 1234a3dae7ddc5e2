"""Stripe adapter on the official `stripe` library (PaymentIntents).

Authorise = create and confirm a PaymentIntent with the token
(capture_method manual, or automatic to charge at once); capture, cancel
and refunds map one to one. Webhooks are verified with the library's own
signature check (Stripe-Signature, 5 minutes tolerance). Amounts go to
Stripe in minor units. Only the PaymentIntent id, the brand and the last
four digits come back into our tables.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import stripe
from django.conf import settings

from omniretail.core.money import minor_units
from omniretail.payments.gateways.base import (
    AUTHORISED,
    CAPTURED,
    DECLINED,
    EVENT_AUTHORISED,
    EVENT_CAPTURED,
    EVENT_FAILED,
    EVENT_IGNORED,
    EVENT_REFUNDED,
    EVENT_VOIDED,
    REFUNDED,
    REQUIRES_ACTION,
    VOIDED,
    GatewayError,
    GatewayEvent,
    GatewayResult,
    SignatureInvalid,
    WebhookNotConfigured,
    header_get,
    token_check,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_S = 300

_STATUSES = {
    "requires_capture": AUTHORISED,
    "succeeded": CAPTURED,
    "canceled": VOIDED,
    "requires_action": REQUIRES_ACTION,
    "requires_payment_method": DECLINED,
}

_EVENTS = {
    "payment_intent.amount_capturable_updated": EVENT_AUTHORISED,
    "payment_intent.succeeded": EVENT_CAPTURED,
    "payment_intent.canceled": EVENT_VOIDED,
    "payment_intent.payment_failed": EVENT_FAILED,
    "charge.refunded": EVENT_REFUNDED,
}


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(minor_units(currency)))


def from_minor(value: int | None, currency: str) -> Decimal:
    return Decimal(value or 0).scaleb(-minor_units(currency))


class StripeGateway:
    """`PaymentGateway` on Stripe PaymentIntents."""

    name = "stripe"
    # Tests plug a replaying stripe.HTTPClient in here; None = the library's own.
    http_client: ClassVar[stripe.HTTPClient | None] = None

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str = "",
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self._http_client = http_client or type(self).http_client

    @classmethod
    def from_settings(cls) -> StripeGateway:
        return cls(api_key=settings.STRIPE_API_KEY, webhook_secret=settings.STRIPE_WEBHOOK_SECRET)

    def _client(self) -> stripe.StripeClient:
        if not self.api_key:
            raise GatewayError(
                "STRIPE_API_KEY is not set; export it to take cards through Stripe",
                code="not_configured",
            )
        return stripe.StripeClient(
            self.api_key, http_client=self._http_client, max_network_retries=2
        )

    def _result(self, intent: Any, currency: str | None = None) -> GatewayResult:
        currency = (currency or intent["currency"]).upper()
        brand, last4 = "", ""
        charge = intent.get("latest_charge")
        if isinstance(charge, Mapping):
            card = (charge.get("payment_method_details") or {}).get("card") or {}
            brand, last4 = str(card.get("brand") or ""), str(card.get("last4") or "")
        error = intent.get("last_payment_error") or {}
        return GatewayResult(
            status=_STATUSES.get(intent["status"], intent["status"]),
            reference=intent["id"],
            amount=from_minor(intent["amount"], currency),
            currency=currency,
            captured_amount=from_minor(intent.get("amount_received"), currency),
            brand=brand,
            last4=last4,
            decline_reason=str(error.get("decline_code") or error.get("code") or ""),
        )

    def authorise(
        self,
        *,
        amount: Decimal,
        currency: str,
        token: str,
        idempotency_key: str,
        capture: bool,
    ) -> GatewayResult:
        token_check(token)
        params: dict[str, Any] = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "confirm": True,
            "capture_method": "automatic" if capture else "manual",
            "payment_method_types": ["card"],
            "expand": ["latest_charge"],
        }
        if token.startswith("pm_"):
            params["payment_method"] = token
        else:
            params["payment_method_data"] = {"type": "card", "card": {"token": token}}
        try:
            intent = self._client().v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as exc:
            return self._declined(exc, amount, currency)
        except stripe.StripeError as exc:
            raise self._error(exc)
        return self._result(intent, currency)

    def _declined(self, exc: stripe.CardError, amount: Decimal, currency: str) -> GatewayResult:
        body = exc.json_body if isinstance(exc.json_body, dict) else {}
        error = body.get("error") or {}
        intent = error.get("payment_intent") or {}
        return GatewayResult(
            status=DECLINED,
            reference=str(intent.get("id") or ""),
            amount=amount,
            currency=currency,
            decline_reason=str(error.get("decline_code") or exc.code or "card_declined"),
        )

    def _error(self, exc: stripe.StripeError) -> GatewayError:
        # The message is Stripe's (it never holds card data); the code is stable.
        log.warning("stripe refused a request: %s (%s)", exc.code, exc.http_status)
        return GatewayError(exc.user_message or str(exc), code=str(exc.code or "stripe_error"))

    def capture(self, *, reference: str, amount: Decimal | None = None) -> GatewayResult:
        try:
            client = self._client()
            params: dict[str, Any] = {}
            if amount is not None:
                intent = client.v1.payment_intents.retrieve(reference)
                params["amount_to_capture"] = to_minor(amount, intent["currency"].upper())
            intent = client.v1.payment_intents.capture(reference, params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise self._error(exc)
        return self._result(intent)

    def void(self, *, reference: str) -> GatewayResult:
        try:
            intent = self._client().v1.payment_intents.cancel(reference)
        except stripe.StripeError as exc:
            raise self._error(exc)
        return self._result(intent)

    def refund(self, *, reference: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        try:
            client = self._client()
            intent = client.v1.payment_intents.retrieve(reference)
            currency = intent["currency"].upper()
            refund = client.v1.refunds.create(
                params={"payment_intent": reference, "amount": to_minor(amount, currency)},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise self._error(exc)
        if refund["status"] not in ("succeeded", "pending"):
            raise GatewayError(f"refund is {refund['status']}", code="refund_failed")
        return GatewayResult(
            status=REFUNDED,
            reference=refund["id"],
            amount=from_minor(refund["amount"], currency),
            currency=currency,
            captured_amount=from_minor(intent.get("amount_received"), currency),
        )

    def webhook_event(self, *, payload: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        if not self.webhook_secret:
            raise WebhookNotConfigured(
                "STRIPE_WEBHOOK_SECRET is not set: Stripe webhooks are refused"
            )
        text = payload.decode("utf-8")
        try:
            stripe.WebhookSignature.verify_header(
                text, header_get(headers, SIGNATURE_HEADER), self.webhook_secret, TOLERANCE_S
            )
        except stripe.SignatureVerificationError as exc:
            raise SignatureInvalid(str(exc))
        try:
            body = json.loads(text)
            return _event_parse(body)
        except (ValueError, KeyError, TypeError):
            raise SignatureInvalid("the signed payload is not a Stripe event")


def _event_parse(body: dict[str, Any]) -> GatewayEvent:
    obj = body["data"]["object"]
    kind = _EVENTS.get(body["type"], EVENT_IGNORED)
    currency = str(obj.get("currency") or "").upper()
    created = dt.datetime.fromtimestamp(int(body["created"]), tz=dt.UTC)
    if kind == EVENT_IGNORED:
        return GatewayEvent(id=body["id"], type=body["type"], reference="", created=created)
    if obj.get("object") == "charge":
        return GatewayEvent(
            id=body["id"],
            type=kind,
            reference=str(obj.get("payment_intent") or ""),
            created=created,
            currency=currency,
            amount_captured=from_minor(obj.get("amount_captured"), currency),
            amount_refunded=from_minor(obj.get("amount_refunded"), currency),
        )
    error = obj.get("last_payment_error") or {}
    return GatewayEvent(
        id=body["id"],
        type=kind,
        reference=str(obj["id"]),
        created=created,
        currency=currency,
        amount_captured=from_minor(obj.get("amount_received"), currency),
        amount_refunded=None,
        failure_reason=str(error.get("decline_code") or error.get("code") or ""),
    )
