"""The Stripe adapter end to end through the real `stripe` library, against
recorded responses replayed by an HTTP client plugged into StripeClient: no
network. And: no card-number-like digits in stored rows or in the logs."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import stripe

from omniretail.core.models import AuditLog, OutboxEvent
from omniretail.payments.gateways.stripe import StripeGateway
from omniretail.payments.models import Payment, Refund, WebhookEvent
from omniretail.payments.services import card_authorise, card_capture
from tests.payments.conftest import STRIPE_SECRET, open_order

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).parent / "recorded"
PAN_LIKE = re.compile(r"\d{13,19}")
# Ids and times that are long digit runs once dashes go, but never card numbers.
NOT_CARD_DATA = re.compile(
    r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"
    r"|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?"
)


def pan_like(text: str) -> str | None:
    """A card-number-like digit run (spaces and dashes ignored), if any."""
    digits = NOT_CARD_DATA.sub("", text).replace(" ", "").replace("-", "")
    found = PAN_LIKE.search(digits)
    return found.group(0) if found else None


class ReplayClient(stripe.HTTPClient):
    """Answers each request with the next recorded response, checking that the
    library asked for what we expected."""

    name = "replay"

    def __init__(self, script: list[tuple[str, str, str, int]]) -> None:
        super().__init__()
        self.script = list(script)
        self.requests: list[dict] = []

    def request(self, method, url, headers, post_data=None):
        expected_method, expected_path, fixture, status = self.script.pop(0)
        path = url.split("api.stripe.com", 1)[1].split("?", 1)[0]
        assert (method.upper(), path) == (expected_method, expected_path)
        form = parse_qs(post_data.decode() if isinstance(post_data, bytes) else post_data or "")
        self.requests.append({"method": method, "path": path, "form": form, "headers": headers})
        return (RECORDED / fixture).read_text(), status, {"request-id": "req_replay"}

    def close(self):
        pass


PI = "pi_3PqAbcLkdIwHu7ix1Ab2Cd3E"


def gateway(script):
    client = ReplayClient(script)
    return StripeGateway(
        api_key="sk_test_recorded", webhook_secret=STRIPE_SECRET, http_client=client
    ), client


def test_authorise_manual_capture_partially_and_refund():
    gw, http = gateway(
        [
            ("POST", "/v1/payment_intents", "payment_intent_requires_capture.json", 200),
            ("GET", f"/v1/payment_intents/{PI}", "payment_intent_requires_capture.json", 200),
            ("POST", f"/v1/payment_intents/{PI}/capture", "payment_intent_captured.json", 200),
            ("GET", f"/v1/payment_intents/{PI}", "payment_intent_captured.json", 200),
            ("POST", "/v1/refunds", "refund_succeeded.json", 200),
        ]
    )
    result = gw.authorise(
        amount=Decimal("40.00"),
        currency="EUR",
        token="tok_visa",
        idempotency_key="k-1",
        capture=False,
    )
    assert (result.status, result.reference, result.brand, result.last4) == (
        "authorised",
        PI,
        "visa",
        "4242",
    )
    assert result.amount == Decimal("40.00")
    sent = http.requests[0]
    assert sent["form"]["amount"] == ["4000"]
    assert sent["form"]["currency"] == ["eur"]
    assert sent["form"]["capture_method"] == ["manual"]
    assert sent["form"]["confirm"] == ["true"]
    assert sent["form"]["payment_method_data[card][token]"] == ["tok_visa"]
    assert sent["headers"]["Idempotency-Key"] == "k-1"
    captured = gw.capture(reference=PI, amount=Decimal("30.00"))
    assert http.requests[2]["form"]["amount_to_capture"] == ["3000"]
    assert (captured.status, captured.captured_amount) == ("captured", Decimal("30.00"))
    refund = gw.refund(reference=PI, amount=Decimal("12.50"), idempotency_key="r-1")
    assert http.requests[4]["form"] == {"payment_intent": [PI], "amount": ["1250"]}
    assert (refund.status, refund.reference, refund.amount) == (
        "refunded",
        "re_3PqAbcLkdIwHu7ix1Rf5Gh6J",
        Decimal("12.50"),
    )
    assert http.script == []


def test_void_and_decline():
    gw, http = gateway(
        [
            ("POST", f"/v1/payment_intents/{PI}/cancel", "payment_intent_canceled.json", 200),
            ("POST", "/v1/payment_intents", "error_card_declined.json", 402),
        ]
    )
    assert gw.void(reference=PI).status == "voided"
    declined = gw.authorise(
        amount=Decimal("40.00"),
        currency="EUR",
        token="pm_card_visa_chargeDeclinedInsufficientFunds",
        idempotency_key="k-2",
        capture=True,
    )
    assert (declined.status, declined.decline_reason, declined.reference) == (
        "declined",
        "insufficient_funds",
        "pi_3PqZzzLkdIwHu7ix0As1Df2G",
    )
    assert http.requests[1]["form"]["payment_method"] == [
        "pm_card_visa_chargeDeclinedInsufficientFunds"
    ]
    assert http.requests[1]["form"]["capture_method"] == ["automatic"]


def stripe_signed(payload: str, secret: str = STRIPE_SECRET, at: int | None = None) -> str:
    stamp = at or int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def post_stripe(client, payload: str, signature: str):
    return client.post(
        "/api/v1/payments/webhooks/stripe",
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )


def test_stripe_webhooks_verified_by_the_library_and_applied_once(
    client, shop, cashier, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    settings.OMNI_GATEWAY = "stripe"
    StripeGateway.http_client = ReplayClient(
        [
            ("POST", "/v1/payment_intents", "payment_intent_requires_capture.json", 200),
            ("GET", f"/v1/payment_intents/{PI}", "payment_intent_requires_capture.json", 200),
            ("POST", f"/v1/payment_intents/{PI}/capture", "payment_intent_captured.json", 200),
        ]
    )
    order = open_order(shop, "40.00")
    payment = card_authorise(
        order_id=order.pk,
        amount=Decimal("40.00"),
        token="tok_visa",
        actor=cashier,
        idempotency_key=str(uuid.uuid4()),
    )
    assert (payment.gateway, payment.gateway_reference, payment.card_last4) == (
        "stripe",
        PI,
        "4242",
    )
    payment = card_capture(payment=payment, actor=cashier)
    assert payment.captured_amount == Decimal("30.00")  # what Stripe says was captured

    refunded = (RECORDED / "event_charge_refunded.json").read_text()
    r = post_stripe(client, refunded, stripe_signed(refunded, "whsec_forged"))
    assert r.status_code == 400
    r = post_stripe(client, refunded, stripe_signed(refunded, at=int(time.time()) - 600))
    assert r.status_code == 400
    r = post_stripe(client, refunded, stripe_signed(refunded))
    assert r.json()["status"] == "processed"
    assert post_stripe(client, refunded, stripe_signed(refunded)).json()["status"] == "duplicate"
    succeeded = (RECORDED / "event_payment_intent_succeeded.json").read_text()
    assert post_stripe(client, succeeded, stripe_signed(succeeded)).json()["status"] == "stale"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("12.50"))
    assert Refund.objects.get().reason == "refunded at the gateway (reported by webhook)"
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert post_stripe(client, refunded, stripe_signed(refunded)).status_code == 503

    # A clerk who types a card number instead of a token is refused, and the
    # number is neither stored nor logged.
    with pytest.raises(Exception) as err:
        card_authorise(
            order_id=open_order(shop, "10.00").pk,
            amount=Decimal("10.00"),
            token="4242 4242 4242 4242",
            actor=cashier,
            idempotency_key="pan",
        )
    assert "4242 4242" not in str(err.value)
    stored = [
        json.dumps(list(model.objects.values()), default=str)
        for model in (Payment, Refund, WebhookEvent, AuditLog, OutboxEvent)
    ]
    for text in [*stored, caplog.text]:
        assert pan_like(text) is None
    assert "stripe" in caplog.text.lower()  # the library did log (its requests), safely
