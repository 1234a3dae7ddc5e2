"""Buy online, pick up in store: the bag waits with a code nobody can
guess, leaves only against that code, and goes back on the shelf (order
cancelled, money requested back) when nobody comes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog, OutboxEvent
from omniretail.fulfilment.models import Shipment
from omniretail.fulfilment.shipping import (
    CODE_ALPHABET,
    pickup_hand_over,
    pickup_ready,
    pickups_expire,
    shipment_pack,
    shipment_ship,
    shipments_create,
)
from omniretail.inventory.models import Reservation, StockLevel
from omniretail.orders.models import Order
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def _level(variant, location) -> tuple[int, int]:
    row = StockLevel.objects.get(sku=variant, location=location)
    return row.on_hand, row.reserved


def _pickup(shop, place, quantity=2, payment_status="paid"):
    stock_up(shop, {shop.mug: 4})
    return place(
        [(shop.mug, quantity)],
        fulfilment="pickup",
        pickup_store="paris",
        payment_status=payment_status,
    )


def test_a_pickup_becomes_ready_with_a_code_only_the_customer_gets(shop, place, carl):
    order = _pickup(shop, place)
    [bag] = shipments_create(order=order, actor=carl)
    assert (bag.number, bag.kind, bag.location.code) == ("SH-000001", "pickup", "st-paris")
    bag = pickup_ready(shipment=bag, actor=carl)
    assert bag.status == "ready"
    assert len(bag.collection_code) == 8
    assert set(bag.collection_code) <= set(CODE_ALPHABET)
    assert not set("01ILO") & set(CODE_ALPHABET)
    assert bag.pickup_expires_at - bag.ready_at == dt.timedelta(days=7)
    assert OutboxEvent.objects.get(name="pickup.ready").payload == {
        "shipment_id": bag.pk,
        "order_id": order.pk,
        "collection_code": bag.collection_code,
        "expires_at": bag.pickup_expires_at.isoformat(),
    }
    # staff never read the code in the timeline or the audit log
    for message, data in order.activities.values_list("message", "data"):
        assert bag.collection_code not in message + str(data)
    for reason, data in AuditLog.objects.values_list("reason", "data"):
        assert bag.collection_code not in reason + str(data)
    assert _level(shop.mug, shop.floor) == (4, 2)  # still held until handed over


def test_how_long_a_bag_is_kept(shop, place, carl):
    order = _pickup(shop, place, quantity=1)
    [bag] = shipments_create(order=order, actor=carl)
    with pytest.raises(ValidationFailed) as bad:
        pickup_ready(shipment=bag, actor=carl, keep_days=0)
    assert bad.value.field == "keep_days"
    bag = pickup_ready(shipment=bag, actor=carl, keep_days=2)
    assert bag.pickup_expires_at - bag.ready_at == dt.timedelta(days=2)

    other = _pickup(shop, place, quantity=1)
    [bag2] = shipments_create(order=other, actor=carl)
    with override_settings(OMNI_PICKUP_KEEP_DAYS=3):
        bag2 = pickup_ready(shipment=bag2, actor=carl)
    assert bag2.pickup_expires_at - bag2.ready_at == dt.timedelta(days=3)


def test_only_the_right_code_hands_the_bag_over(shop, place, carl):
    order = _pickup(shop, place)
    [bag] = shipments_create(order=order, actor=carl)
    with pytest.raises(Conflict) as early:
        pickup_hand_over(shipment=bag, code="ABCDEFGH", actor=carl)
    assert early.value.code == "invalid_transition"
    bag = pickup_ready(shipment=bag, actor=carl)

    wrong = "".join(reversed(bag.collection_code))
    if wrong == bag.collection_code:
        wrong = "22222222" if bag.collection_code != "22222222" else "33333333"
    for attempt in (wrong, "", "  "):
        with pytest.raises(ValidationFailed) as refused:
            pickup_hand_over(shipment=bag, code=attempt, actor=carl)
        assert (refused.value.field, refused.value.code) == ("code", "wrong_code")
    assert Shipment.objects.get(pk=bag.pk).status == "ready"
    assert _level(shop.mug, shop.floor) == (4, 2)

    typed = f" {bag.collection_code[:4].lower()}-{bag.collection_code[4:].lower()} "
    bag = pickup_hand_over(shipment=bag, code=typed, actor=carl)
    assert bag.status == "collected"
    assert _level(shop.mug, shop.floor) == (2, 0)
    order.refresh_from_db()
    assert order.status == "completed"
    assert list(order.lines.values_list("quantity_fulfilled", flat=True)) == [2]
    assert verify_all()[0] == []


def test_a_pickup_is_not_shipped_and_a_parcel_is_not_collected(shop, place, carl, walter):
    order = _pickup(shop, place, quantity=1)
    [bag] = shipments_create(order=order, actor=carl)
    shipment_pack(shipment=bag, actor=carl)
    with pytest.raises(Conflict) as wrong_kind:
        shipment_ship(shipment=bag, carrier="DPD", tracking_number="X", actor=carl)
    assert wrong_kind.value.field == "kind"

    stock_up(shop, {shop.mug: 3}, location=shop.warehouse)
    parcel_order = place([(shop.mug, 1)])
    [parcel] = shipments_create(order=parcel_order, actor=walter)
    with pytest.raises(Conflict) as not_a_pickup:
        pickup_ready(shipment=parcel, actor=walter)
    assert not_a_pickup.value.message == (
        "Shipment SH-000002 is a ship to address; it cannot become ready for pick-up — "
        "ship it with a carrier."
    )


def test_only_the_stores_staff_hand_over(shop, place, carl, lyon_cashier):
    order = _pickup(shop, place, quantity=1)
    [bag] = shipments_create(order=order, actor=carl)
    bag = pickup_ready(shipment=bag, actor=carl)
    with pytest.raises(PermissionDenied):
        pickup_hand_over(shipment=bag, code=bag.collection_code, actor=lyon_cashier)
    assert Shipment.objects.get(pk=bag.pk).status == "ready"


def test_a_bag_nobody_collects_goes_back_and_the_money_is_requested_back(shop, place, carl):
    order = _pickup(shop, place)
    authorised = _pickup(shop, place, quantity=1, payment_status="authorized")
    bags = [shipments_create(order=o, actor=carl)[0] for o in (order, authorised)]
    bags = [pickup_ready(shipment=b, actor=carl, keep_days=2) for b in bags]
    assert _level(shop.mug, shop.floor) == (8, 3)

    assert pickups_expire(now=bags[0].pickup_expires_at - dt.timedelta(seconds=1)) == 0
    later = max(b.pickup_expires_at for b in bags) + dt.timedelta(minutes=1)
    assert pickups_expire(now=later) == 2
    assert pickups_expire(now=later) == 0
    assert list(Shipment.objects.order_by("pk").values_list("status", flat=True)) == [
        "expired",
        "expired",
    ]
    assert list(Order.objects.order_by("pk").values_list("status", flat=True)) == [
        "cancelled",
        "cancelled",
    ]
    assert _level(shop.mug, shop.floor) == (8, 0)
    assert set(Reservation.objects.values_list("status", flat=True)) == {"released"}
    refunds = OutboxEvent.objects.filter(name="refund.requested")
    assert sorted(
        (e.payload["order_id"], e.payload["amount"], e.payload["reason"]) for e in refunds
    ) == [
        (order.pk, "25.00", "cancelled: not collected"),
        (authorised.pk, "12.50", "cancelled: not collected"),
    ]
    assert AuditLog.objects.filter(action="shipment.expired").count() == 2
    assert verify_all()[0] == []


# --- over HTTP (once the router is mounted) -----------------------------------------------

API = "/api/v1/fulfilment"


def test_the_api_hands_a_bag_over_against_its_code(shop, place, carl, login, fulfilment_api):
    order = _pickup(shop, place)
    client = login("carl")
    r = client.post(f"{API}/orders/{order.pk}/shipments", {}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["shipments"][0]["kind"] == "pickup"

    bad = client.post(f"{API}/shipments/SH-000001/ready?keep_days=0")
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "keep_days")
    r = client.post(f"{API}/shipments/SH-000001/ready?keep_days=2")
    assert (r.status_code, r.json()["status"]) == (200, "ready")
    assert "collection_code" not in r.json()  # the code goes to the customer only
    bag = Shipment.objects.get(number="SH-000001")
    assert bag.pickup_expires_at - bag.ready_at == dt.timedelta(days=2)
    code = bag.collection_code

    wrong = client.post(
        f"{API}/shipments/SH-000001/hand-over", {"code": "XXXX"}, content_type="application/json"
    )
    assert (wrong.status_code, wrong.json()["error"]["field"]) == (422, "code")
    right = client.post(
        f"{API}/shipments/SH-000001/hand-over", {"code": code}, content_type="application/json"
    )
    assert (right.status_code, right.json()["status"]) == (200, "collected")
    order.refresh_from_db()
    assert order.status == "completed"
