"""Léa's purchases from every channel in one list (the till, the web shop,
a marketplace, the phone line), through the selector and the API; the
export of her data; the customers API."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from omniretail.core.access import Actor
from omniretail.core.apikeys import api_key_issue
from omniretail.core.errors import PermissionDenied
from omniretail.core.models import AuditLog
from omniretail.core.services import membership_grant
from omniretail.customers.models import Customer
from omniretail.customers.services import customer_match_or_create
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.services import giftcard_issue
from omniretail.orders.customer_history import customer_export, customer_history
from tests.customers.conftest import (
    ADMIN_ACTOR,
    CASHIER_ACTOR,
    MANAGER_ACTOR,
    channel_order,
    pos_sale,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lea(client, world):
    lea = customer_match_or_create(
        email="lea@example.com",
        phone="06 12 34 56 78",
        first_name="Léa",
        last_name="Martin",
        consents={"marketing_email": True},
        source="web sign-up",
        actor=CASHIER_ACTOR,
    ).customer
    sale = pos_sale(client, world.shop, lea, [{"sku": "MUG-GR", "quantity": 2}], "30.00")
    channel_order(world.web, "W-1", "LEA@example.com")
    channel_order(world.marketplace, "M-1", "lea@example.com", sku="CAN-FIG")
    channel_order(world.phone, "P-1", "Lea@Example.com", sku="LS-M")
    return lea, sale


def test_the_history_lists_every_channel_newest_first(lea):
    person, sale = lea
    rows = customer_history(customer=person, actor=ADMIN_ACTOR)
    assert [(r.channel, r.channel_kind, r.external_id, str(r.total), r.lines) for r in rows] == [
        ("phone", "phone", "P-1", "54.80", 1),
        ("mkt", "marketplace", "M-1", "22.90", 1),
        ("web", "web", "W-1", "17.40", 1),
        ("pos-paris", "pos", rows[3].external_id, "25.00", 1),
    ]
    assert rows[3].order_id == sale["order_id"]
    assert rows[3].store == "Paris Marais"
    assert rows[3].status == "completed"
    assert {r.currency for r in rows} == {"EUR"}


def test_a_cashier_sees_only_the_purchases_of_her_store(lea, world):
    person, sale = lea
    paris_cashier = Actor(label="user:cashier", roles={"cashier": frozenset({world.shop.store.pk})})
    rows = customer_history(customer=person, actor=paris_cashier)
    assert [r.order_id for r in rows] == [sale["order_id"]]


def test_the_export_holds_everything_and_only_the_last_four_of_a_gift_card(lea):
    person, sale = lea
    card, code = giftcard_issue(
        amount=Decimal("30.00"),
        currency="EUR",
        reference=Reference("order", str(sale["order_id"])),
        actor=CASHIER_ACTOR,
        sold=True,
    )
    data = customer_export(customer=person, actor=MANAGER_ACTOR)
    assert data["format"] == "omniretail.customer-export/1"
    assert data["customer"]["email"] == "lea@example.com"
    assert data["customer"]["phone_e164"] == "+33612345678"
    assert [o["channel"] for o in data["orders"]] == ["pos-paris", "web", "mkt", "phone"]
    assert data["orders"][1]["shipping_address"]["city"] == "Paris"
    assert data["orders"][0]["lines"][0]["quantity"] == 2
    assert data["consents"]["current"][0]["purpose"] == "marketing_email"
    assert data["consents"]["current"][0]["granted"] is True
    assert data["consents"]["history"][0]["source"] == "web sign-up"
    assert data["gift_cards"] == [
        {
            "last4": card.last4,
            "currency": "EUR",
            "balance": "30.00",
            "status": "active",
            "expires_at": None,
            "uses": [
                {
                    "kind": "issue",
                    "amount": "30.00",
                    "reference": f"order:{sale['order_id']}",
                    "at": data["gift_cards"][0]["uses"][0]["at"],
                }
            ],
        }
    ]
    text = json.dumps(data)
    assert code not in text
    assert code.replace("-", "") not in text
    # The till earned points on the sale: they are in the export too.
    points = sum(e["points"] for e in data["loyalty"]["entries"])
    assert data["loyalty"]["accounts"] == (
        [{"program": "club", "currency": "EUR", "points": points}] if points else []
    )
    assert (
        AuditLog.objects.filter(action="customer.export", actor_label="user:manager").count() == 1
    )


def test_a_cashier_cannot_export(lea):
    person, _ = lea
    with pytest.raises(PermissionDenied) as refused:
        customer_export(customer=person, actor=CASHIER_ACTOR)
    assert refused.value.message == (
        "user:cashier may not export a customer's data: only store managers and "
        "administrators may (permission loyalty.adjust). Ask one of them."
    )


# --- The API -------------------------------------------------------------------------


@pytest.fixture
def manager_client(client, world):
    user = get_user_model().objects.create_user("anna", password="pw-12345")
    membership_grant(user=user, role="store_manager", store=None)
    client.force_login(user)
    return client


def test_api_search_finds_by_phone_email_card_and_name(manager_client, lea):
    person, _ = lea
    for q in ("06 12 34 56 78", "+33612345678", "LEA@EXAMPLE.COM", "lea martin", "Léa"):
        r = manager_client.get("/api/v1/customers/search", {"q": q})
        assert r.status_code == 200, r.content
        assert [c["id"] for c in r.json()] == [person.pk], q
    assert r.json()[0]["phone"] == "+33 6 12 34 56 78"
    r = manager_client.get("/api/v1/customers/search", {"q": "nobody"})
    assert r.json() == []


def test_api_history_and_export(manager_client, lea):
    person, _sale = lea
    r = manager_client.get(f"/api/v1/customers/{person.pk}/history")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["customer_id"] == person.pk
    assert [o["channel"] for o in body["orders"]] == ["phone", "mkt", "web", "pos-paris"]
    assert [o["total"] for o in body["orders"]] == ["54.80", "22.90", "17.40", "25.00"]
    r = manager_client.get(f"/api/v1/customers/{person.pk}/export")
    assert r.status_code == 200
    assert r.json()["customer"]["id"] == person.pk
    # The loyalty router still answers beside these.
    assert manager_client.get(f"/api/v1/customers/{person.pk}/loyalty").status_code == 200
    assert manager_client.get("/api/v1/customers/999999/history").status_code == 404


def test_api_match_creates_once_and_finds_again(client, world):
    token = api_key_issue(name="web shop", channel=world.web, scopes=["orders:write"]).token
    auth = {"Authorization": f"Bearer {token}"}
    body = {
        "email": "Zoe@Example.com",
        "phone": "07 81 23 45 67",
        "first_name": "Zoë",
        "consents": {"marketing_sms": True},
        "source": "web sign-up",
    }
    first = client.post(
        "/api/v1/customers/match", body, content_type="application/json", headers=auth
    )
    assert first.status_code == 201, first.content
    again = client.post(
        "/api/v1/customers/match",
        {"phone": "+33 7 81 23 45 67"},
        content_type="application/json",
        headers=auth,
    )
    assert again.status_code == 200
    assert again.json()["customer"]["id"] == first.json()["customer"]["id"]
    assert again.json()["matched_by"] == "phone"
    bad = client.post(
        "/api/v1/customers/match", {"phone": "12"}, content_type="application/json", headers=auth
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "phone"
    zoe = Customer.objects.get()
    assert zoe.consents.get().channel_id == world.web.pk
    # A channel key cannot merge or erase (no scope grants it).
    r = client.post(
        f"/api/v1/customers/{zoe.pk}/erase",
        {"reason": "x"},
        content_type="application/json",
        headers=auth,
    )
    assert r.status_code == 403


def test_api_merge_and_erase_by_a_manager(manager_client, world):
    keep = Customer.objects.create(first_name="Kept", email="k@example.com")
    dup = Customer.objects.create(first_name="Dup", email="d@example.com")
    r = manager_client.post(
        f"/api/v1/customers/{keep.pk}/merge",
        {"duplicate_id": dup.pk, "reason": "same person"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert manager_client.get(f"/api/v1/customers/{dup.pk}").json()["id"] == keep.pk
    r = manager_client.post(
        f"/api/v1/customers/{keep.pk}/erase", {"reason": "asked"}, content_type="application/json"
    )
    assert r.status_code == 200
    assert (r.json()["erased"], r.json()["email"], r.json()["first_name"]) == (True, None, "Erased")
