"""Loyalty over the API: a gift card balance (code in the body) and a
customer's loyalty summary."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.core.apikeys import api_key_issue
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.services import giftcard_issue, points_earn, store_credit_issue
from tests.loyalty.conftest import CASHIER_ACTOR

pytestmark = pytest.mark.django_db


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def lookup(client, token, code):
    return client.post(
        "/api/v1/giftcards/balance",
        {"code": code},
        content_type="application/json",
        headers=auth(token),
    )


def test_a_till_looks_up_a_gift_card_balance_by_its_code(client, shop):
    card, code = giftcard_issue(
        amount=Decimal("50.00"),
        currency="EUR",
        reference=Reference("order_line", "1"),
        actor=CASHIER_ACTOR,
        sold=True,
    )
    r = lookup(client, shop.terminal_token, code)
    assert r.status_code == 200
    assert r.json() == {
        "last4": card.last4,
        "currency": "EUR",
        "balance": "50.00",
        "status": "active",
        "expires_at": None,
    }
    r = lookup(client, shop.terminal_token, "ABCD")
    assert (r.status_code, r.json()["error"]["field"]) == (422, "code")
    assert (
        client.post(
            "/api/v1/giftcards/balance", {"code": code}, content_type="application/json"
        ).status_code
        == 401
    )
    no_scope = api_key_issue(name="feeds", channel=shop.pos_channel, scopes=["catalog:read"]).token
    assert lookup(client, no_scope, code).status_code == 403


def test_a_customers_loyalty_summary(client, shop, program, alice):
    points_earn(
        customer=alice,
        net_amount=Decimal("123.45"),
        currency="EUR",
        reference=Reference("order", "9"),
    )
    store_credit_issue(
        customer=alice,
        amount=Decimal("7.50"),
        currency="EUR",
        source="refund",
        reference=Reference("refund", "R1"),
        actor=CASHIER_ACTOR,
    )
    r = client.get(f"/api/v1/customers/{alice.pk}/loyalty", headers=auth(shop.terminal_token))
    assert r.status_code == 200
    body = r.json()
    assert body["points"] == [
        {"program": "club", "currency": "EUR", "points": 123, "value": "1.23"}
    ]
    assert body["store_credit"] == {"EUR": "7.50"}
    assert [
        (e["ledger"], e["kind"], e["points"], e["amount"], e["reference"]) for e in body["recent"]
    ] == [
        ("store_credit", "issue", None, "7.50", "refund:R1"),
        ("points", "earn", 123, "1.23", "order:9"),
    ]
    r = client.get("/api/v1/customers/999999/loyalty", headers=auth(shop.terminal_token))
    assert (r.status_code, r.json()["error"]["field"]) == (404, "customer_id")


def test_the_back_office_shows_a_cards_last_four_never_its_code_and_edits_no_ledger(client, shop):
    from django.contrib.auth import get_user_model

    card, code = giftcard_issue(
        amount=Decimal("50.00"),
        currency="EUR",
        reference=Reference("order_line", "1"),
        actor=CASHIER_ACTOR,
        sold=True,
    )
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    listing = client.get("/admin/loyalty/giftcard/")
    page = client.get(f"/admin/loyalty/giftcard/{card.pk}/change/")
    for r in (listing, page):
        assert r.status_code == 200
        html = r.content.decode()
        assert f"…{card.last4}" in html
        assert code not in html
        assert code.replace("-", "") not in html
        assert card.code_hash not in html
    assert client.get("/admin/loyalty/giftcard/add/").status_code == 403
    assert client.get("/admin/loyalty/loyaltyentry/").status_code == 200
    assert client.get("/admin/loyalty/storecreditaccount/").status_code == 200
    assert client.get("/admin/loyalty/loyaltyprogram/add/").status_code == 200
