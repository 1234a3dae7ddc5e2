"""JSON API for shipments and pick-ups in store (`/api/v1/fulfilment/...`).

Shipments are named by number (SH-000001). Each endpoint parses, calls one
service of fulfilment/shipping.py (which checks `orders.fulfil` in the
shipment's store) and returns the shipment with its pick list. Mutating
calls accept an `Idempotency-Key`; a retry replays the first response.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from omniretail.core.access import Actor, require_in
from omniretail.core.api_auth import idempotency_key, request_actor
from omniretail.core.errors import NotFound, ValidationFailed
from omniretail.core.idempotency import idempotent_call, request_fingerprint
from omniretail.fulfilment.models import Shipment
from omniretail.fulfilment.shipping import (
    pickup_hand_over,
    pickup_ready,
    shipment_cancel,
    shipment_delivered,
    shipment_delivery_attempt,
    shipment_failed,
    shipment_pack,
    shipment_pick_list,
    shipment_ship,
    shipments_create,
)
from omniretail.inventory.models import Location
from omniretail.orders.models import Order

router = Router(tags=["fulfilment"])


# --- schemas ------------------------------------------------------------------------------


class ShipIn(Schema):
    carrier: str = Field(..., min_length=1, max_length=64, description="e.g. 'Colissimo'")
    tracking_number: str = Field(..., min_length=1, max_length=64)


class DeliveryAttemptIn(Schema):
    note: str = Field("", max_length=300, description="What the carrier reported")


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


class HandOverIn(Schema):
    code: str = Field(..., min_length=1, max_length=32, description="The customer's code")


class ShipmentLineOut(Schema):
    order_line_id: int
    line_no: int
    sku: str
    description: str
    quantity: int


class PickRowOut(Schema):
    sku: str
    description: str
    quantity: int
    location: str


class ShipmentOut(Schema):
    number: str
    order_id: int
    kind: str
    status: str
    location: str
    carrier: str
    tracking_number: str
    delivery_attempts: int
    ready_at: dt.datetime | None
    pickup_expires_at: dt.datetime | None
    created_at: dt.datetime
    lines: list[ShipmentLineOut]
    pick_list: list[PickRowOut]
    replayed: bool = False


class ShipmentsOut(Schema):
    shipments: list[ShipmentOut]
    replayed: bool = False


# --- helpers ------------------------------------------------------------------------------


def _shipment_get(number: str) -> Shipment:
    shipment = Shipment.objects.select_related("location", "order").filter(number=number).first()
    if shipment is None:
        raise NotFound(f"No shipment {number!r}; check the number.", field="number")
    return shipment


def _shipment_out(shipment: Shipment) -> dict[str, Any]:
    lines = shipment.lines.select_related("order_line__sku").order_by("order_line__line_no", "pk")
    body = ShipmentOut(
        number=shipment.number,
        order_id=shipment.order_id,
        kind=shipment.kind,
        status=shipment.status,
        location=shipment.location.code,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        delivery_attempts=shipment.delivery_attempts,
        ready_at=shipment.ready_at,
        pickup_expires_at=shipment.pickup_expires_at,
        created_at=shipment.created_at,
        lines=[
            ShipmentLineOut(
                order_line_id=sl.order_line_id,
                line_no=sl.order_line.line_no,
                sku=sl.order_line.sku.sku,
                description=sl.order_line.description,
                quantity=sl.quantity,
            )
            for sl in lines
        ],
        pick_list=[
            PickRowOut(
                sku=r.sku, description=r.description, quantity=r.quantity, location=r.location
            )
            for r in shipment_pick_list(shipment)
        ],
    )
    return body.model_dump(mode="json")


def _fresh(number: str) -> dict[str, Any]:
    return _shipment_out(_shipment_get(number))


def _own_channel(actor: Actor, order: Order, what: str) -> None:
    """A channel's key sees its own orders only (a terminal works for its store)."""
    channel_key = actor.channel_id is not None and actor.terminal_id is None
    if channel_key and order.channel_id != actor.channel_id:
        raise NotFound(f"No {what} for you.", field="number")


def _may_see(actor: Actor, shipment: Shipment) -> None:
    _own_channel(actor, shipment.order, f"shipment {shipment.number!r}")
    store_id = shipment.location.store_id
    wide = store_id is None
    if not actor.can("orders.read", store_id, company_wide=wide):
        require_in(actor, "orders.fulfil", store_id=store_id)


def _idempotent(
    request: HttpRequest, actor: Actor, body: Any, effect: Callable[[], tuple[int, dict]]
) -> Status:
    result = idempotent_call(
        scope=actor.idempotency_scope,
        key=idempotency_key(request),
        fingerprint=request_fingerprint("POST", request.path, body),
        effect=effect,
    )
    payload = dict(result.body)
    payload["replayed"] = result.replayed
    return Status(200 if result.replayed else result.status, payload)


def _act(
    request: HttpRequest, number: str, body: dict[str, Any], verb: Callable[..., Shipment]
) -> Status:
    """One verb on one shipment: `verb(shipment=..., actor=..., **body)`."""
    actor = request_actor(request)
    shipment = _shipment_get(number)
    _own_channel(actor, shipment.order, f"shipment {number!r}")

    def effect() -> tuple[int, dict]:
        verb(shipment=shipment, actor=actor, **body)
        return 200, _fresh(number)

    return _idempotent(request, actor, body, effect)


# --- endpoints ----------------------------------------------------------------------------


@router.post("/orders/{order_id}/shipments", response={201: ShipmentsOut, 200: ShipmentsOut})
def shipments_create_endpoint(
    request: HttpRequest, order_id: int, location: str | None = None
) -> Status:
    """Pick lists from the order's held stock not yet on a shipment: one
    shipment per location (`?location=<code>`: only there). 409 when nothing
    is left to pick or the order may not be fulfilled now."""
    actor = request_actor(request)
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order #{order_id}.", field="order_id")
    _own_channel(actor, order, f"order #{order_id}")
    place = None
    if location is not None:
        place = Location.objects.filter(code=location).first()
        if place is None:
            raise ValidationFailed(
                f"location: no location {location!r}; use a location code such as 'wh-main'.",
                field="location",
            )

    def effect() -> tuple[int, dict]:
        created = shipments_create(order=order, actor=actor, location=place)
        return 201, {"shipments": [_fresh(s.number) for s in created]}

    return _idempotent(request, actor, {"location": location}, effect)


@router.get("/shipments/{number}", response=ShipmentOut)
def shipment_get(request: HttpRequest, number: str) -> dict[str, Any]:
    """A shipment with its lines and its pick list (what to take from the shelf)."""
    actor = request_actor(request)
    shipment = _shipment_get(number)
    _may_see(actor, shipment)
    return _shipment_out(shipment)


@router.post("/shipments/{number}/pack", response={200: ShipmentOut})
def shipment_pack_endpoint(request: HttpRequest, number: str) -> Status:
    return _act(request, number, {}, shipment_pack)


@router.post("/shipments/{number}/ship", response={200: ShipmentOut})
def shipment_ship_endpoint(request: HttpRequest, number: str, payload: ShipIn) -> Status:
    """The parcel leaves with the carrier: its stock leaves, the order lines
    are fulfilled and `shipment.shipped` is published with the tracking number."""
    return _act(request, number, payload.dict(), shipment_ship)


@router.post("/shipments/{number}/delivery-attempts", response={200: ShipmentOut})
def shipment_delivery_attempt_endpoint(
    request: HttpRequest, number: str, payload: DeliveryAttemptIn
) -> Status:
    return _act(request, number, payload.dict(), shipment_delivery_attempt)


@router.post("/shipments/{number}/delivered", response={200: ShipmentOut})
def shipment_delivered_endpoint(request: HttpRequest, number: str) -> Status:
    """The customer has it; the order completes when every shipment arrived."""
    return _act(request, number, {}, shipment_delivered)


@router.post("/shipments/{number}/failed", response={200: ShipmentOut})
def shipment_failed_endpoint(request: HttpRequest, number: str, payload: ReasonIn) -> Status:
    """The carrier brought it back: the goods are in stock again, the order
    lines open again."""
    return _act(request, number, payload.dict(), shipment_failed)


@router.post("/shipments/{number}/ready", response={200: ShipmentOut})
def pickup_ready_endpoint(
    request: HttpRequest,
    number: str,
    keep_days: int | None = Query(
        None, ge=1, le=90, description="Days the bag is kept; default OMNI_PICKUP_KEEP_DAYS"
    ),
) -> Status:
    """The pick-up waits at the counter; the customer is sent a collection
    code (`pickup.ready`), which this API never shows."""
    return _act(request, number, {"keep_days": keep_days}, pickup_ready)


@router.post("/shipments/{number}/hand-over", response={200: ShipmentOut})
def pickup_hand_over_endpoint(request: HttpRequest, number: str, payload: HandOverIn) -> Status:
    """The customer collects with their code; 422 naming `code` when it is wrong."""
    return _act(request, number, payload.dict(), pickup_hand_over)


@router.post("/shipments/{number}/cancel", response={200: ShipmentOut})
def shipment_cancel_endpoint(request: HttpRequest, number: str, payload: ReasonIn) -> Status:
    """Void a picking or packed shipment; its stock stays held for the order."""
    return _act(request, number, payload.dict(), shipment_cancel)
