"""Fulfilment fixtures: a web shop that sells from the warehouse first and
the Paris store second, staff with their roles, and orders placed through
the real intake service."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model

from omniretail.catalog.models import Variant
from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
from omniretail.core.access import SYSTEM, Actor, actor_for_user
from omniretail.core.models import Channel, Store
from omniretail.core.services import channel_create, membership_grant, store_create
from omniretail.inventory.models import ChannelLocation, Location
from omniretail.orders.models import Order

ADDRESS = {
    "name": "Léa Martin",
    "line1": "5 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "country": "FR",
}


@pytest.fixture
def web(shop) -> Channel:
    """The web shop: warehouse first, then the Paris floor keeping 1 unit
    back for walk-ins."""
    channel = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=channel, location=shop.warehouse, priority=1)
    ChannelLocation.objects.create(
        channel=channel, location=shop.floor, priority=2, safety_buffer=1
    )
    return channel


def staff_actor(username: str, role: str, store: Store | None = None) -> Actor:
    user = get_user_model().objects.create_user(username=username, password="pw")
    membership_grant(user=user, role=role, store=store)
    return actor_for_user(user)


@pytest.fixture
def walter(db) -> Actor:
    """Warehouse team: every store and the warehouse."""
    return staff_actor("walter", "warehouse")


@pytest.fixture
def paula(shop) -> Actor:
    """Store manager in Paris."""
    return staff_actor("paula", "store_manager", shop.store)


@pytest.fixture
def carl(shop) -> Actor:
    """Cashier in Paris: may fulfil orders there, may not move stock in general."""
    return staff_actor("carl", "cashier", shop.store)


@pytest.fixture
def lyon_cashier(shop) -> Actor:
    lyon = store_create(company=shop.company, code="lyon", name="Lyon")
    Location.objects.create(code="st-lyon", name="Lyon floor", kind="store", store=lyon)
    return staff_actor("lucie", "cashier", lyon)


PlaceOrder = Callable[..., Order]


@pytest.fixture
def place(web) -> PlaceOrder:
    """Place a web order through the intake service (booked, routed, held)."""
    counter = iter(range(1, 1000))

    def _place(
        lines: list[tuple[Variant, int]],
        *,
        fulfilment: str = "ship",
        pickup_store: str | None = None,
        payment_status: str = "paid",
    ) -> Order:
        data = IntakeOrder(
            external_id=f"W-{next(counter)}",
            lines=[IntakeLine(quantity=qty, sku=variant.sku) for variant, qty in lines],
            customer=IntakeCustomer(email="lea.martin@example.com", first_name="Léa"),
            fulfilment=fulfilment,
            pickup_store=pickup_store,
            shipping_address=ADDRESS if fulfilment == "ship" else {},
            payment_status=payment_status,
        )
        return order_intake(channel=web, data=data, actor=SYSTEM).order

    return _place


FULFILMENT_PATH = "/api/v1/fulfilment/shipments/{number}"


@pytest.fixture
def fulfilment_api() -> None:
    """HTTP tests run once the lead mounts the router in omniretail/api.py."""
    from omniretail.api import api

    if FULFILMENT_PATH not in api.get_openapi_schema()["paths"]:
        pytest.skip(
            "the fulfilment router is not mounted yet: add "
            '`api.add_router("/fulfilment", fulfilment_router)` to omniretail/api.py'
        )


@pytest.fixture
def login(client):
    """Sign a staff user in by username for the HTTP tests."""

    def _login(username: str):
        client.force_login(get_user_model().objects.get(username=username))
        return client

    return _login
