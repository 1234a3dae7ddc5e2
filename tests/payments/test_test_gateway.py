"""The built-in test gateway behaves like a real one: tokens, idempotency,
partial capture and refunds, and signed webhook events delivered by a task."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.payments.gateways.base import GatewayError
from omniretail.payments.gateways.test import TestGateway
from omniretail.payments.models import GatewayTestCharge, GatewayTestEvent, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def gw():
    return TestGateway.from_settings()


def auth(gw, token, amount="20.00", key="k1", capture=False):
    return gw.authorise(
        amount=Decimal(amount), currency="EUR", token=token, idempotency_key=key, capture=capture
    )


@pytest.mark.parametrize(
    ("token", "capture", "status", "brand", "last4", "reason"),
    [
        ("tok_visa", True, "captured", "visa", "4242", ""),
        ("tok_visa", False, "authorised", "visa", "4242", ""),
        ("tok_visa_debit", True, "captured", "visa", "5556", ""),
        ("tok_mastercard", True, "captured", "mastercard", "4444", ""),
        ("tok_requires_capture", True, "authorised", "visa", "4242", ""),
        ("tok_chargeDeclined", True, "declined", "visa", "0002", "card_declined"),
        ("tok_insufficient_funds", True, "declined", "visa", "9995", "insufficient_funds"),
        ("tok_threeDSecureRequired", True, "requires_action", "visa", "3155", ""),
    ],
)
def test_tokens_decide_the_outcome(gw, token, capture, status, brand, last4, reason):
    result = auth(gw, token, capture=capture)
    assert (result.status, result.brand, result.last4, result.decline_reason) == (
        status,
        brand,
        last4,
        reason,
    )
    assert result.captured_amount == (Decimal("20.00") if status == "captured" else 0)
    assert result.reference.startswith("ch_test_")


def test_idempotency_key_returns_the_same_charge(gw):
    first = auth(gw, "tok_visa", key="same")
    again = auth(gw, "tok_visa", key="same")
    assert again.reference == first.reference
    assert GatewayTestCharge.objects.count() == 1
    with pytest.raises(GatewayError) as err:
        auth(gw, "tok_visa", amount="21.00", key="same")
    assert err.value.code == "idempotency_key_reused"


def test_partial_capture_then_partial_refunds_never_more_than_captured(gw):
    ref = auth(gw, "tok_visa", amount="80.00").reference
    captured = gw.capture(reference=ref, amount=Decimal("60.00"))
    assert (captured.status, captured.captured_amount) == ("captured", Decimal("60.00"))
    with pytest.raises(GatewayError):
        gw.capture(reference=ref, amount=Decimal("10.00"))  # already captured
    r1 = gw.refund(reference=ref, amount=Decimal("25.00"), idempotency_key="r1")
    assert r1.reference.startswith("re_test_")
    assert r1.amount == Decimal("25.00")
    assert gw.refund(reference=ref, amount=Decimal("25.00"), idempotency_key="r1") == r1
    with pytest.raises(GatewayError) as err:
        gw.refund(reference=ref, amount=Decimal("35.01"), idempotency_key="r2")
    assert err.value.code == "refund_exceeds_captured"
    r2 = gw.refund(reference=ref, amount=Decimal("35.00"), idempotency_key="r3")
    assert r2.refunded_amount == Decimal("60.00")
    charge = GatewayTestCharge.objects.get(reference=ref)
    assert (charge.captured_amount, charge.refunded_amount) == (Decimal("60.00"), Decimal("60"))


def test_void_only_an_authorisation_and_no_card_numbers(gw):
    ref = auth(gw, "tok_visa").reference
    assert gw.void(reference=ref).status == "voided"
    with pytest.raises(GatewayError):
        gw.void(reference=ref)
    with pytest.raises(GatewayError) as err:
        auth(gw, "4242424242424242", key="pan")
    assert err.value.code == "invalid_token"
    assert "4242424242424242" not in err.value.reason


def test_events_are_signed_and_delivered_by_a_task(gw, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ref = auth(gw, "tok_visa", amount="30.00").reference
        gw.capture(reference=ref)
    events = list(GatewayTestEvent.objects.order_by("id"))
    assert [e.type for e in events] == ["payment.authorised", "payment.captured"]
    assert all(e.delivered_at is not None and e.attempts == 1 for e in events)
    assert all(e.event_id.startswith("evt_test_") for e in events)
    assert events[1].data["amount_captured"] == 3000
    # Our receiver got both, verified them and found no payment of ours (the
    # gateway was called directly, not through card_authorise).
    received = WebhookEvent.objects.order_by("id")
    assert [(w.event_id, w.outcome) for w in received] == [
        (events[0].event_id, "unknown"),
        (events[1].event_id, "unknown"),
    ]


def test_undelivered_events_wait_for_the_sweep(gw, settings, django_capture_on_commit_callbacks):
    from omniretail.payments.gateways.test import gateway_test_sweep

    settings.OMNI_TEST_GATEWAY_WEBHOOK_SECRET = ""
    with django_capture_on_commit_callbacks(execute=True):
        auth(gw, "tok_visa", capture=True)
    event = GatewayTestEvent.objects.get()
    assert event.delivered_at is None
    assert event.attempts == 1
    assert "OMNI_TEST_GATEWAY_WEBHOOK_SECRET" in event.last_error
    settings.OMNI_TEST_GATEWAY_WEBHOOK_SECRET = "whsec_again_" + "x" * 20
    assert gateway_test_sweep(older_than_s=0) == 1
    event.refresh_from_db()
    assert event.delivered_at is not None
    assert event.attempts == 2
