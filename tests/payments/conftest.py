"""Payments fixtures: a shop with a paid order, staff with roles, webhook secrets."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM, Actor, actor_for_user
from omniretail.core.models import StaffMembership
from omniretail.orders.models import Order
from omniretail.payments.gateways.stripe import StripeGateway
from tests.conftest import Shop, build_shop, stock_up

TEST_SECRET = "whsec_test_" + "k" * 32  # test-only value, set through settings
STRIPE_SECRET = "whsec_stripe_" + "s" * 32


@pytest.fixture(autouse=True)
def _gateway_settings(settings):
    settings.OMNI_GATEWAY = "test"
    settings.OMNI_TEST_GATEWAY_WEBHOOK_SECRET = TEST_SECRET
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_SECRET
    settings.STRIPE_API_KEY = "sk_test_recorded"
    settings.OMNI_CASHIER_REFUND_LIMIT = "50.00"
    yield
    StripeGateway.http_client = None


def staff(django_user_model, shop: Shop, name: str, role: str) -> Actor:
    user = django_user_model.objects.create_user(username=name, is_staff=True)
    StaffMembership.objects.create(user=user, role=role, store=shop.store)
    return actor_for_user(user)


@pytest.fixture
def shop(db) -> Shop:
    """The shop with its drawer closed: these tests open it themselves."""
    return build_shop(open_drawer=False)


@pytest.fixture
def cashier(django_user_model, shop) -> Actor:
    return staff(django_user_model, shop, "cora.cashier", "cashier")


@pytest.fixture
def manager(django_user_model, shop) -> Actor:
    return staff(django_user_model, shop, "max.manager", "store_manager")


def open_order(shop: Shop, total: str = "100.00") -> Order:
    """An unpaid web-style order to take card payments against."""
    amount = Decimal(total)
    return Order.objects.create(
        channel=shop.pos_channel,
        external_id=str(uuid.uuid4()),
        store=shop.store,
        status=Order.Status.PENDING_PAYMENT,
        currency="EUR",
        total_net=(amount / Decimal("1.2")).quantize(Decimal("0.01")),
        total_tax=amount - (amount / Decimal("1.2")).quantize(Decimal("0.01")),
        total_gross=amount,
        placed_at="2026-01-10T10:00:00Z",
        created_by="test",
    )


def cash_sale(shop: Shop, lines: list[tuple], cash: str, actor=SYSTEM):
    """A POS sale paid in cash through the real POS service."""
    return pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(quantity=q, sku=v.sku) for v, q in lines],
        tenders=[Tender("cash", Decimal(cash))],
        actor=actor,
    )


@pytest.fixture
def stocked(shop) -> Shop:
    stock_up(shop, {shop.shirt_m: 10, shop.mug: 20, shop.candle: 10})
    return shop
