"""Buy online, pick up in the Paris store.

Marc orders two candles and a mug on the web shop for pick-up in Paris,
which has them. Carl, a cashier, picks the bag and puts it behind the
counter: Marc is sent a collection code. At five a man gives a wrong code
and leaves with nothing; at six Marc reads his code aloud (in lower case,
with a dash), takes his bag, and the order is complete. The goods leave the
store's stock exactly once, from their holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from omniretail.core.access import actor_for_user
from omniretail.core.apikeys import api_key_issue
from omniretail.core.errors import ValidationFailed
from omniretail.core.models import OutboxEvent
from omniretail.core.services import channel_create, membership_grant
from omniretail.fulfilment.models import RoutingDecision, Shipment
from omniretail.fulfilment.shipping import (
    PickRow,
    pickup_hand_over,
    pickup_ready,
    shipment_pick_list,
    shipments_create,
)
from omniretail.inventory.models import ChannelLocation, Reservation, StockLevel, StockMove
from omniretail.orders.models import Order
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def _staff(username, role, store=None):
    user = get_user_model().objects.create_user(username=username, password="pw")
    membership_grant(user=user, role=role, store=store)
    return actor_for_user(user)


def _floor(shop) -> dict[str, tuple[int, int]]:
    return {
        sku: (on_hand, reserved)
        for sku, on_hand, reserved in StockLevel.objects.filter(location=shop.floor)
        .order_by("sku__sku")
        .values_list("sku__sku", "on_hand", "reserved")
    }


def test_a_pickup_collected_with_its_code(client, shop):
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.warehouse, priority=1)
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=2, safety_buffer=1)
    web_key = api_key_issue(name="web shop", channel=web, scopes=["orders:write"]).token
    carl = _staff("carl", "cashier", shop.store)
    stock_up(shop, {shop.mug: 6, shop.candle: 6}, location=shop.warehouse)
    stock_up(shop, {shop.mug: 3, shop.candle: 4})

    # 11:05 — Marc orders for pick-up in Paris and pays.
    r = client.post(
        "/api/v1/orders",
        {
            "external_id": "W-3107",
            "customer": {"email": "marc@example.com", "first_name": "Marc"},
            "lines": [{"sku": "CAN-FIG", "quantity": 2}, {"sku": "MUG-GR", "quantity": 1}],
            "fulfilment": "pickup",
            "pickup_store": "paris",
            "payment_status": "paid",
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {web_key}"},
    )
    assert r.status_code == 201, r.content
    order = Order.objects.get(pk=r.json()["id"])
    assert (order.status, order.total_gross) == ("allocated", Decimal("48.50"))
    decision = RoutingDecision.objects.get(order=order)
    assert (decision.rule, decision.reason) == (
        "pickup_store",
        "pick-up at st-paris: it has everything",
    )
    # held in the store although the warehouse comes first for shipped orders
    assert _floor(shop) == {"CAN-FIG": (4, 2), "MUG-GR": (3, 1)}

    # 14:00 — Carl picks the bag and puts it behind the counter.
    [bag] = shipments_create(order=order, actor=carl)
    assert (bag.number, bag.kind, bag.location.code) == ("SH-000001", "pickup", "st-paris")
    assert shipment_pick_list(bag) == [
        PickRow("CAN-FIG", "Fig Candle Fig", 2, "st-paris"),
        PickRow("MUG-GR", "Stoneware Mug Grey", 1, "st-paris"),
    ]
    bag = pickup_ready(shipment=bag, actor=carl)
    message = OutboxEvent.objects.get(name="pickup.ready").payload
    code = message["collection_code"]  # what Marc receives
    assert (message["shipment_id"], message["order_id"]) == (bag.pk, order.pk)
    assert code == Shipment.objects.get(pk=bag.pk).collection_code

    # 17:00 — someone gives a wrong code: nothing leaves.
    wrong = "22222222" if code != "22222222" else "33333333"
    with pytest.raises(ValidationFailed) as refused:
        pickup_hand_over(shipment=bag, code=wrong, actor=carl)
    assert refused.value.field == "code"
    assert Shipment.objects.get(pk=bag.pk).status == "ready"
    assert _floor(shop) == {"CAN-FIG": (4, 2), "MUG-GR": (3, 1)}

    # 18:00 — Marc reads his code aloud.
    bag = pickup_hand_over(shipment=bag, code=f"{code[:4].lower()}-{code[4:].lower()}", actor=carl)
    assert bag.status == "collected"
    order.refresh_from_db()
    assert order.status == "completed"
    assert list(order.lines.values_list("quantity", "quantity_fulfilled")) == [(2, 2), (1, 1)]
    assert _floor(shop) == {"CAN-FIG": (2, 0), "MUG-GR": (2, 0)}
    assert sorted(
        StockMove.objects.filter(reference_type="shipment").values_list(
            "sku__sku", "from_location__code", "to_location__code", "quantity", "reference_id"
        )
    ) == [
        ("CAN-FIG", "st-paris", "virtual-customer", 2, "SH-000001"),
        ("MUG-GR", "st-paris", "virtual-customer", 1, "SH-000001"),
    ]
    assert sorted(
        Reservation.objects.filter(demand_type="order_line").values_list(
            "sku__sku", "location__code", "quantity", "status"
        )
    ) == [("CAN-FIG", "st-paris", 2, "consumed"), ("MUG-GR", "st-paris", 1, "consumed")]
    assert list(
        order.activities.filter(kind__in=["shipment", "status"]).values_list("message", flat=True)
    )[-4:] == [
        "SH-000001 ready for pick-up at st-paris until "
        f"{timezone.localtime(bag.pickup_expires_at):%Y-%m-%d %H:%M}",
        "allocated → fulfilled: SH-000001 collected at st-paris",
        "SH-000001 collected at st-paris",
        "fulfilled → completed: every shipment delivered or collected",
    ]
    assert verify_all()[0] == []
