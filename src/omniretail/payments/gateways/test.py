"""The built-in test gateway: behaves like a real one, with no network.

It keeps its own books in tables (charges, refunds, outgoing events), so it
works across processes like an outside service. Test tokens decide the
outcome (see TOKENS). Every state change owes us a webhook event, signed with
HMAC-SHA256 over "<timestamp>.<body>" with OMNI_TEST_GATEWAY_WEBHOOK_SECRET
and delivered after commit by a background task to our webhook receiver.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from omniretail.core.money import minor_units
from omniretail.payments.gateways.base import (
    AUTHORISED,
    CAPTURED,
    DECLINED,
    EVENT_AUTHORISED,
    EVENT_CAPTURED,
    EVENT_FAILED,
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
from omniretail.payments.models import GatewayTestCharge, GatewayTestEvent, GatewayTestRefund
from omniretail.payments.webhooks import webhook_receive

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Omni-Signature"
TOLERANCE_S = 300


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    decline_reason: str = ""
    manual_capture: bool = False
    requires_action: bool = False


TOKENS: dict[str, TestCard] = {
    "tok_visa": TestCard("visa", "4242"),
    "tok_visa_debit": TestCard("visa", "5556"),
    "tok_mastercard": TestCard("mastercard", "4444"),
    "tok_amex": TestCard("amex", "8431"),
    "tok_chargeDeclined": TestCard("visa", "0002", decline_reason="card_declined"),
    "tok_insufficient_funds": TestCard("visa", "9995", decline_reason="insufficient_funds"),
    "tok_expired_card": TestCard("visa", "0069", decline_reason="expired_card"),
    "tok_requires_capture": TestCard("visa", "4242", manual_capture=True),
    "tok_threeDSecureRequired": TestCard("visa", "3155", requires_action=True),
}

# Letters only after the prefix: a reference can never look like a card number.
_ALPHABET = string.ascii_lowercase


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def _to_minor(amount: Decimal, currency: str) -> int:
    return int(Decimal(amount).scaleb(minor_units(currency)))


def _from_minor(value: int, currency: str) -> Decimal:
    return Decimal(value).scaleb(-minor_units(currency))


def signature_header(*, secret: str, payload: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _result(charge: GatewayTestCharge, status: str | None = None) -> GatewayResult:
    return GatewayResult(
        status=status or charge.status,
        reference=charge.reference,
        amount=charge.amount,
        currency=charge.currency,
        captured_amount=charge.captured_amount,
        refunded_amount=charge.refunded_amount,
        brand=charge.brand,
        last4=charge.last4,
        decline_reason=charge.decline_reason,
    )


def _event_owe(charge: GatewayTestCharge, event_type: str) -> None:
    """Write the event in the gateway's transaction; deliver it after commit."""
    event = GatewayTestEvent.objects.create(
        event_id=_new_id("evt_test_"),
        type=event_type,
        created_at=timezone.now(),
        data={
            "reference": charge.reference,
            "currency": charge.currency,
            "amount": _to_minor(charge.amount, charge.currency),
            "amount_captured": _to_minor(charge.captured_amount, charge.currency),
            "amount_refunded": _to_minor(charge.refunded_amount, charge.currency),
            "failure_reason": charge.decline_reason,
        },
    )
    event_id = event.event_id
    transaction.on_commit(lambda: _enqueue(event_id))


def _enqueue(event_id: str) -> None:
    try:
        gateway_test_deliver.enqueue(event_id)
    except Exception:
        log.exception("could not enqueue test gateway event %s; the sweep retries", event_id)


class TestGateway:
    """`PaymentGateway` for demos and tests."""

    __test__ = False  # not a pytest test class
    name = "test"

    def __init__(self, *, webhook_secret: str = "") -> None:
        self.webhook_secret = webhook_secret

    @classmethod
    def from_settings(cls) -> TestGateway:
        return cls(webhook_secret=settings.OMNI_TEST_GATEWAY_WEBHOOK_SECRET)

    # --- payments -----------------------------------------------------------------------

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
        card = TOKENS.get(token)
        if card is None:
            raise GatewayError(
                f"unknown test token; use one of {', '.join(sorted(TOKENS))}",
                code="invalid_token",
            )
        if amount <= 0:
            raise GatewayError("amount must be above 0", code="invalid_amount")
        with transaction.atomic():
            existing = GatewayTestCharge.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return self._replay(existing, amount, currency)
            if card.decline_reason:
                status = DECLINED
            elif card.requires_action:
                status = REQUIRES_ACTION
            elif capture and not card.manual_capture:
                status = CAPTURED
            else:
                status = AUTHORISED
            try:
                with transaction.atomic():
                    charge = GatewayTestCharge.objects.create(
                        reference=_new_id("ch_test_"),
                        idempotency_key=idempotency_key,
                        currency=currency,
                        amount=amount,
                        captured_amount=amount if status == CAPTURED else Decimal(0),
                        status=status,
                        brand=card.brand,
                        last4=card.last4,
                        decline_reason=card.decline_reason,
                    )
            except IntegrityError:
                # A concurrent request with the same key won: answer as it did.
                existing = GatewayTestCharge.objects.get(idempotency_key=idempotency_key)
                return self._replay(existing, amount, currency)
            event_type = {
                DECLINED: EVENT_FAILED,
                CAPTURED: EVENT_CAPTURED,
                AUTHORISED: EVENT_AUTHORISED,
            }.get(status)
            if event_type:
                _event_owe(charge, event_type)
        return _result(charge)

    def _replay(self, charge: GatewayTestCharge, amount: Decimal, currency: str) -> GatewayResult:
        if charge.amount != amount or charge.currency != currency:
            raise GatewayError(
                "idempotency key already used for another amount; use a new key",
                code="idempotency_key_reused",
            )
        return _result(charge)

    def _locked(self, reference: str) -> GatewayTestCharge:
        charge = GatewayTestCharge.objects.select_for_update().filter(reference=reference).first()
        if charge is None:
            raise GatewayError(f"no such charge {reference}", code="not_found")
        return charge

    def capture(self, *, reference: str, amount: Decimal | None = None) -> GatewayResult:
        with transaction.atomic():
            charge = self._locked(reference)
            if charge.status != AUTHORISED:
                raise GatewayError(
                    f"charge is {charge.status}; only an authorised charge can be captured",
                    code="invalid_state",
                )
            amount = charge.amount if amount is None else amount
            if amount <= 0 or amount > charge.amount:
                raise GatewayError(
                    f"capture amount must be above 0 and at most the authorised {charge.amount}",
                    code="invalid_amount",
                )
            charge.captured_amount = amount
            charge.status = CAPTURED
            charge.save(update_fields=["captured_amount", "status"])
            _event_owe(charge, EVENT_CAPTURED)
        return _result(charge)

    def void(self, *, reference: str) -> GatewayResult:
        with transaction.atomic():
            charge = self._locked(reference)
            if charge.status != AUTHORISED:
                raise GatewayError(
                    f"charge is {charge.status}; only an authorised charge can be voided",
                    code="invalid_state",
                )
            charge.status = VOIDED
            charge.save(update_fields=["status"])
            _event_owe(charge, EVENT_VOIDED)
        return _result(charge)

    def refund(self, *, reference: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        with transaction.atomic():
            charge = self._locked(reference)
            done = GatewayTestRefund.objects.filter(idempotency_key=idempotency_key).first()
            if done is not None:
                if done.charge_id != charge.pk or done.amount != amount:
                    raise GatewayError(
                        "idempotency key already used for another refund; use a new key",
                        code="idempotency_key_reused",
                    )
                return replace(_result(charge, REFUNDED), reference=done.reference, amount=amount)
            if charge.status not in (CAPTURED, REFUNDED):
                raise GatewayError(
                    f"charge is {charge.status}; only a captured charge can be refunded",
                    code="invalid_state",
                )
            left = charge.captured_amount - charge.refunded_amount
            if amount <= 0 or amount > left:
                raise GatewayError(
                    f"refund must be above 0 and at most {left} (captured "
                    f"{charge.captured_amount}, refunded {charge.refunded_amount})",
                    code="refund_exceeds_captured",
                )
            refund = GatewayTestRefund.objects.create(
                reference=_new_id("re_test_"),
                charge=charge,
                idempotency_key=idempotency_key,
                amount=amount,
            )
            charge.refunded_amount += amount
            charge.status = REFUNDED
            charge.save(update_fields=["refunded_amount", "status"])
            _event_owe(charge, EVENT_REFUNDED)
        return replace(_result(charge, REFUNDED), reference=refund.reference, amount=amount)

    # --- webhooks ------------------------------------------------------------------------

    def webhook_event(self, *, payload: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        if not self.webhook_secret:
            raise WebhookNotConfigured(
                "OMNI_TEST_GATEWAY_WEBHOOK_SECRET is not set: test gateway webhooks are refused"
            )
        header = header_get(headers, SIGNATURE_HEADER)
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise SignatureInvalid(f"missing or malformed {SIGNATURE_HEADER} header")
        expected = signature_header(
            secret=self.webhook_secret, payload=payload, timestamp=timestamp
        )
        if not hmac.compare_digest(expected, f"t={timestamp},v1={parts.get('v1', '')}"):
            raise SignatureInvalid("signature does not match the payload")
        if abs(time.time() - timestamp) > TOLERANCE_S:
            raise SignatureInvalid(
                f"timestamp is more than {TOLERANCE_S} s away from now (replayed or stale)"
            )
        return _event_parse(payload)

    def webhook_headers(self, *, payload: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The headers the gateway sends with `payload` (signed now)."""
        if not self.webhook_secret:
            raise WebhookNotConfigured(
                "OMNI_TEST_GATEWAY_WEBHOOK_SECRET is not set: cannot sign test gateway webhooks"
            )
        stamp = int(time.time()) if timestamp is None else timestamp
        return {
            SIGNATURE_HEADER: signature_header(
                secret=self.webhook_secret, payload=payload, timestamp=stamp
            ),
            "Content-Type": "application/json",
        }


def _event_parse(payload: bytes) -> GatewayEvent:
    try:
        body: dict[str, Any] = json.loads(payload)
        data = body["data"]
        currency = str(data["currency"])
        return GatewayEvent(
            id=str(body["id"]),
            type=str(body["type"]),
            reference=str(data["reference"]),
            created=dt.datetime.fromtimestamp(int(body["created"]), tz=dt.UTC),
            currency=currency,
            amount_captured=_from_minor(int(data["amount_captured"]), currency),
            amount_refunded=_from_minor(int(data["amount_refunded"]), currency),
            failure_reason=str(data.get("failure_reason") or ""),
        )
    except (ValueError, KeyError, TypeError):
        raise SignatureInvalid("the signed payload is not a test gateway event")


def event_body(event: GatewayTestEvent) -> bytes:
    return json.dumps(
        {
            "id": event.event_id,
            "type": event.type,
            "created": int(event.created_at.timestamp()),
            "data": event.data,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


def gateway_test_deliver_one(event_id: str) -> bool:
    """Sign one owed event now and hand it to our webhook receiver (the same
    code the HTTP endpoint runs). True once it is accepted."""
    event = GatewayTestEvent.objects.filter(event_id=event_id).first()
    if event is None or event.delivered_at is not None:
        return True
    payload = event_body(event)
    try:
        headers = TestGateway.from_settings().webhook_headers(payload=payload)
        webhook_receive(gateway="test", payload=payload, headers=headers)
    except Exception as exc:
        GatewayTestEvent.objects.filter(pk=event.pk).update(
            attempts=event.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:300]
        )
        log.warning("test gateway event %s not delivered: %s", event_id, exc)
        return False
    GatewayTestEvent.objects.filter(pk=event.pk).update(
        attempts=event.attempts + 1, delivered_at=timezone.now(), last_error=""
    )
    return True


@task()
def gateway_test_deliver(event_id: str) -> bool:
    """Deliver one test gateway webhook event (retried by the sweep)."""
    return gateway_test_deliver_one(event_id)


def gateway_test_sweep(*, older_than_s: int = 30, max_attempts: int = 10) -> int:
    """Redeliver owed events whose first delivery failed or was lost."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_s)
    ids = GatewayTestEvent.objects.filter(
        delivered_at__isnull=True, created_at__lte=cutoff, attempts__lt=max_attempts
    ).values_list("event_id", flat=True)[:500]
    return sum(gateway_test_deliver_one(event_id) for event_id in list(ids))
