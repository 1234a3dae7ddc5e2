"""Customers fixtures: people at a till and in the back office, and a French
retailer (phone numbers typed without +33 are French)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest

from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
from omniretail.core.access import ADMIN, CASHIER, STORE_MANAGER, SYSTEM, Actor
from omniretail.core.models import Channel, Company
from omniretail.core.services import channel_create
from omniretail.customers.models import Customer
from omniretail.inventory.models import ChannelLocation
from omniretail.loyalty.models import EarningRule, LoyaltyProgram
from tests.conftest import Shop, build_shop, stock_up

CASHIER_ACTOR = Actor(label="user:cashier", user_id=None, roles={CASHIER: None})
MANAGER_ACTOR = Actor(label="user:manager", roles={STORE_MANAGER: None})
ADMIN_ACTOR = Actor(label="user:admin", roles={ADMIN: None})


@pytest.fixture
def company(db) -> Company:
    company, _ = Company.objects.get_or_create(
        code="acme", defaults={"name": "Acme Home & Apparel", "currency": "EUR", "country": "FR"}
    )
    return company


ADDRESS = {
    "name": "Léa Martin",
    "line1": "5 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "country": "FR",
}


@dataclass
class World:
    shop: Shop
    web: Channel
    marketplace: Channel
    phone: Channel
    program: LoyaltyProgram


@pytest.fixture
def world(db) -> World:
    """The Paris shop (a till), a web shop, a marketplace and the phone line,
    all selling from the Paris floor; a loyalty programme of 1 point per
    euro, 100 points = 1.00 EUR."""
    shop = build_shop()
    stock_up(shop, {shop.mug: 50, shop.candle: 20, shop.shirt_m: 10})
    channels = []
    for code, kind in (("web", "web"), ("mkt", "marketplace"), ("phone", "phone")):
        channel = channel_create(company=shop.company, code=code, name=code.title(), kind=kind)
        ChannelLocation.objects.create(channel=channel, location=shop.floor, priority=1)
        channels.append(channel)
    program = LoyaltyProgram.objects.create(
        code="club", name="Acme Club", currency="EUR", point_value=Decimal("0.01")
    )
    EarningRule.objects.create(program=program, group=None, points_per_unit=Decimal("1"))
    return World(shop, channels[0], channels[1], channels[2], program)


def pos_sale(client, shop: Shop, customer: Customer | None, lines: list[dict], cash: str) -> dict:
    """A sale rung up at the Paris till through the POS API."""
    r = client.post(
        "/api/v1/pos/sales",
        {
            "client_uuid": str(uuid.uuid4()),
            "lines": lines,
            "tenders": [{"type": "cash", "amount": cash}],
            "customer_id": customer.pk if customer else None,
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop.terminal_token}"},
    )
    assert r.status_code == 201, r.content
    return r.json()


def channel_order(channel: Channel, external_id: str, email: str, *, sku: str = "MUG-GR"):
    """An order shipped from the web, a marketplace or the phone line."""
    return order_intake(
        channel=channel,
        data=IntakeOrder(
            external_id=external_id,
            lines=[IntakeLine(1, sku=sku)],
            customer=IntakeCustomer(email=email, first_name="Léa", last_name="Martin"),
            shipping_address=dict(ADDRESS),
            shipping_price=Decimal("4.90"),
            payment_status="paid",
        ),
        actor=SYSTEM,
    ).order
