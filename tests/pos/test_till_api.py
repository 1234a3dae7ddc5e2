"""The till's own API (channels/pos/api_terminal.py), through HTTP with the
terminal key, on the real database."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from omniretail.catalog.models import Variant
from omniretail.channels.models import CashierPin, CashierSession, DiscountLimit
from omniretail.core.models import AuditLog
from omniretail.customers.models import Customer
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def till(shop) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {shop.terminal_token}")


def sign_in(till: Client, user, pin: str = "1234") -> str:
    r = till.post(
        "/api/v1/pos/cashiers/sign-in",
        {"cashier_id": user.pk, "pin": pin},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    return r.json()["token"]


def test_profile_gives_series_head_limits_and_allowance(shop, till):
    body = till.get("/api/v1/pos/terminal").json()
    assert body["terminal"] == "pt1"
    assert body["store"] == "paris"
    assert body["channel"] == "pos-paris"
    assert body["location"] == "st-paris"
    assert body["currency"] == "EUR"
    assert body["receipt_series"] == {
        "prefix": "R-PT1-",
        "padding": 6,
        "next_number": 1,
        "head_hash": "0" * 64,
    }
    assert body["max_discount_percent"]["cashier"] == "10"
    assert body["offline_allowance"] == {"gift_card_amount": "100.00", "points": 5000}


def test_profile_needs_a_terminal_key(shop):
    assert Client().get("/api/v1/pos/terminal").status_code == 401


def test_pin_sign_in_gives_a_session_bound_to_the_till(shop, staff, till):
    listed = till.get("/api/v1/pos/cashiers").json()
    assert [(c["name"], c["role"]) for c in listed] == [
        ("Camille", "cashier"),
        ("Morgan", "store_manager"),
    ]
    token = sign_in(till, staff.cashier)
    session = CashierSession.objects.get()
    assert session.user_id == staff.cashier.pk
    assert session.terminal_id == shop.terminal.pk
    assert token not in session.token_digest  # only the digest is stored
    me = till.get("/api/v1/pos/cashiers/me", HTTP_X_CASHIER_TOKEN=token).json()
    assert me == {
        "cashier_id": staff.cashier.pk,
        "name": "Camille",
        "role": "cashier",
        "max_discount_percent": "10",
    }
    assert till.post("/api/v1/pos/cashiers/sign-out", HTTP_X_CASHIER_TOKEN=token).json() == {
        "ended": 1
    }
    r = till.get("/api/v1/pos/cashiers/me", HTTP_X_CASHIER_TOKEN=token)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "cashier_required"


def test_pin_is_hashed_and_five_wrong_pins_lock_it(shop, staff, till):
    row = CashierPin.objects.get(user=staff.cashier)
    assert "1234" not in row.pin_hash
    assert row.pin_hash.startswith(("pbkdf2", "argon2", "bcrypt", "scrypt", "md5"))
    for _ in range(4):
        r = till.post(
            "/api/v1/pos/cashiers/sign-in",
            {"cashier_id": staff.cashier.pk, "pin": "0000"},
            content_type="application/json",
        )
        assert r.status_code == 403
        assert r.json()["error"]["field"] == "pin"
    assert CashierPin.objects.get(user=staff.cashier).failed_attempts == 4
    till.post(
        "/api/v1/pos/cashiers/sign-in",
        {"cashier_id": staff.cashier.pk, "pin": "0000"},
        content_type="application/json",
    )
    r = till.post(
        "/api/v1/pos/cashiers/sign-in",
        {"cashier_id": staff.cashier.pk, "pin": "1234"},
        content_type="application/json",
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "locked"
    assert CashierSession.objects.count() == 0


def test_manager_override_is_audit_logged(shop, staff, till):
    token = sign_in(till, staff.cashier)
    r = till.post(
        "/api/v1/pos/overrides",
        {
            "manager_id": staff.manager.pk,
            "pin": "9876",
            "percent": "25",
            "reason": "damaged box",
            "sale_ref": "abc",
        },
        content_type="application/json",
        HTTP_X_CASHIER_TOKEN=token,
    )
    assert r.status_code == 200, r.content
    assert r.json()["manager_name"] == "Morgan"
    assert r.json()["max_percent"] == "100"
    log = AuditLog.objects.get(action="pos.discount_override")
    assert log.actor_user_id == staff.manager.pk
    assert log.reason == "damaged box"
    assert log.store_id == shop.store.pk
    assert log.data == {
        "cashier_id": staff.cashier.pk,
        "percent": "25",
        "sale_ref": "abc",
        "cashier_limit": "10",
    }


def test_a_cashier_cannot_approve_and_a_wrong_pin_is_refused(shop, staff, till):
    token = sign_in(till, staff.manager, "9876")
    r = till.post(
        "/api/v1/pos/overrides",
        {"manager_id": staff.cashier.pk, "pin": "1234", "percent": "25", "reason": "x"},
        content_type="application/json",
        HTTP_X_CASHIER_TOKEN=token,
    )
    assert r.status_code == 403
    assert r.json()["error"]["field"] == "manager_id"
    token = sign_in(till, staff.cashier)
    r = till.post(
        "/api/v1/pos/overrides",
        {"manager_id": staff.manager.pk, "pin": "1111", "percent": "25", "reason": "x"},
        content_type="application/json",
        HTTP_X_CASHIER_TOKEN=token,
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "wrong_pin"
    assert not AuditLog.objects.filter(action="pos.discount_override").exists()


def test_discount_limit_per_role_comes_from_the_table(shop, staff, till):
    DiscountLimit.objects.create(role="cashier", max_percent=Decimal("15"))
    assert till.get("/api/v1/pos/terminal").json()["max_discount_percent"]["cashier"] == "15.00"
    token = sign_in(till, staff.cashier)
    assert (
        till.get("/api/v1/pos/cashiers/me", HTTP_X_CASHIER_TOKEN=token).json()[
            "max_discount_percent"
        ]
        == "15.00"
    )


def test_catalog_feed_is_incremental(shop, till):
    first = till.get("/api/v1/pos/sync/catalog").json()
    assert first["reset"] is True
    skus = {r["sku"]: r for r in first["rows"]}
    assert skus["MUG-GR"] == {
        "id": shop.mug.pk,
        "sku": "MUG-GR",
        "barcode": shop.mug.barcode,
        "name": "Stoneware Mug Grey",
        "product_id": shop.mug.product_id,
        "category_ids": [],
        "tax_class": "standard",
        "tax_rate": "0.2000",
        "price": "12.50",
        "active": True,
    }
    same = till.get("/api/v1/pos/sync/catalog", {"cursor": first["cursor"]}).json()
    assert same == {"cursor": first["cursor"], "reset": False, "rows": []}
    # a new variant comes alone
    Variant.objects.create(
        product=shop.shirt, sku="LS-XL", name="White / XL", price=Decimal("52.00")
    )
    more = till.get("/api/v1/pos/sync/catalog", {"cursor": first["cursor"]}).json()
    assert (more["reset"], [r["sku"] for r in more["rows"]]) == (False, ["LS-XL"])
    # a changed price of a row the till holds: everything again
    Variant.objects.filter(pk=shop.mug.pk).update(price=Decimal("11.00"))
    changed = till.get("/api/v1/pos/sync/catalog", {"cursor": more["cursor"]}).json()
    assert changed["reset"] is True
    assert len(changed["rows"]) == 5
    bad = till.get("/api/v1/pos/sync/catalog", {"cursor": "garbage"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "cursor"


def test_customer_search_card_and_feed(shop, till):
    ann = Customer.objects.create(
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        phone="+33600000001",
        loyalty_card="LC-77",
    )
    Customer.objects.create(first_name="Bob", last_name="Roy", email="bob@example.com")
    assert [c["id"] for c in till.get("/api/v1/pos/customers/search", {"q": "ann@"}).json()] == [
        ann.pk
    ]
    assert [c["id"] for c in till.get("/api/v1/pos/customers/search", {"q": "lc-77"}).json()] == [
        ann.pk
    ]
    assert [
        c["name"] for c in till.get("/api/v1/pos/customers/search", {"q": "0000001"}).json()
    ] == ["Ann Lee"]
    assert till.get("/api/v1/pos/customers/search", {"q": " "}).status_code == 422
    card = till.get(f"/api/v1/pos/customers/{ann.pk}/card").json()
    assert card["customer"]["loyalty_card"] == "LC-77"
    assert card["orders"] == []
    assert card["points"] == []
    assert card["store_credit"] == {}
    feed = till.get("/api/v1/pos/sync/customers").json()
    assert [r["name"] for r in feed["rows"]] == ["Ann Lee"]  # the card holder; Bob never came


def _sell(shop, till, qty: int = 1) -> dict:
    stock_up(shop, {shop.mug: 10})
    r = till.post(
        "/api/v1/pos/sales",
        {
            "client_uuid": str(uuid.uuid4()),
            "lines": [{"barcode": shop.mug.barcode, "quantity": qty}],
            "tenders": [{"type": "cash", "amount": "50.00"}],
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    return r.json()


def test_email_receipt_and_find_the_sale_to_take_back(shop, till):
    sale = _sell(shop, till, qty=2)
    r = till.post(
        f"/api/v1/pos/sales/{sale['order_id']}/email",
        {"email": "ann@example.com"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json() == {"sent_to": "ann@example.com", "receipt_number": sale["receipt_number"]}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann@example.com"]
    assert sale["receipt_number"] in message.subject
    assert "2 × Stoneware Mug" in message.body
    assert "Total 25.00 EUR" in message.body
    bad = till.post(
        f"/api/v1/pos/sales/{sale['order_id']}/email",
        {"email": "nope"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "email"

    found = till.get("/api/v1/pos/orders/find", {"q": sale["receipt_number"].lower()}).json()
    assert [o["order_id"] for o in found] == [sale["order_id"]]
    assert found[0]["lines"][0]["quantity"] == 2
    assert found[0]["tenders"] == ["cash"]
    by_id = till.get("/api/v1/pos/orders/find", {"q": f"#{sale['order_id']}"}).json()
    assert [o["order_id"] for o in by_id] == [sale["order_id"]]


def test_pickups_list_is_empty_without_ready_bags(shop, till):
    assert till.get("/api/v1/pos/pickups").json() == []
