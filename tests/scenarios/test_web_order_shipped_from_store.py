"""A web order the warehouse cannot send leaves from the Paris store.

The web shop sells from the warehouse first and the Paris store second
(keeping one mug back for walk-ins). Léa orders three mugs when the
warehouse has one: the order is routed to the store, with the reason on its
timeline. Paula, the store manager, prints the pick list; Carl, a cashier,
packs the parcel and hands it to La Poste; two days later it is delivered and
the order is complete. Stock leaves the store exactly once, the holds are
consumed, and the ledger checks out."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from omniretail.core.access import actor_for_user
from omniretail.core.apikeys import api_key_issue
from omniretail.core.models import AuditLog, OutboxEvent
from omniretail.core.services import channel_create, membership_grant
from omniretail.fulfilment.models import RoutingDecision
from omniretail.fulfilment.shipping import (
    PickRow,
    shipment_delivered,
    shipment_delivery_attempt,
    shipment_pack,
    shipment_pick_list,
    shipment_ship,
    shipments_create,
)
from omniretail.inventory.models import ChannelLocation, Reservation, StockLevel, StockMove
from omniretail.orders.models import Order
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Léa Martin",
    "line1": "5 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "country": "FR",
}


def _staff(username, role, store=None):
    user = get_user_model().objects.create_user(username=username, password="pw")
    membership_grant(user=user, role=role, store=store)
    return actor_for_user(user)


def _levels(variant) -> dict[str, tuple[int, int]]:
    return {
        code: (on_hand, reserved)
        for code, on_hand, reserved in StockLevel.objects.filter(sku=variant)
        .order_by("location__code")
        .values_list("location__code", "on_hand", "reserved")
    }


def test_a_web_order_shipped_from_the_store(client, shop):
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.warehouse, priority=1)
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=2, safety_buffer=1)
    web_key = api_key_issue(name="web shop", channel=web, scopes=["orders:write"]).token
    paula = _staff("paula", "store_manager", shop.store)
    carl = _staff("carl", "cashier", shop.store)
    stock_up(shop, {shop.mug: 1}, location=shop.warehouse)
    stock_up(shop, {shop.mug: 5})

    # 09:12 — Léa orders three mugs on the web shop, paid.
    r = client.post(
        "/api/v1/orders",
        {
            "external_id": "W-2041",
            "customer": {"email": "lea.martin@example.com", "first_name": "Léa"},
            "lines": [{"sku": "MUG-GR", "quantity": 3}],
            "shipping_address": ADDRESS,
            "shipping_price": "4.90",
            "payment_status": "paid",
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {web_key}", "Idempotency-Key": "lea-2041"},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["status"], body["total_gross"]) == ("allocated", "42.40")
    order = Order.objects.get(pk=body["id"])
    decision = RoutingDecision.objects.get(order=order)
    assert (decision.rule, decision.reason, decision.plan) == (
        "single_location",
        "wh-main short; st-paris has everything (priority 2)",
        [{"location": "st-paris", "sku": "MUG-GR", "quantity": 3}],
    )
    assert _levels(shop.mug) == {"st-paris": (5, 3), "wh-main": (1, 0)}

    # 10:00 — Paula prints the pick list of the store's web orders.
    [parcel] = shipments_create(order=order, actor=paula)
    assert (parcel.number, parcel.kind, parcel.location.code) == ("SH-000001", "ship", "st-paris")
    assert shipment_pick_list(parcel) == [PickRow("MUG-GR", "Stoneware Mug Grey", 3, "st-paris")]

    # 10:20 — Carl wraps the mugs and gives the parcel to La Poste.
    shipment_pack(shipment=parcel, actor=carl)
    assert _levels(shop.mug) == {"st-paris": (5, 3), "wh-main": (1, 0)}
    shipment_ship(shipment=parcel, carrier="La Poste", tracking_number="6A0000012345", actor=carl)
    assert _levels(shop.mug) == {"st-paris": (2, 0), "wh-main": (1, 0)}
    order.refresh_from_db()
    assert order.status == "fulfilled"

    # Next day nobody is home; the day after, Léa has her mugs.
    shipment_delivery_attempt(shipment=parcel, actor=paula, note="nobody home, card left")
    shipment_delivered(shipment=parcel, actor=paula)
    order.refresh_from_db()
    assert order.status == "completed"

    # Stock left the store once, from the hold; nothing moved at the warehouse.
    assert list(
        StockMove.objects.filter(sku=shop.mug, reference_type="shipment").values_list(
            "from_location__code", "to_location__code", "quantity", "reference_id", "actor_label"
        )
    ) == [("st-paris", "virtual-customer", 3, "SH-000001", "user:carl")]
    assert list(
        Reservation.objects.filter(demand_type="order_line").values_list(
            "location__code", "quantity", "status"
        )
    ) == [("st-paris", 3, "consumed")]
    assert list(order.lines.values_list("quantity", "quantity_fulfilled")) == [(3, 3)]

    # The order's timeline tells the day.
    assert list(order.activities.values_list("kind", "message")) == [
        ("status", "placed on Web shop as confirmed"),
        ("routing", "wh-main short; st-paris has everything (priority 2)"),
        ("status", "confirmed → allocated: stock held (single_location)"),
        ("shipment", "SH-000001 to pick at st-paris: 3 unit(s) on 1 line(s)"),
        ("shipment", "SH-000001 packed"),
        ("status", "allocated → fulfilled: SH-000001 shipped with La Poste"),
        ("shipment", "SH-000001 shipped from st-paris with La Poste, tracking 6A0000012345"),
        ("shipment", "SH-000001 delivery attempt 1: nobody home, card left"),
        ("shipment", "SH-000001 delivered"),
        ("status", "fulfilled → completed: every shipment delivered or collected"),
    ]
    assert list(
        AuditLog.objects.filter(object_type="shipment")
        .order_by("pk")
        .values_list("action", "actor_label", "store_id")
    ) == [
        ("shipment.create", "user:paula", shop.store.pk),
        ("shipment.packed", "user:carl", shop.store.pk),
        ("shipment.shipped", "user:carl", shop.store.pk),
        ("shipment.delivery_attempt", "user:paula", shop.store.pk),
        ("shipment.delivered", "user:paula", shop.store.pk),
    ]
    assert OutboxEvent.objects.get(name="shipment.shipped").payload == {
        "shipment_id": parcel.pk,
        "order_id": order.pk,
        "carrier": "La Poste",
        "tracking_number": "6A0000012345",
    }
    assert not OutboxEvent.objects.filter(name="refund.requested").exists()
    assert verify_all()[0] == []
