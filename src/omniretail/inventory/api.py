from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from omniretail.catalog.selectors import variants_by_code
from omniretail.core.access import require
from omniretail.core.api_auth import idempotency_key, request_actor
from omniretail.core.errors import NotFound, ValidationFailed
from omniretail.core.idempotency import idempotent_call, request_fingerprint
from omniretail.inventory.models import Location, StockLevel
from omniretail.inventory.services import ReceiveLine, stock_receive

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


@router.post("/receipts", response={201: ReceiveOut, 200: ReceiveOut})
def stock_receipt_create(request: HttpRequest, payload: ReceiveIn) -> Status:
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
