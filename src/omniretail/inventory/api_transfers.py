"""JSON API for transfers between locations and for cycle counts.

Bodies name SKUs and locations by code; documents by number. Each endpoint
parses, calls one service (which checks permissions and store scope) and
returns the document. Mutating calls accept an `Idempotency-Key`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from omniretail.catalog.models import Category, Variant
from omniretail.catalog.selectors import variants_by_code
from omniretail.core.access import Actor, require
from omniretail.core.api_auth import idempotency_key, request_actor
from omniretail.core.errors import NotFound, ValidationFailed
from omniretail.core.idempotency import idempotent_call, request_fingerprint
from omniretail.inventory.models import Location, StockCount, Transfer
from omniretail.inventory.services.counts import (
    CountPosted,
    count_cancel,
    count_open,
    count_post,
    count_record,
)
from omniretail.inventory.services.ledger import StockLine
from omniretail.inventory.services.transfers import (
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)

router = Router(tags=["transfers and counts"])

LIST_LIMIT = 200


# --- schemas ------------------------------------------------------------------------------


class TransferLineIn(Schema):
    sku: str = Field(..., min_length=1, description="SKU code")
    quantity: int = Field(..., gt=0, description="Units to send, above 0")


class TransferIn(Schema):
    from_location: str = Field(..., description="Location code, e.g. 'wh-main'")
    to_location: str = Field(..., description="Location code, e.g. 'st-paris'")
    lines: list[TransferLineIn] = Field(..., min_length=1)
    note: str = Field("", max_length=2000)


class TransferReceivedLineIn(Schema):
    sku: str = Field(..., min_length=1, description="SKU code")
    quantity: int = Field(..., ge=0, description="Units that arrived now")


class TransferReceiveIn(Schema):
    lines: list[TransferReceivedLineIn] = Field(default_factory=list)
    close: bool = Field(
        False, description="Write off whatever has not arrived (a discrepancy); needs a note"
    )
    note: str = Field("", max_length=300, description="Why units are missing, when closing")


class StockDocumentReasonIn(Schema):
    reason: str = Field("", max_length=300)


class TransferLineOut(Schema):
    sku: str
    quantity: int
    quantity_received: int
    quantity_lost: int
    in_transit: int
    discrepancy_note: str


class TransferOut(Schema):
    number: str
    status: str
    from_location: str
    to_location: str
    note: str
    created_by: str
    created_at: dt.datetime
    shipped_at: dt.datetime | None
    closed_at: dt.datetime | None
    lines: list[TransferLineOut]
    replayed: bool = False


class CountIn(Schema):
    location: str = Field(..., description="Location code")
    skus: list[str] | None = Field(None, description="Count only these SKU codes")
    category: str | None = Field(None, description="Count only this category code")
    reason: str = Field("", max_length=300)


class CountedLineIn(Schema):
    sku: str = Field(..., min_length=1, description="SKU code")
    quantity: int = Field(..., ge=0, description="Units found, 0 or more")


class CountLinesIn(Schema):
    lines: list[CountedLineIn] = Field(..., min_length=1)


class CountLineOut(Schema):
    sku: str
    expected: int
    counted: int | None
    difference: int | None


class CountOut(Schema):
    number: str
    status: str
    location: str
    scope: str
    reason: str
    created_by: str
    created_at: dt.datetime
    posted_at: dt.datetime | None
    lines: list[CountLineOut]
    replayed: bool = False


class CountPostedOut(CountOut):
    units_added: int
    units_removed: int
    uncounted: list[str]
    short_of_reserved: list[str]


# --- helpers ------------------------------------------------------------------------------


def _transfer_out(transfer: Transfer) -> TransferOut:
    return TransferOut(
        number=transfer.number,
        status=transfer.status,
        from_location=transfer.from_location.code,
        to_location=transfer.to_location.code,
        note=transfer.note,
        created_by=transfer.created_by,
        created_at=transfer.created_at,
        shipped_at=transfer.shipped_at,
        closed_at=transfer.closed_at,
        lines=[
            TransferLineOut(
                sku=line.sku.sku,
                quantity=line.quantity,
                quantity_received=line.quantity_received,
                quantity_lost=line.quantity_lost,
                in_transit=(
                    line.quantity - line.quantity_received - line.quantity_lost
                    if transfer.shipped_at
                    else 0
                ),
                discrepancy_note=line.discrepancy_note,
            )
            for line in sorted(transfer.lines.all(), key=lambda ln: ln.sku.sku)
        ],
    )


def _count_out(count: StockCount) -> dict[str, Any]:
    lines = sorted(count.lines.all(), key=lambda ln: ln.sku.sku)
    return {
        "number": count.number,
        "status": count.status,
        "location": count.location.code,
        "scope": count.scope,
        "reason": count.reason,
        "created_by": count.created_by,
        "created_at": count.created_at,
        "posted_at": count.posted_at,
        "lines": [
            CountLineOut(
                sku=line.sku.sku,
                expected=line.expected,
                counted=line.counted,
                difference=None if line.counted is None else line.difference,
            )
            for line in lines
        ],
    }


def _transfer_get(number: str) -> Transfer:
    transfer = (
        Transfer.objects.select_related("from_location", "to_location")
        .prefetch_related("lines__sku")
        .filter(number=number)
        .first()
    )
    if transfer is None:
        raise NotFound(
            f"No transfer {number!r}; list them at /inventory/transfers.", field="number"
        )
    return transfer


def _count_get(number: str) -> StockCount:
    count = (
        StockCount.objects.select_related("location")
        .prefetch_related("lines__sku")
        .filter(number=number)
        .first()
    )
    if count is None:
        raise NotFound(f"No count {number!r}; check the number.", field="number")
    return count


def _location(code: str, field: str) -> Location:
    location = Location.objects.filter(code=code).first()
    if location is None:
        raise ValidationFailed(
            f"{field}: no location {code!r}; list them at /inventory/locations.", field=field
        )
    return location


def _skus(codes: list[str], field: str) -> dict[str, Variant]:
    found = variants_by_code(skus=codes)
    for i, code in enumerate(codes):
        if code not in found:
            raise ValidationFailed(
                f"{field}[{i}].sku: unknown sku {code!r}; check the code.",
                field=f"{field}[{i}].sku",
            )
    return found


def _summed(lines: list[Any], found: dict[str, Variant]) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for line in lines:
        totals[found[line.sku].pk] += line.quantity
    return dict(totals)


def _may_read_transfer(actor: Actor, transfer: Transfer) -> None:
    stores = (transfer.from_location.store_id, transfer.to_location.store_id)
    if not any(actor.can("stock.read", store_id) for store_id in stores):
        require(actor, "stock.read", store_id=transfer.to_location.store_id)


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


# --- transfers ----------------------------------------------------------------------------


@router.post("/transfers", response={201: TransferOut, 200: TransferOut})
def transfers_create(request: HttpRequest, payload: TransferIn) -> Status:
    """Draft a transfer of stock from one warehouse or store to another.
    Lines of the same SKU are summed."""
    actor = request_actor(request)
    source = _location(payload.from_location, "from_location")
    destination = _location(payload.to_location, "to_location")
    found = _skus([line.sku for line in payload.lines], "lines")

    def effect() -> tuple[int, dict]:
        transfer = transfer_create(
            from_location=source,
            to_location=destination,
            lines=[StockLine(found[ln.sku].pk, ln.quantity) for ln in payload.lines],
            actor=actor,
            note=payload.note,
        )
        return 201, _transfer_out(_transfer_get(transfer.number)).model_dump(mode="json")

    return _idempotent(request, actor, payload.dict(), effect)


@router.post("/transfers/{number}/ship", response={200: TransferOut})
def transfers_ship(request: HttpRequest, number: str) -> Status:
    """The goods leave: stock moves from the source to in transit. 409 when
    the source lacks the stock (reserved units count as not available)."""
    actor = request_actor(request)
    transfer = _transfer_get(number)

    def effect() -> tuple[int, dict]:
        transfer_ship(transfer=transfer, actor=actor)
        return 200, _transfer_out(_transfer_get(number)).model_dump(mode="json")

    return _idempotent(request, actor, {}, effect)


@router.post("/transfers/{number}/receive", response={200: TransferOut})
def transfers_receive(request: HttpRequest, number: str, payload: TransferReceiveIn) -> Status:
    """Record what arrived (partial receipts add up). With `close`, what has
    not arrived is written off as a discrepancy and `note` says why."""
    actor = request_actor(request)
    transfer = _transfer_get(number)
    found = _skus([line.sku for line in payload.lines], "lines")

    def effect() -> tuple[int, dict]:
        transfer_receive(
            transfer=transfer,
            received=_summed(payload.lines, found),
            actor=actor,
            close=payload.close,
            note=payload.note,
        )
        return 200, _transfer_out(_transfer_get(number)).model_dump(mode="json")

    return _idempotent(request, actor, payload.dict(), effect)


@router.post("/transfers/{number}/cancel", response={200: TransferOut})
def transfers_cancel(request: HttpRequest, number: str, payload: StockDocumentReasonIn) -> Status:
    """Drop a draft transfer (nothing has moved yet)."""
    actor = request_actor(request)
    transfer = _transfer_get(number)

    def effect() -> tuple[int, dict]:
        transfer_cancel(transfer=transfer, actor=actor, reason=payload.reason)
        return 200, _transfer_out(_transfer_get(number)).model_dump(mode="json")

    return _idempotent(request, actor, payload.dict(), effect)


@router.get("/transfers/{number}", response=TransferOut)
def transfers_get(request: HttpRequest, number: str) -> TransferOut:
    actor = request_actor(request)
    transfer = _transfer_get(number)
    _may_read_transfer(actor, transfer)
    return _transfer_out(transfer)


@router.get("/transfers", response=list[TransferOut])
def transfers_list(request: HttpRequest, status: str = "", location: str = "") -> list[TransferOut]:
    """Transfers touching the stores you may see, newest first (at most 200);
    filter by status and by a location code (either end)."""
    actor = request_actor(request)
    require(actor, "stock.read")
    qs = Transfer.objects.select_related("from_location", "to_location").prefetch_related(
        "lines__sku"
    )
    if status:
        if status not in Transfer.Status.values:
            raise ValidationFailed(
                f"status {status!r} does not exist; use one of "
                f"{', '.join(Transfer.Status.values)}.",
                field="status",
            )
        qs = qs.filter(status=status)
    if location:
        loc = _location(location, "location")
        qs = qs.filter(Q(from_location=loc) | Q(to_location=loc))
    store_ids = actor.store_ids("stock.read")
    if store_ids is not None:
        # Readable at either end; a warehouse (no store) is readable by anyone
        # who may read stock, as in Actor.can.
        qs = qs.filter(
            Q(from_location__store_id__in=store_ids)
            | Q(to_location__store_id__in=store_ids)
            | Q(from_location__store__isnull=True)
            | Q(to_location__store__isnull=True)
        )
    return [_transfer_out(t) for t in qs.order_by("-created_at", "-id")[:LIST_LIMIT]]


# --- counts -------------------------------------------------------------------------------


@router.post("/counts", response={201: CountOut, 200: CountOut})
def counts_open(request: HttpRequest, payload: CountIn) -> Status:
    """Open a cycle count of a location: the listed SKUs, a category, or by
    default every SKU with stock records there."""
    actor = request_actor(request)
    location = _location(payload.location, "location")
    sku_ids: list[int] | None = None
    if payload.skus is not None:
        found = variants_by_code(skus=payload.skus)
        for i, code in enumerate(payload.skus):
            if code not in found:
                raise ValidationFailed(
                    f"skus[{i}]: unknown sku {code!r}; check the code.", field=f"skus[{i}]"
                )
        sku_ids = [found[code].pk for code in payload.skus]
    category_id: int | None = None
    if payload.category is not None:
        category_id = (
            Category.objects.filter(code=payload.category).values_list("pk", flat=True).first()
        )
        if category_id is None:
            raise ValidationFailed(
                f"category: no category {payload.category!r}; check the code.", field="category"
            )

    def effect() -> tuple[int, dict]:
        count = count_open(
            location=location,
            actor=actor,
            sku_ids=sku_ids,
            category_id=category_id,
            reason=payload.reason,
        )
        return 201, CountOut(**_count_out(_count_get(count.number))).model_dump(mode="json")

    return _idempotent(request, actor, payload.dict(), effect)


@router.post("/counts/{number}/lines", response={200: CountOut})
def counts_record(request: HttpRequest, number: str, payload: CountLinesIn) -> Status:
    """Enter counted quantities by SKU code. A SKU's quantity replaces what
    was recorded for it before; the same SKU twice in one body is summed
    (found in two places). A SKU the count did not list is added."""
    actor = request_actor(request)
    count = _count_get(number)
    found = _skus([line.sku for line in payload.lines], "lines")

    def effect() -> tuple[int, dict]:
        count_record(count=count, counted=_summed(payload.lines, found), actor=actor)
        return 200, CountOut(**_count_out(_count_get(number))).model_dump(mode="json")

    return _idempotent(request, actor, payload.dict(), effect)


@router.post("/counts/{number}/post", response={200: CountPostedOut})
def counts_post(request: HttpRequest, number: str, payload: StockDocumentReasonIn) -> Status:
    """Book the differences between counted and on hand now, as adjustments.
    Lines nobody counted stay unchanged and are listed in `uncounted`."""
    actor = request_actor(request)
    count = _count_get(number)

    def effect() -> tuple[int, dict]:
        posted: CountPosted = count_post(count=count, actor=actor, reason=payload.reason)
        out = CountPostedOut(
            **_count_out(_count_get(number)),
            units_added=posted.units_added,
            units_removed=posted.units_removed,
            uncounted=posted.uncounted,
            short_of_reserved=posted.short_of_reserved,
        )
        return 200, out.model_dump(mode="json")

    return _idempotent(request, actor, payload.dict(), effect)


@router.post("/counts/{number}/cancel", response={200: CountOut})
def counts_cancel(request: HttpRequest, number: str, payload: StockDocumentReasonIn) -> Status:
    """Abandon an open count; stock is not touched."""
    actor = request_actor(request)
    count = _count_get(number)

    def effect() -> tuple[int, dict]:
        count_cancel(count=count, actor=actor, reason=payload.reason)
        return 200, CountOut(**_count_out(_count_get(number))).model_dump(mode="json")

    return _idempotent(request, actor, payload.dict(), effect)


@router.get("/counts/{number}", response=CountOut)
def counts_get(request: HttpRequest, number: str) -> CountOut:
    actor = request_actor(request)
    count = _count_get(number)
    require(actor, "stock.read", store_id=count.location.store_id)
    return CountOut(**_count_out(count))


__all__ = ["router"]
