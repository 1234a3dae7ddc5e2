"""Incoming gateway webhooks: verified, claimed once, applied forward-only.

The claim is a unique (gateway, event id) row inserted in the transaction
that applies the event, so a replayed or duplicated delivery is processed
once even when two arrive together. Events carry the payment's cumulative
amounts; one that would move the state backwards is recorded as stale and
otherwise ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from omniretail.core.events import event_publish
from omniretail.payments.domain import CardState, card_state_after_event
from omniretail.payments.events import PaymentCaptured, PaymentRefunded, PaymentVoided
from omniretail.payments.gateways.base import GatewayEvent
from omniretail.payments.gateways.registry import gateway_get
from omniretail.payments.models import Payment, Refund, WebhookEvent

log = logging.getLogger(__name__)

PROCESSED, DUPLICATE, STALE, UNKNOWN = "processed", "duplicate", "stale", "unknown"


@dataclass(frozen=True)
class WebhookResult:
    status: str  # processed | duplicate | stale | unknown
    event_id: str
    type: str


def webhook_receive(*, gateway: str, payload: bytes, headers: Mapping[str, str]) -> WebhookResult:
    """Verify (raises SignatureInvalid / WebhookNotConfigured) and apply once."""
    adapter = gateway_get(gateway)
    event = adapter.webhook_event(payload=payload, headers=headers)
    return webhook_apply(gateway=gateway, event=event)


@transaction.atomic
def webhook_apply(*, gateway: str, event: GatewayEvent) -> WebhookResult:
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                gateway=gateway,
                event_id=event.id,
                type=event.type,
                reference=event.reference,
                created=event.created,
                outcome=WebhookEvent.Outcome.UNKNOWN,
            )
    except IntegrityError:
        log.info("webhook %s %s already processed", gateway, event.id)
        return WebhookResult(DUPLICATE, event.id, event.type)
    payment = (
        Payment.objects.select_for_update()
        .filter(gateway=gateway, gateway_reference=event.reference, tender=Payment.Tender.CARD)
        .first()
        if event.reference
        else None
    )
    if payment is None:
        row.detail = "no card payment with this reference"
        row.save(update_fields=["detail"])
        return WebhookResult(UNKNOWN, event.id, event.type)
    row.payment = payment
    current = CardState(payment.status, payment.captured_amount, payment.refunded_amount)
    new = card_state_after_event(
        current,
        event.type,
        amount_captured=event.amount_captured,
        amount_refunded=event.amount_refunded,
    )
    if new is None:
        row.outcome = WebhookEvent.Outcome.STALE
        row.detail = f"payment is already {payment.status}: nothing to change"
        row.save(update_fields=["payment", "outcome", "detail"])
        return WebhookResult(STALE, event.id, event.type)
    _apply(payment, current, new, gateway=gateway)
    row.outcome = WebhookEvent.Outcome.APPLIED
    row.detail = f"{current.status} → {new.status}"
    row.save(update_fields=["payment", "outcome", "detail"])
    return WebhookResult(PROCESSED, event.id, event.type)


def _apply(payment: Payment, old: CardState, new: CardState, *, gateway: str) -> None:
    payment.status = new.status
    payment.captured_amount = new.captured
    payment.refunded_amount = new.refunded
    payment.save(update_fields=["status", "captured_amount", "refunded_amount", "updated_at"])
    common: dict[str, Any] = {
        "payment_id": payment.pk,
        "order_id": payment.order_id,
        "currency": payment.currency,
    }
    if old.status == "authorised" and new.captured is not None and new.status != "voided":
        event_publish(
            PaymentCaptured(**common, gateway=gateway, amount=str(new.captured), source="webhook")
        )
    if new.status == "voided":
        event_publish(
            PaymentVoided(**common, gateway=gateway, amount=str(payment.amount), source="webhook")
        )
    if new.refunded > old.refunded:
        # Refunded at the gateway (its dashboard, or our call whose answer was
        # lost): record it so the refunds add up to the payment's refunded amount.
        refund = Refund.objects.create(
            payment=payment,
            tender=payment.tender,
            amount=new.refunded - old.refunded,
            currency=payment.currency,
            reason="refunded at the gateway (reported by webhook)",
            status=Refund.Status.SUCCEEDED,
            requested_by=f"gateway:{gateway}",
        )
        event_publish(
            PaymentRefunded(
                **common,
                refund_id=refund.pk,
                tender=payment.tender,
                status=refund.status,
                amount=str(refund.amount),
                store_id=None,
                terminal_id=None,
                drawer_session_id=None,
                source="webhook",
            )
        )
