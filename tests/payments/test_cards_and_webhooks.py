"""Card payments through the services, refunds with the cashier's limit, and
the webhook endpoint: forged, unconfigured, stale, replayed, out of order."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog, OutboxEvent
from omniretail.payments.drawers import drawer_close, drawer_open
from omniretail.payments.gateways.test import TestGateway
from omniretail.payments.models import Payment, Refund, WebhookEvent
from omniretail.payments.services import (
    card_authorise,
    card_capture,
    card_void,
    payment_refund,
)
from tests.payments.conftest import TEST_SECRET, cash_sale, open_order

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/webhooks/test"


def authorise(order, actor, amount="100.00", token="tok_visa", key="a1", capture=False):
    return card_authorise(
        order_id=order.pk,
        amount=Decimal(amount),
        token=token,
        actor=actor,
        idempotency_key=key,
        capture=capture,
    )


def test_authorise_capture_partially_and_refund(shop, cashier, manager):
    order = open_order(shop)
    payment = authorise(order, cashier)
    assert (payment.status, payment.card_brand, payment.card_last4) == (
        "authorised",
        "visa",
        "4242",
    )
    assert authorise(order, cashier).pk == payment.pk  # same key: same payment
    with pytest.raises(ValidationFailed) as err:
        authorise(order, cashier, amount="0.01", key="a2")
    assert err.value.field == "amount"  # nothing left to authorise
    payment = card_capture(payment=payment, actor=cashier, amount=Decimal("90.00"))
    assert (payment.status, payment.captured_amount) == ("captured", Decimal("90.00"))
    refund = payment_refund(
        payment=payment, amount=Decimal("30.00"), reason="scratch", actor=cashier
    )
    assert (refund.status, refund.gateway_reference[:8]) == ("succeeded", "re_test_")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("30.00"))
    with pytest.raises(ValidationFailed) as err:
        payment_refund(payment=payment, amount=Decimal("60.01"), reason="x", actor=manager)
    assert err.value.field == "amount"
    names = list(OutboxEvent.objects.order_by("created_at").values_list("name", flat=True))
    assert names == ["payment.card_authorised", "payment.captured", "payment.refunded"]


def test_declines_store_nothing(shop, cashier):
    order = open_order(shop)
    with pytest.raises(Conflict) as err:
        authorise(order, cashier, token="tok_insufficient_funds")
    assert (err.value.code, err.value.field) == ("card_declined", "token")
    assert "insufficient_funds" in err.value.message
    with pytest.raises(Conflict) as err:
        authorise(order, cashier, token="tok_threeDSecureRequired", key="b")
    assert err.value.code == "requires_action"
    with pytest.raises(ValidationFailed) as err:
        authorise(order, cashier, token="4000 0000 0000 0002", key="c")
    assert err.value.field == "token"
    assert "0002" not in err.value.message
    assert Payment.objects.count() == 0


def test_void_and_refund_rules(shop, cashier):
    order = open_order(shop)
    payment = authorise(order, cashier)
    with pytest.raises(Conflict):
        payment_refund(payment=payment, amount=Decimal("1.00"), reason="x", actor=cashier)
    payment = card_void(payment=payment, actor=cashier)
    assert payment.status == "voided"
    with pytest.raises(Conflict):
        card_capture(payment=payment, actor=cashier)
    # The voided authorisation no longer counts: the order can be paid again.
    assert authorise(order, cashier, key="again", capture=True).status == "captured"


def test_cashier_refund_limit_needs_a_managers_approval(shop, cashier, manager):
    order = open_order(shop, "200.00")
    payment = authorise(order, cashier, amount="200.00", capture=True)
    payment_refund(payment=payment, amount=Decimal("40.00"), reason="fit", actor=cashier)
    with pytest.raises(PermissionDenied) as err:  # 40 + 20 > 50 without approval
        payment_refund(payment=payment, amount=Decimal("20.00"), reason="fit", actor=cashier)
    assert err.value.field == "approved_by"
    assert "50.00" in err.value.message
    with pytest.raises(PermissionDenied) as err:
        payment_refund(
            payment=payment,
            amount=Decimal("20.00"),
            reason="fit",
            actor=cashier,
            approved_by=cashier,
        )
    assert err.value.field == "approved_by"
    refund = payment_refund(
        payment=payment,
        amount=Decimal("120.00"),
        reason="faulty",
        actor=cashier,
        approved_by=manager,
    )
    assert refund.approved_by_id == manager.user_id
    log = AuditLog.objects.filter(action="payment.refund").order_by("id").last()
    assert log.data["approved_by"] == "user:max.manager"
    assert log.reason == "faulty"
    assert log.actor_label == "user:cora.cashier"
    # A manager refunds above the limit on their own authority.
    assert payment_refund(payment=payment, amount=Decimal("40.00"), reason="x", actor=manager)
    assert Refund.objects.filter(payment=payment).count() == 3


def test_cash_refund_comes_out_of_an_open_drawer(stocked, cashier):
    first = drawer_open(terminal=stocked.terminal, float_amount=Decimal("100"), actor=cashier)
    sale = cash_sale(stocked, [(stocked.mug, 1)], "12.50")
    payment = sale.order.payments.get()
    drawer_close(session=first, counted={"100": 1, "10": 1, "2": 1, "0.50": 1}, actor=cashier)
    with pytest.raises(ValidationFailed) as err:
        payment_refund(payment=payment, amount=Decimal("12.50"), reason="chipped", actor=cashier)
    assert err.value.field == "terminal"
    assert "open the drawer first" in err.value.message
    session = drawer_open(terminal=stocked.terminal, float_amount=Decimal("100"), actor=cashier)
    refund = payment_refund(
        payment=payment, amount=Decimal("12.50"), reason="chipped", actor=cashier
    )
    assert (refund.drawer_session_id, refund.terminal_id) == (session.pk, stocked.terminal.pk)
    payment.refresh_from_db()
    assert payment.status == "refunded"


def test_other_tenders_are_recorded_and_published(shop, cashier):
    order = open_order(shop, "30.00")
    payment = Payment.objects.create(
        order=order, tender="store_credit", currency="EUR", amount=30, tendered=30
    )
    refund = payment_refund(payment=payment, amount=Decimal("30.00"), reason="r", actor=cashier)
    assert refund.status == "requested"
    event = OutboxEvent.objects.get(name="payment.refunded")
    assert event.payload["tender"] == "store_credit"
    assert event.payload["status"] == "requested"


# --- webhooks -----------------------------------------------------------------------------


def body(event_id, type_, reference, captured=0, refunded=0, created=None):
    return json.dumps(
        {
            "id": event_id,
            "type": type_,
            "created": created or int(time.time()),
            "data": {
                "reference": reference,
                "currency": "EUR",
                "amount": 10000,
                "amount_captured": captured,
                "amount_refunded": refunded,
                "failure_reason": "",
            },
        }
    ).encode()


def post(client, payload, headers=None, gateway="test"):
    headers = (
        headers
        if headers is not None
        else TestGateway.from_settings().webhook_headers(payload=payload)
    )
    return client.post(
        f"/api/v1/payments/webhooks/{gateway}",
        payload,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )


def test_forged_unconfigured_and_stale_webhooks_are_refused(client, settings):
    payload = body("evt_1", "payment.captured", "ch_x", captured=10000)
    forged = TestGateway(webhook_secret="not-the-secret").webhook_headers(payload=payload)
    r = post(client, payload, forged)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_signature"
    r = post(client, payload, {})
    assert r.status_code == 400
    stale = TestGateway.from_settings().webhook_headers(
        payload=payload, timestamp=int(time.time()) - 301
    )
    r = post(client, payload, stale)
    assert r.status_code == 400
    assert "300 s" in r.json()["error"]["message"]
    tampered = TestGateway.from_settings().webhook_headers(payload=payload)
    r = post(client, payload.replace(b"10000", b"99999"), tampered)
    assert r.status_code == 400
    settings.OMNI_TEST_GATEWAY_WEBHOOK_SECRET = ""
    r = post(client, payload, {"Omni-Signature": "t=1,v1=00"})
    assert r.status_code == 503
    assert "OMNI_TEST_GATEWAY_WEBHOOK_SECRET" in r.json()["error"]["message"]
    settings.OMNI_TEST_GATEWAY_WEBHOOK_SECRET = TEST_SECRET
    assert post(client, payload, {}, gateway="nope").status_code == 404
    assert WebhookEvent.objects.count() == 0


def test_replayed_and_duplicated_events_are_processed_once(client, shop, cashier):
    payment = authorise(open_order(shop), cashier)
    payload = body("evt_cap", "payment.captured", payment.gateway_reference, captured=10000)
    first = post(client, payload)
    assert first.json() == {
        "status": "processed",
        "event_id": "evt_cap",
        "type": "payment.captured",
    }
    # The same event again, signed anew (a gateway retry) and byte for byte (a replay).
    assert post(client, payload).json()["status"] == "duplicate"
    assert post(client, payload).json()["status"] == "duplicate"
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == ("captured", Decimal("100.00"))
    assert WebhookEvent.objects.get().outcome == "applied"
    assert OutboxEvent.objects.filter(name="payment.captured").count() == 1


def test_out_of_order_events_only_move_forward(client, shop, cashier):
    payment = authorise(open_order(shop), cashier)
    ref = payment.gateway_reference
    # The refund arrives before the capture it depends on.
    r = post(client, body("evt_2", "payment.refunded", ref, captured=10000, refunded=2500))
    assert r.json()["status"] == "processed"
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount, payment.refunded_amount) == (
        "partially_refunded",
        Decimal("100.00"),
        Decimal("25.00"),
    )
    assert Refund.objects.get(payment=payment).amount == Decimal("25.00")
    # The late capture, and an older refund snapshot, are recorded and ignored.
    assert (
        post(client, body("evt_1", "payment.captured", ref, captured=10000)).json()["status"]
        == "stale"
    )
    assert (
        post(client, body("evt_0", "payment.refunded", ref, 10000, 1000)).json()["status"]
        == "stale"
    )
    assert (
        post(client, body("evt_3", "payment.refunded", ref, 10000, 10000)).json()["status"]
        == "processed"
    )
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("100.00"))
    assert sorted(WebhookEvent.objects.values_list("event_id", "outcome")) == [
        ("evt_0", "stale"),
        ("evt_1", "stale"),
        ("evt_2", "applied"),
        ("evt_3", "applied"),
    ]
    assert post(client, body("evt_9", "payment.voided", ref)).json()["status"] == "stale"


def test_gateway_events_reach_our_payment_through_the_task(
    shop, cashier, django_capture_on_commit_callbacks
):
    payment = authorise(open_order(shop), cashier)
    with django_capture_on_commit_callbacks(execute=True):
        card_capture(payment=payment, actor=cashier)
    # We captured synchronously; the gateway's own event then finds nothing to change.
    outcome = WebhookEvent.objects.filter(type="payment.captured").get()
    assert (outcome.payment_id, outcome.outcome) == (payment.pk, "stale")
