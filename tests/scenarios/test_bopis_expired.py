"""A pick-up nobody collects.

Inès pays online for two mugs to collect in Paris. The bag is ready on
Monday and kept three days. Nobody comes. On Thursday morning the worker's
periodic sweep finds it past its date: the bag is marked expired, the order
is cancelled "not collected", the mugs are free to sell again in the store,
and payments is asked to give Inès her money back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
from omniretail.core.access import SYSTEM, actor_for_user
from omniretail.core.errors import Conflict
from omniretail.core.models import AuditLog, OutboxEvent
from omniretail.core.services import channel_create, membership_grant
from omniretail.fulfilment.models import Shipment
from omniretail.fulfilment.shipping import (
    pickup_hand_over,
    pickup_ready,
    pickups_expire,
    shipments_create,
)
from omniretail.inventory.models import ChannelLocation, Reservation, StockLevel, StockMove
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def test_a_pickup_not_collected_expires_and_is_refunded(shop):
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=1)
    user = get_user_model().objects.create_user(username="carl", password="pw")
    membership_grant(user=user, role="cashier", store=shop.store)
    carl = actor_for_user(user)
    stock_up(shop, {shop.mug: 5})

    order = order_intake(
        channel=web,
        data=IntakeOrder(
            external_id="W-4410",
            lines=[IntakeLine(quantity=2, sku="MUG-GR")],
            customer=IntakeCustomer(email="ines@example.com", first_name="Inès"),
            fulfilment="pickup",
            pickup_store="paris",
            payment_status="paid",
        ),
        actor=SYSTEM,
    ).order
    assert order.status == "allocated"

    # Monday — the bag is ready, kept three days.
    [bag] = shipments_create(order=order, actor=carl)
    bag = pickup_ready(shipment=bag, actor=carl, keep_days=3)
    ready_at = bag.ready_at
    assert bag.pickup_expires_at == ready_at + dt.timedelta(days=3)
    floor = StockLevel.objects.get(sku=shop.mug, location=shop.floor)
    assert (floor.on_hand, floor.reserved) == (5, 2)

    # Wednesday evening the sweep runs: still within the three days.
    assert pickups_expire(now=ready_at + dt.timedelta(days=2, hours=12)) == 0
    assert Shipment.objects.get(pk=bag.pk).status == "ready"

    # Thursday morning: past its date.
    assert pickups_expire(now=ready_at + dt.timedelta(days=3, minutes=1)) == 1
    bag.refresh_from_db()
    order.refresh_from_db()
    assert bag.status == "expired"
    assert order.status == "cancelled"
    assert list(order.lines.values_list("quantity_fulfilled", "quantity_cancelled")) == [(0, 2)]
    floor.refresh_from_db()
    assert (floor.on_hand, floor.reserved) == (5, 0)  # on the shelf, free to sell
    assert list(
        Reservation.objects.filter(demand_type="order_line").values_list("quantity", "status")
    ) == [(2, "released")]
    assert not StockMove.objects.filter(reference_type="shipment").exists()

    refund = OutboxEvent.objects.get(name="refund.requested")
    assert _without_who(refund.payload) == {
        "order_id": order.pk,
        "amount": "25.00",
        "currency": "EUR",
        "reason": "cancelled: not collected",
        "method": "original",
        "return_id": None,
    }
    assert list(order.activities.values_list("kind", "message"))[-2:] == [
        ("shipment", "SH-000001 not collected in time"),
        ("status", "allocated → cancelled: not collected"),
    ]
    expired = AuditLog.objects.get(action="shipment.expired")
    assert (expired.actor_label, expired.object_id, expired.reason, expired.store_id) == (
        "system",
        "SH-000001",
        "not collected",
        shop.store.pk,
    )

    # Inès turns up on Friday with her code: too late, nothing leaves.
    with pytest.raises(Conflict):
        pickup_hand_over(shipment=bag, code=bag.collection_code, actor=carl)
    assert pickups_expire(now=ready_at + dt.timedelta(days=4)) == 0
    assert verify_all()[0] == []


def _without_who(payload: dict) -> dict:
    """The refund request without who asked for it and where (not the point here)."""
    who = ("requested_by_user_id", "requested_by_key", "terminal_id")
    who += ("approved_by_user_id", "at_store_id")
    return {k: v for k, v in payload.items() if k not in who}
