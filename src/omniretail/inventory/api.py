from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from omniretail.catalog.models import Variant
from omniretail.catalog.selectors import variants_by_code
from omniretail.core.access import require
from omniretail.core.api_auth import idempotency_key, request_actor
from omniretail.core.errors import NotFound, PermissionDenied, ValidationFailed
from omniretail.core.idempotency import idempotent_call, request_fingerprint
from omniretail.core.models import Channel
from omniretail.inventory.models import Location, Reservation, StockLevel
from omniretail.inventory.selectors import stock_available_by_location, stock_available_many
from omniretail.inventory.services import (
    ChannelLine,
    ReceiveLine,
    ReserveLine,
    reservations_consume,
    reservations_release,
    stock_receive,
    stock_reserve,
    stock_reserve_for_channel,
)

router = Router(tags=["inventory"])


class LocationOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    store_id: int | None


class LevelOut(Schema):
    sku: str
    location: str
    on_hand: int
    reserved: int
    available: int


class ReceiveLineIn(Schema):
    sku: str = Field(..., min_length=1)
    quantity: int = Field(..., gt=0, description="Units received, above 0")
    unit_cost: Decimal | None = Field(None, ge=0)


class ReceiveIn(Schema):
    location: str = Field(..., description="Location code, e.g. 'wh-main'")
    reference: str = Field("", max_length=64, description="Supplier delivery note")
    lines: list[ReceiveLineIn] = Field(..., min_length=1)


class ReceiveOut(Schema):
    location: str
    units: int
    replayed: bool = False


@router.get("/locations", response=list[LocationOut])
def locations_list(request: HttpRequest) -> list[LocationOut]:
    require(request_actor(request), "stock.read")
    return [
        LocationOut(id=loc.pk, code=loc.code, name=loc.name, kind=loc.kind, store_id=loc.store_id)
        for loc in Location.objects.filter(active=True)
    ]


@router.get("/levels", response=list[LevelOut])
def levels_list(request: HttpRequest, location: str, sku: str = "") -> list[LevelOut]:
    """Stock of one location (optionally one SKU), for the stores you may see."""
    actor = request_actor(request)
    loc = Location.objects.filter(code=location).first()
    if loc is None:
        raise NotFound(
            f"No location {location!r}; list them at /inventory/locations.", field="location"
        )
    require(actor, "stock.read", store_id=loc.store_id)
    qs = StockLevel.objects.select_related("sku").filter(location=loc).order_by("sku__sku")
    if sku:
        qs = qs.filter(sku__sku=sku)
    return [
        LevelOut(
            sku=lv.sku.sku,
            location=loc.code,
            on_hand=lv.on_hand,
            reserved=lv.reserved,
            available=lv.available,
        )
        for lv in qs[:1000]
    ]


@router.post("/deliveries", response={201: ReceiveOut, 200: ReceiveOut})
def stock_delivery_create(request: HttpRequest, payload: ReceiveIn) -> Status:
    """Receive goods from a supplier into a warehouse or store."""
    actor = request_actor(request)
    loc = Location.objects.filter(code=payload.location).first()
    if loc is None:
        raise ValidationFailed(
            f"No location {payload.location!r}; use a location code.", field="location"
        )
    found = variants_by_code(skus=[line.sku for line in payload.lines])
    for i, line in enumerate(payload.lines):
        if line.sku not in found:
            raise ValidationFailed(
                f"unknown sku {line.sku!r}; check the code.", field=f"lines[{i}].sku"
            )

    def effect() -> tuple[int, dict]:
        units = stock_receive(
            location=loc,
            lines=[
                ReceiveLine(found[ln.sku].pk, ln.quantity, ln.unit_cost) for ln in payload.lines
            ],
            actor=actor,
            reference=payload.reference,
        )
        return 201, {"location": loc.code, "units": units, "replayed": False}

    result = idempotent_call(
        scope=actor.idempotency_scope,
        key=idempotency_key(request),
        fingerprint=request_fingerprint("POST", request.path, payload.dict()),
        effect=effect,
    )
    body = dict(result.body)
    body["replayed"] = result.replayed
    return Status(200 if result.replayed else result.status, body)


# --- Availability (ATP) ------------------------------------------------------


class AvailabilityOut(Schema):
    sku: str
    channel: str
    available: int


class LocationAvailabilityOut(Schema):
    location: str
    name: str
    kind: str
    on_hand: int
    reserved: int
    available: int


def _channel(code: str) -> Channel:
    channel = Channel.objects.filter(code=code).first()
    if channel is None:
        raise NotFound(f"No channel {code!r}; use a channel code such as 'web'.", field="channel")
    return channel


def _variants(codes: list[str], field: str) -> dict[str, Variant]:
    found = variants_by_code(skus=codes)
    for i, code in enumerate(codes):
        if code not in found:
            raise ValidationFailed(f"unknown sku {code!r}; check the code.", field=f"{field}[{i}]")
    return found


@router.get("/availability", response=list[AvailabilityOut])
def availability_list(request: HttpRequest, channel: str, sku: list[str] = Query(...)) -> list:
    """What a channel can promise now for each SKU (kits from their components)."""
    require(request_actor(request), "stock.read")
    ch = _channel(channel)
    found = _variants(sku, "sku")
    free = stock_available_many(sku_ids=[found[c].pk for c in sku], channel_id=ch.pk)
    return [AvailabilityOut(sku=c, channel=ch.code, available=free[found[c].pk]) for c in sku]


@router.get("/availability/{sku}/locations", response=list[LocationAvailabilityOut])
def availability_by_location(request: HttpRequest, sku: str, channel: str = "") -> list:
    """Which stores and warehouses have it?"""
    require(request_actor(request), "stock.read")
    variant = _variants([sku], "sku")[sku]
    rows = stock_available_by_location(
        sku_id=variant.pk, channel_id=_channel(channel).pk if channel else None
    )
    return [
        LocationAvailabilityOut(
            location=r.code,
            name=r.name,
            kind=r.kind,
            on_hand=r.on_hand,
            reserved=r.reserved,
            available=r.available,
        )
        for r in rows
    ]


# --- Reservations ------------------------------------------------------------


class ReserveLineIn(Schema):
    sku: str = Field(..., min_length=1)
    quantity: int = Field(..., gt=0)
    location: str | None = Field(
        None, description="Hold at this location; omit to let the channel's sources decide"
    )


class ReserveIn(Schema):
    demand_type: str = Field(..., min_length=1, max_length=32, description="e.g. cart, order_line")
    demand_id: str = Field(..., min_length=1, max_length=64)
    channel: str | None = Field(None, description="Channel code; required without locations")
    expires_in_minutes: int | None = Field(None, gt=0, le=60 * 24 * 30)
    lines: list[ReserveLineIn] = Field(..., min_length=1)


class ReservationOut(Schema):
    id: int
    sku: str
    location: str
    quantity: int
    status: str
    demand_type: str
    demand_id: str
    expires_at: dt.datetime | None
    expected_date: dt.date | None


class ReservationIdsIn(Schema):
    reservation_ids: list[int] = Field(..., min_length=1)
    reference: str = Field("", max_length=64, description="Order or shipment the goods left for")


def _reservation_out(rows: list[Reservation]) -> list[dict]:
    skus = dict(Variant.objects.filter(pk__in={r.sku_id for r in rows}).values_list("pk", "sku"))
    places = dict(
        Location.objects.filter(pk__in={r.location_id for r in rows}).values_list("pk", "code")
    )
    return [
        {
            "id": r.pk,
            "sku": skus[r.sku_id],
            "location": places[r.location_id],
            "quantity": r.quantity,
            "status": r.status,
            "demand_type": r.demand_type,
            "demand_id": r.demand_id,
            "expires_at": r.expires_at.isoformat() if r.expires_at else None,
            "expected_date": r.expected_date.isoformat() if r.expected_date else None,
        }
        for r in rows
    ]


@router.post("/reservations", response={201: list[ReservationOut], 200: list[ReservationOut]})
def reservation_create(request: HttpRequest, payload: ReserveIn) -> Status:
    """Hold stock for a demand, all lines or nothing: at named locations, or
    from the channel's locations by priority (applying each product's policy
    at zero). 409 names every line that is short."""
    actor = request_actor(request)
    found = _variants([line.sku for line in payload.lines], "lines")
    channel = _channel(payload.channel) if payload.channel else None
    if channel and actor.channel_id is not None and actor.channel_id != channel.pk:
        raise PermissionDenied(
            f"This key belongs to another channel; reserve for your own channel, not "
            f"{channel.code!r}.",
            field="channel",
        )
    expires_at = (
        timezone.now() + dt.timedelta(minutes=payload.expires_in_minutes)
        if payload.expires_in_minutes
        else None
    )
    at_locations = [line for line in payload.lines if line.location]
    if at_locations and len(at_locations) != len(payload.lines):
        raise ValidationFailed(
            "Give a location on every line, or on none (the channel decides).",
            field="lines.location",
        )
    if not at_locations and channel is None:
        raise ValidationFailed("Name the channel, or a location on every line.", field="channel")
    codes = {line.location for line in at_locations}
    places = {loc.code: loc for loc in Location.objects.filter(code__in=codes)}
    for i, line in enumerate(payload.lines):
        if line.location and line.location not in places:
            raise ValidationFailed(
                f"unknown location {line.location!r}", field=f"lines[{i}].location"
            )

    def effect() -> tuple[int, list]:
        if at_locations:
            rows = stock_reserve(
                lines=[
                    ReserveLine(found[ln.sku].pk, places[ln.location].pk, ln.quantity)
                    for ln in payload.lines
                    if ln.location
                ],
                demand_type=payload.demand_type,
                demand_id=payload.demand_id,
                channel_id=channel.pk if channel else None,
                expires_at=expires_at,
                actor=actor,
            )
        else:
            assert channel is not None
            rows = stock_reserve_for_channel(
                lines=[ChannelLine(found[ln.sku].pk, ln.quantity) for ln in payload.lines],
                channel_id=channel.pk,
                demand_type=payload.demand_type,
                demand_id=payload.demand_id,
                expires_at=expires_at,
                actor=actor,
            )
        return 201, _reservation_out(rows)

    result = idempotent_call(
        scope=actor.idempotency_scope,
        key=idempotency_key(request),
        fingerprint=request_fingerprint("POST", request.path, payload.dict()),
        effect=effect,
    )
    return Status(200 if result.replayed else result.status, result.body)


@router.get("/reservations", response=list[ReservationOut])
def reservation_list(request: HttpRequest, demand_type: str, demand_id: str) -> list:
    require(request_actor(request), "stock.read")
    rows = list(
        Reservation.objects.filter(demand_type=demand_type, demand_id=demand_id).order_by("pk")
    )
    return _reservation_out(rows)


@router.post("/reservations/release", response={200: dict})
def reservation_release(request: HttpRequest, payload: ReservationIdsIn) -> dict:
    """Give holds back (a cart emptied, an order cancelled). Idempotent."""
    released = reservations_release(
        reservation_ids=payload.reservation_ids, actor=request_actor(request)
    )
    return {"released": released}


@router.post("/reservations/fulfil", response={200: dict})
def reservation_fulfil(request: HttpRequest, payload: ReservationIdsIn) -> dict:
    """The held goods leave (shipped or handed over): moves to the customer."""
    units = reservations_consume(
        reservation_ids=payload.reservation_ids,
        actor=request_actor(request),
        reference_type="fulfilment",
        reference_id=payload.reference,
    )
    return {"units": units}
