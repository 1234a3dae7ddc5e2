"""Offline sales on sync: the server recomputes the device's hash from the
sale it receives and flags (never refuses) one altered after the till
numbered it; a card taken offline waits to be captured."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import Client

from omniretail.channels.pos.offline import offline_document
from omniretail.core.fiscal import chain_hash
from omniretail.orders.models import Order
from omniretail.payments.models import Payment
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db

GENESIS = "0" * 64
TAMPERED = "offline.hash does not match the sale: it was altered after the till numbered it"


@pytest.fixture
def till(shop) -> Client:
    stock_up(shop, {shop.mug: 10})
    return Client(HTTP_AUTHORIZATION=f"Bearer {shop.terminal_token}")


def offline_sale(number: int, previous: str, *, tenders: list[dict], total: str) -> dict:
    """A sale as the till queues it offline: numbered and hashed on the device."""
    body = {
        "client_uuid": str(uuid.uuid4()),
        "lines": [{"sku": "MUG-GR", "quantity": 2}],
        "tenders": tenders,
        "cashier_id": None,
        "offline": {
            "receipt_number": number,
            "previous_hash": previous,
            "sold_at": "2026-11-20T09:15:02.123Z",
            "total_gross": total,
        },
    }
    doc = offline_document(body, terminal="pt1", full_number=f"R-PT1-{number:06d}")
    body["offline"]["hash"] = chain_hash(previous, doc)
    return body


def send(till: Client, body: dict):
    return till.post("/api/v1/pos/sales", body, content_type="application/json")


def test_an_intact_offline_sale_is_not_flagged(shop, till):
    body = offline_sale(1, GENESIS, tenders=[{"type": "cash", "amount": "25.00"}], total="25.00")
    r = send(till, body)
    assert r.status_code == 201, r.content
    order = Order.objects.get(pk=r.json()["order_id"])
    assert order.review_flags == ["sold offline at 2026-11-20T09:15:02.123000+00:00"]
    assert order.device_receipt["hash"] == body["offline"]["hash"]


def test_a_sale_altered_after_the_till_numbered_it_is_accepted_and_flagged(shop, till):
    body = offline_sale(1, GENESIS, tenders=[{"type": "cash", "amount": "25.00"}], total="25.00")
    body["lines"][0]["quantity"] = 1  # one mug less on the way to the server...
    body["tenders"][0]["amount"] = "12.50"  # ...and the cash to match
    r = send(till, body)
    assert r.status_code == 201, r.content  # the sale happened: never refused
    assert TAMPERED in r.json()["warnings"]
    order = Order.objects.get(pk=r.json()["order_id"])
    assert order.review_flags == ["sold offline at 2026-11-20T09:15:02.123000+00:00", TAMPERED]
    assert order.total_gross == Decimal("12.50")

    # A total changed alone is caught too; the chain link is checked as before.
    second = offline_sale(
        2, body["offline"]["hash"], tenders=[{"type": "cash", "amount": "25.00"}], total="25.00"
    )
    second["offline"]["total_gross"] = "20.00"
    r = send(till, second)
    assert r.status_code == 201, r.content
    assert Order.objects.get(pk=r.json()["order_id"]).review_flags == [
        "sold offline at 2026-11-20T09:15:02.123000+00:00",
        TAMPERED,
    ]


def test_a_card_taken_offline_is_stored_authorised_to_capture_later(shop, till):
    body = offline_sale(
        1,
        GENESIS,
        tenders=[
            {
                "type": "card",
                "amount": "25.00",
                "offline_capture": True,
                "brand": "visa",
                "last4": "4242",
            }
        ],
        total="25.00",
    )
    r = send(till, body)
    assert r.status_code == 201, r.content
    assert TAMPERED not in r.json()["warnings"]
    [payment] = Payment.objects.filter(order_id=r.json()["order_id"])
    assert (payment.tender, payment.status, payment.gateway, payment.amount) == (
        "card",
        "authorised",
        "offline",
        Decimal("25.00"),
    )
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
