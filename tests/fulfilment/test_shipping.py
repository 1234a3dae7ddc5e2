"""Shipments from holds: pick, pack, ship with tracking, deliver or bring
back; store scoping; the state machine refuses what it must."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.catalog.models import KitComponent, Product, Variant
from omniretail.catalog.services import VariantSpec, product_create
from omniretail.core.access import SYSTEM
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog, OutboxEvent
from omniretail.fulfilment.models import Shipment
from omniretail.fulfilment.shipping import (
    SHIPMENT_TRANSITIONS,
    PickRow,
    shipment_cancel,
    shipment_delivered,
    shipment_delivery_attempt,
    shipment_failed,
    shipment_pack,
    shipment_pick_list,
    shipment_ship,
    shipments_create,
)
from omniretail.inventory.models import Reservation, StockLevel, StockMove
from omniretail.orders.models import Order
from omniretail.orders.services import order_hold
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def _level(variant, location) -> tuple[int, int]:
    row = StockLevel.objects.get(sku=variant, location=location)
    return row.on_hand, row.reserved


def _holds(order) -> list[tuple[str, str, int]]:
    return sorted(
        Reservation.objects.filter(
            demand_type="order_line",
            demand_id__in=[str(pk) for pk in order.lines.values_list("pk", flat=True)],
        ).values_list("sku__sku", "status", "quantity")
    )


def _shipped(variant) -> list[tuple[str, str, int, str]]:
    return list(
        StockMove.objects.filter(sku=variant, reference_type="shipment")
        .order_by("pk")
        .values_list("from_location__code", "to_location__code", "quantity", "reference_id")
    )


def _status(order) -> str:
    return Order.objects.get(pk=order.pk).status


def test_a_web_order_is_picked_packed_shipped_and_delivered(shop, place, walter):
    stock_up(shop, {shop.mug: 5, shop.candle: 4}, location=shop.warehouse)
    order = place([(shop.mug, 2), (shop.candle, 1)])
    assert order.status == "allocated"

    [shipment] = shipments_create(order=order, actor=walter)
    assert (shipment.number, shipment.kind, shipment.status, shipment.location.code) == (
        "SH-000001",
        "ship",
        "picking",
        "wh-main",
    )
    assert sorted(shipment.lines.values_list("order_line__line_no", "quantity")) == [(1, 2), (2, 1)]
    assert shipment_pick_list(shipment) == [
        PickRow("MUG-GR", "Stoneware Mug Grey", 2, "wh-main"),
        PickRow("CAN-FIG", "Fig Candle Fig", 1, "wh-main"),
    ]

    shipment = shipment_pack(shipment=shipment, actor=walter)
    assert shipment.status == "packed"
    assert _level(shop.mug, shop.warehouse) == (5, 2)  # nothing leaves before the carrier

    shipment = shipment_ship(
        shipment=shipment, carrier=" Colissimo ", tracking_number="6A123", actor=walter
    )
    assert (shipment.status, shipment.carrier, shipment.tracking_number) == (
        "shipped",
        "Colissimo",
        "6A123",
    )
    assert _level(shop.mug, shop.warehouse) == (3, 0)
    assert _level(shop.candle, shop.warehouse) == (3, 0)
    assert _holds(order) == [("CAN-FIG", "consumed", 1), ("MUG-GR", "consumed", 2)]
    assert _shipped(shop.mug) == [("wh-main", "virtual-customer", 2, "SH-000001")]
    assert _status(order) == "fulfilled"
    assert sorted(order.lines.values_list("line_no", "quantity_fulfilled")) == [(1, 2), (2, 1)]
    event = OutboxEvent.objects.get(name="shipment.shipped")
    assert event.payload == {
        "shipment_id": shipment.pk,
        "order_id": order.pk,
        "carrier": "Colissimo",
        "tracking_number": "6A123",
    }

    shipment_delivered(shipment=shipment, actor=walter)
    assert _status(order) == "completed"
    assert OutboxEvent.objects.get(name="shipment.delivered").payload == {
        "shipment_id": shipment.pk,
        "order_id": order.pk,
    }
    assert list(order.activities.filter(kind="shipment").values_list("message", flat=True)) == [
        "SH-000001 to pick at wh-main: 3 unit(s) on 2 line(s)",
        "SH-000001 packed",
        "SH-000001 shipped from wh-main with Colissimo, tracking 6A123",
        "SH-000001 delivered",
    ]
    assert list(
        AuditLog.objects.filter(object_type="shipment")
        .order_by("pk")
        .values_list("action", "actor_label", "object_id")
    ) == [
        ("shipment.create", "user:walter", "SH-000001"),
        ("shipment.packed", "user:walter", "SH-000001"),
        ("shipment.shipped", "user:walter", "SH-000001"),
        ("shipment.delivered", "user:walter", "SH-000001"),
    ]
    assert verify_all()[0] == []


def test_a_split_order_completes_when_its_last_parcel_arrives(shop, place, walter):
    stock_up(shop, {shop.mug: 1, shop.candle: 5}, location=shop.warehouse)
    stock_up(shop, {shop.mug: 4})
    order = place([(shop.mug, 3), (shop.candle, 1)])
    store_parcel, warehouse_parcel = sorted(
        shipments_create(order=order, actor=walter), key=lambda s: s.location.code
    )
    # numbered in location order: the warehouse was set up first
    assert (warehouse_parcel.number, warehouse_parcel.location.code) == ("SH-000001", "wh-main")
    assert (store_parcel.number, store_parcel.location.code) == ("SH-000002", "st-paris")
    assert shipment_pick_list(store_parcel) == [
        PickRow("MUG-GR", "Stoneware Mug Grey", 3, "st-paris")
    ]
    assert shipment_pick_list(warehouse_parcel) == [
        PickRow("CAN-FIG", "Fig Candle Fig", 1, "wh-main")
    ]

    for parcel in (warehouse_parcel, store_parcel):
        shipment_pack(shipment=parcel, actor=walter)
    shipment_ship(shipment=warehouse_parcel, carrier="DPD", tracking_number="W1", actor=walter)
    assert _status(order) == "partly_fulfilled"
    shipment_delivered(shipment=warehouse_parcel, actor=walter)
    assert _status(order) == "partly_fulfilled"

    shipment_ship(shipment=store_parcel, carrier="DPD", tracking_number="S1", actor=walter)
    assert _status(order) == "fulfilled"
    assert _level(shop.mug, shop.floor) == (1, 0)
    shipment_delivered(shipment=store_parcel, actor=walter)
    assert _status(order) == "completed"
    assert verify_all()[0] == []


def test_held_stock_is_picked_once(shop, place, walter):
    stock_up(shop, {shop.mug: 5}, location=shop.warehouse)
    order = place([(shop.mug, 2)])
    [first] = shipments_create(order=order, actor=walter)
    with pytest.raises(Conflict) as refused:
        shipments_create(order=order, actor=walter)
    assert refused.value.code == "nothing_to_pick"
    assert refused.value.message == (
        f"Order #{order.pk} has no held stock left to pick; what is held is on open "
        "shipment(s) SH-000001."
    )

    with pytest.raises(ValidationFailed) as no_reason:
        shipment_cancel(shipment=first, actor=walter, reason=" ")
    assert no_reason.value.field == "reason"
    shipment_cancel(shipment=first, actor=walter, reason="box damaged, repick")
    assert _level(shop.mug, shop.warehouse) == (5, 2)  # the order keeps its stock
    [again] = shipments_create(order=order, actor=walter)
    assert (again.number, again.status) == ("SH-000002", "picking")
    assert Shipment.objects.get(number="SH-000001").status == "cancelled"


def test_the_state_machine_refuses_out_of_order_steps(shop, place, walter):
    stock_up(shop, {shop.mug: 5}, location=shop.warehouse)
    order = place([(shop.mug, 1)])
    [shipment] = shipments_create(order=order, actor=walter)
    with pytest.raises(Conflict) as early:
        shipment_ship(shipment=shipment, carrier="DPD", tracking_number="X", actor=walter)
    assert early.value.message == (
        "Shipment SH-000001 is picking; it cannot become shipped "
        "(from here it may become: cancelled, packed, ready for pick-up)."
    )
    with pytest.raises(ValidationFailed) as no_carrier:
        shipment_ship(shipment=shipment, carrier="", tracking_number="X", actor=walter)
    assert no_carrier.value.field == "carrier"
    with pytest.raises(Conflict) as not_shipped:
        shipment_delivery_attempt(shipment=shipment, actor=walter, note="nobody home")
    assert not_shipped.value.field == "status"
    with pytest.raises(Conflict):
        shipment_delivered(shipment=shipment, actor=walter)

    shipment_pack(shipment=shipment, actor=walter)
    shipment_ship(shipment=shipment, carrier="DPD", tracking_number="X", actor=walter)
    with pytest.raises(Conflict) as too_late:
        shipment_cancel(shipment=shipment, actor=walter, reason="customer asked")
    assert too_late.value.code == "invalid_transition"
    shipment_delivered(shipment=shipment, actor=walter)
    with pytest.raises(Conflict) as closed:
        shipment_failed(shipment=shipment, actor=walter, reason="lost")
    assert "it may become: nothing (it is closed)" in closed.value.message
    assert _level(shop.mug, shop.warehouse) == (4, 0)
    assert set(SHIPMENT_TRANSITIONS) == set(Shipment.Status.values)


def test_a_parcel_the_carrier_brings_back_returns_to_stock(shop, place, walter):
    stock_up(shop, {shop.mug: 5}, location=shop.warehouse)
    order = place([(shop.mug, 2)])
    [shipment] = shipments_create(order=order, actor=walter)
    shipment_pack(shipment=shipment, actor=walter)
    shipment_ship(shipment=shipment, carrier="DPD", tracking_number="T9", actor=walter)
    shipment = shipment_delivery_attempt(shipment=shipment, actor=walter, note="nobody home")
    shipment = shipment_delivery_attempt(shipment=shipment, actor=walter, note="")
    assert (shipment.delivery_attempts, shipment.status) == (2, "shipped")

    shipment = shipment_failed(shipment=shipment, actor=walter, reason="address unknown")
    assert shipment.status == "failed"
    assert _level(shop.mug, shop.warehouse) == (5, 0)
    assert _shipped(shop.mug) == [
        ("wh-main", "virtual-customer", 2, "SH-000001"),
        ("virtual-customer", "wh-main", 2, "SH-000001"),
    ]
    assert list(order.lines.values_list("quantity_fulfilled", flat=True)) == [0]
    assert OutboxEvent.objects.get(name="shipment.failed").payload == {
        "shipment_id": shipment.pk,
        "order_id": order.pk,
        "reason": "address unknown",
    }
    assert list(order.activities.filter(kind="shipment").values_list("message", flat=True))[
        -4:
    ] == [
        "SH-000001 delivery attempt 1: nobody home",
        "SH-000001 delivery attempt 2",
        "2 unit(s) open again: SH-000001 came back: address unknown",
        "SH-000001 came back to wh-main: address unknown",
    ]
    unfulfilled = AuditLog.objects.get(action="order.lines_unfulfilled")
    assert (unfulfilled.object_id, unfulfilled.reason, unfulfilled.data) == (
        str(order.pk),
        "SH-000001 came back: address unknown",
        {"lines": {str(order.lines.get().pk): 2}},
    )
    assert AuditLog.objects.get(action="shipment.failed").reason == "address unknown"
    assert verify_all()[0] == []


def test_staff_fulfil_only_where_they_work(shop, place, walter, paula, carl, lyon_cashier):
    stock_up(shop, {shop.mug: 1, shop.candle: 5}, location=shop.warehouse)
    stock_up(shop, {shop.mug: 4})
    order = place([(shop.mug, 3), (shop.candle, 1)])

    # the warehouse is company-wide: a Paris manager may not pick there
    with pytest.raises(PermissionDenied):
        shipments_create(order=order, actor=paula)
    assert Shipment.objects.count() == 0
    [store_parcel] = shipments_create(order=order, actor=paula, location=shop.floor)
    assert (store_parcel.number, store_parcel.location.code) == ("SH-000001", "st-paris")

    with pytest.raises(PermissionDenied):
        shipment_pack(shipment=store_parcel, actor=lyon_cashier)
    # a Paris cashier ships from the store although cashiers may not move stock in general
    shipment_pack(shipment=store_parcel, actor=carl)
    shipment_ship(shipment=store_parcel, carrier="La Poste", tracking_number="LP1", actor=carl)
    assert _level(shop.mug, shop.floor) == (1, 0)
    assert StockMove.objects.get(reference_id="SH-000001").actor_label == "user:carl"

    [warehouse_parcel] = shipments_create(order=order, actor=walter)
    with pytest.raises(PermissionDenied):
        shipment_pack(shipment=warehouse_parcel, actor=carl)
    assert verify_all()[0] == []


def test_an_order_on_hold_is_not_shipped(shop, place, walter):
    stock_up(shop, {shop.mug: 5}, location=shop.warehouse)
    order = place([(shop.mug, 1)])
    [shipment] = shipments_create(order=order, actor=walter)
    shipment_pack(shipment=shipment, actor=walter)
    order_hold(order=order, actor=SYSTEM, reason="fraud check")
    with pytest.raises(Conflict) as held:
        shipment_ship(shipment=shipment, carrier="DPD", tracking_number="X", actor=walter)
    assert held.value.message == (
        f"Order #{order.pk} is on hold; shipment SH-000001 cannot be shipped "
        "(release the hold first)."
    )
    assert _level(shop.mug, shop.warehouse) == (5, 1)


def test_the_held_part_of_a_backordered_order_ships_first(shop, place, walter):
    Product.objects.filter(pk=shop.mug.product_id).update(stock_policy="backorder")
    stock_up(shop, {shop.mug: 1}, location=shop.warehouse)
    order = place([(shop.mug, 3)])
    assert order.status == "confirmed"
    [shipment] = shipments_create(order=order, actor=walter)
    assert list(shipment.lines.values_list("quantity", flat=True)) == [1]
    shipment_pack(shipment=shipment, actor=walter)
    shipment_ship(shipment=shipment, carrier="DPD", tracking_number="B1", actor=walter)
    assert _status(order) == "partly_fulfilled"
    assert _holds(order) == [("MUG-GR", "backordered", 2), ("MUG-GR", "consumed", 1)]
    shipment_delivered(shipment=shipment, actor=walter)
    assert _status(order) == "partly_fulfilled"  # 2 still wait for stock
    assert verify_all()[0] == []


def test_a_kit_is_picked_as_its_components(shop, place, walter):
    product_create(
        code="gift-set",
        name="Cosy Evening Gift Set",
        tax_class=shop.standard,
        variants=[VariantSpec("GIFT-COSY", "Mug x2 + fig candle", Decimal("39.00"))],
    )
    kit = Variant.objects.get(sku="GIFT-COSY")
    KitComponent.objects.bulk_create(
        [
            KitComponent(kit=kit, component=shop.mug, quantity=2),
            KitComponent(kit=kit, component=shop.candle, quantity=1),
        ]
    )
    stock_up(shop, {shop.mug: 5, shop.candle: 3}, location=shop.warehouse)
    order = place([(kit, 2)])
    [shipment] = shipments_create(order=order, actor=walter)
    assert list(shipment.lines.values_list("quantity", flat=True)) == [2]
    desc = "Cosy Evening Gift Set Mug x2 + fig candle"
    assert shipment_pick_list(shipment) == [
        PickRow("MUG-GR", f"Stoneware Mug Grey (in {desc})", 4, "wh-main"),
        PickRow("CAN-FIG", f"Fig Candle Fig (in {desc})", 2, "wh-main"),
    ]
    shipment_pack(shipment=shipment, actor=walter)
    shipment_ship(shipment=shipment, carrier="DPD", tracking_number="K1", actor=walter)
    assert (_level(shop.mug, shop.warehouse), _level(shop.candle, shop.warehouse)) == (
        (1, 0),
        (1, 0),
    )
    assert list(order.lines.values_list("quantity_fulfilled", flat=True)) == [2]
    assert verify_all()[0] == []


# --- over HTTP (once the router is mounted) -----------------------------------------------

API = "/api/v1/fulfilment"


def _post(client, path, body=None, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"{API}{path}", body or {}, content_type="application/json", headers=headers)


def test_the_api_ships_an_order_once(shop, place, walter, lyon_cashier, login, fulfilment_api):
    stock_up(shop, {shop.mug: 5}, location=shop.warehouse)
    order = place([(shop.mug, 2)])
    client = login("walter")

    r = _post(client, f"/orders/{order.pk}/shipments")
    assert r.status_code == 201, r.content
    [body] = r.json()["shipments"]
    line_id = order.lines.get().pk
    assert {k: body[k] for k in ("number", "order_id", "kind", "status", "location")} == {
        "number": "SH-000001",
        "order_id": order.pk,
        "kind": "ship",
        "status": "picking",
        "location": "wh-main",
    }
    assert body["lines"] == [
        {
            "order_line_id": line_id,
            "line_no": 1,
            "sku": "MUG-GR",
            "description": "Stoneware Mug Grey",
            "quantity": 2,
        }
    ]
    assert body["pick_list"] == [
        {"sku": "MUG-GR", "description": "Stoneware Mug Grey", "quantity": 2, "location": "wh-main"}
    ]
    again = _post(client, f"/orders/{order.pk}/shipments")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "nothing_to_pick")
    assert client.get(f"{API}/shipments/SH-000001").json()["status"] == "picking"
    assert client.get(f"{API}/shipments/SH-999999").status_code == 404

    assert _post(client, "/shipments/SH-000001/pack").json()["status"] == "packed"
    missing = _post(client, "/shipments/SH-000001/ship", {"carrier": "DPD"})
    assert (missing.status_code, missing.json()["error"]["field"]) == (422, "tracking_number")
    ship = {"carrier": "DPD", "tracking_number": "T-77"}
    first = _post(client, "/shipments/SH-000001/ship", ship, key="ship-SH-000001")
    replay = _post(client, "/shipments/SH-000001/ship", ship, key="ship-SH-000001")
    assert (first.status_code, replay.status_code) == (200, 200)
    assert (first.json()["status"], first.json()["replayed"], replay.json()["replayed"]) == (
        "shipped",
        False,
        True,
    )
    assert _level(shop.mug, shop.warehouse) == (3, 0)  # consumed once
    reused = _post(
        client, "/shipments/SH-000001/ship", {**ship, "carrier": "UPS"}, key="ship-SH-000001"
    )
    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")

    attempt = _post(client, "/shipments/SH-000001/delivery-attempts", {"note": "nobody home"})
    assert attempt.json()["delivery_attempts"] == 1
    assert _post(client, "/shipments/SH-000001/delivered").json()["status"] == "delivered"
    assert _status(order) == "completed"

    lucie = login("lucie")
    assert lucie.get(f"{API}/shipments/SH-000001").status_code == 403


def test_the_api_cancels_and_reports_a_returned_parcel(shop, place, walter, login, fulfilment_api):
    stock_up(shop, {shop.mug: 5}, location=shop.warehouse)
    order = place([(shop.mug, 1)])
    client = login("walter")
    _post(client, f"/orders/{order.pk}/shipments")
    no_reason = _post(client, "/shipments/SH-000001/cancel", {"reason": ""})
    assert (no_reason.status_code, no_reason.json()["error"]["field"]) == (422, "reason")
    r = _post(client, "/shipments/SH-000001/cancel", {"reason": "repick"})
    assert (r.status_code, r.json()["status"]) == (200, "cancelled")

    r = _post(client, f"/orders/{order.pk}/shipments?location=wh-main")
    assert r.json()["shipments"][0]["number"] == "SH-000002"
    _post(client, "/shipments/SH-000002/pack")
    _post(client, "/shipments/SH-000002/ship", {"carrier": "DPD", "tracking_number": "T-78"})
    r = _post(client, "/shipments/SH-000002/failed", {"reason": "refused by the customer"})
    assert (r.status_code, r.json()["status"]) == (200, "failed")
    assert _level(shop.mug, shop.warehouse) == (5, 0)
    bad = _post(client, f"/orders/{order.pk}/shipments?location=nowhere")
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "location")


# --- back office --------------------------------------------------------------------------


def test_the_admin_shows_shipments_of_my_stores_read_only(rf, client, shop, place, walter, paula):
    from django.contrib import admin
    from django.contrib.auth import get_user_model

    from omniretail.fulfilment.admin import ShipmentAdmin

    stock_up(shop, {shop.mug: 1, shop.candle: 5}, location=shop.warehouse)
    stock_up(shop, {shop.mug: 4})
    order = place([(shop.mug, 3), (shop.candle, 1)])
    shipments_create(order=order, actor=walter)
    model_admin = ShipmentAdmin(Shipment, admin.site)

    def visible(username: str) -> list[str]:
        request = rf.get("/admin/fulfilment/shipment/")
        request.user = get_user_model().objects.get(username=username)
        return sorted(s.number for s in model_admin.get_queryset(request))

    assert visible("walter") == ["SH-000001", "SH-000002"]
    assert visible("paula") == ["SH-000002"]  # the warehouse parcel is company-wide

    root = get_user_model().objects.create_superuser("root", password="pw")
    client.force_login(root)
    page = client.get("/admin/fulfilment/shipment/")
    assert page.status_code == 200
    assert b"SH-000001" in page.content
    parcel = Shipment.objects.get(number="SH-000002")
    detail = client.get(f"/admin/fulfilment/shipment/{parcel.pk}/change/")
    assert detail.status_code == 200
    assert b"MUG-GR" in detail.content
    assert b"collection" not in detail.content.lower()
    r = client.post(
        "/admin/fulfilment/shipment/",
        {"action": "pack_selected", "_selected_action": [parcel.pk]},
    )
    assert r.status_code == 302
    assert Shipment.objects.get(pk=parcel.pk).status == "packed"
    assert AuditLog.objects.get(action="shipment.packed").actor_label == "user:root"
    decisions = client.get("/admin/fulfilment/routingdecision/")
    assert decisions.status_code == 200
    assert b"fewest_shipments" in decisions.content
