"""Purchasing over the API: reorder proposals, purchase orders, receiving.

Parse → one service → schema. Codes in, codes out (SKU, location, supplier,
PO number); mutations accept an Idempotency-Key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from omniretail.catalog.selectors import variants_by_code
from omniretail.core.access import Actor, require, require_in
from omniretail.core.api_auth import idempotency_key, request_actor
from omniretail.core.errors import NotFound, PermissionDenied, ValidationFailed
from omniretail.core.idempotency import idempotent_call, request_fingerprint
from omniretail.inventory.models import Location, PurchaseOrder, Supplier
from omniretail.inventory.selectors_purchasing import (
    Proposal,
    purchase_location_ids,
    reorder_proposals,
)
from omniretail.inventory.services.purchasing import (
    PurchaseLine,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_send,
    purchase_orders_propose,
)

router = Router(tags=["purchasing"])


class SupplierOut(Schema):
    code: str
    name: str
    email: str
    lead_time_days: int
    active: bool


class ProposalLineOut(Schema):
    sku: str
    name: str
    on_hand: int
    reserved: int
    backordered: int
    on_order: int
    projected: int
    reorder_point: int
    reorder_quantity: int
    quantity: int = Field(..., description="Proposed quantity to order")
    unit_cost: Decimal


class ProposalOut(Schema):
    supplier: str
    supplier_name: str
    location: str
    location_name: str
    units: int
    lines: list[ProposalLineOut]


class PurchaseOrderLineOut(Schema):
    sku: str
    quantity_ordered: int
    quantity_received: int
    unit_cost: Decimal
    over_received: bool


class PurchaseOrderOut(Schema):
    number: str
    supplier: str
    location: str
    status: str
    expected_date: dt.date | None
    note: str
    created_by: str
    lines: list[PurchaseOrderLineOut]
    replayed: bool = False


class PurchaseOrderLineIn(Schema):
    sku: str = Field(..., min_length=1)
    quantity: int = Field(..., gt=0, description="Units to order, above 0")
    unit_cost: Decimal | None = Field(
        None, ge=0, description="Default: the reorder rule's cost, then the average cost"
    )


class PurchaseOrderIn(Schema):
    supplier: str = Field(..., description="Supplier code")
    location: str = Field(..., description="Location code the goods go to, e.g. 'wh-main'")
    expected_date: dt.date | None = Field(None, description="Default: today + lead time")
    note: str = Field("", max_length=2000)
    lines: list[PurchaseOrderLineIn] = Field(..., min_length=1)


class ProposeIn(Schema):
    locations: list[str] = Field(
        default_factory=list, description="Location codes; empty = every location you buy for"
    )


class ProposeOut(Schema):
    orders: list[PurchaseOrderOut]
    replayed: bool = False


class CancelIn(Schema):
    reason: str = Field("", max_length=300, description="Why, for the audit log")


class ReceiptLineIn(Schema):
    sku: str = Field(..., min_length=1)
    quantity: int = Field(..., ge=0, description="Units arriving now")
    unit_cost: Decimal | None = Field(None, ge=0, description="Default: the order line's cost")


class ReceiptIn(Schema):
    lines: list[ReceiptLineIn] = Field(..., min_length=1)
    accept_over: bool = Field(
        False, description="Keep units beyond the ordered quantity (the line is flagged)"
    )
    reference: str = Field("", max_length=64, description="Supplier delivery note")


def _order_out(order: PurchaseOrder) -> PurchaseOrderOut:
    return PurchaseOrderOut(
        number=order.number,
        supplier=order.supplier.code,
        location=order.location.code,
        status=order.status,
        expected_date=order.expected_date,
        note=order.note,
        created_by=order.created_by,
        lines=[
            PurchaseOrderLineOut(
                sku=line.sku.sku,
                quantity_ordered=line.quantity_ordered,
                quantity_received=line.quantity_received,
                unit_cost=line.unit_cost,
                over_received=line.over_received,
            )
            for line in order.lines.all()
        ],
    )


def _orders_loaded(numbers: list[str]) -> list[PurchaseOrder]:
    found = {
        o.number: o
        for o in PurchaseOrder.objects.select_related("supplier", "location")
        .prefetch_related("lines__sku")
        .filter(number__in=numbers)
    }
    return [found[n] for n in numbers]


def _order_readable(actor: Actor, number: str, permission: str) -> PurchaseOrder:
    order = (
        PurchaseOrder.objects.select_related("location", "supplier").filter(number=number).first()
    )
    if order is None:
        raise NotFound(
            f"No purchase order {number!r}; check the number (e.g. 'PO-000001').", field="number"
        )
    require_in(actor, permission, store_id=order.location.store_id)
    return order


def _location(code: str, field: str) -> Location:
    location = Location.objects.filter(code=code).first()
    if location is None:
        raise ValidationFailed(
            f"No location {code!r}; use a location code (list them at /inventory/locations).",
            field=field,
        )
    return location


def _idempotent(
    request: HttpRequest, actor: Actor, payload: dict[str, Any], effect: Callable[[], Any]
) -> Status:
    def run() -> tuple[int, dict[str, Any]]:
        status, body = effect()
        return status, body.model_dump(mode="json")

    result = idempotent_call(
        scope=actor.idempotency_scope,
        key=idempotency_key(request),
        fingerprint=request_fingerprint(request.method or "POST", request.path, payload),
        effect=run,
    )
    body = dict(result.body)
    body["replayed"] = result.replayed
    return Status(200 if result.replayed else result.status, body)


def _proposal_out(p: Proposal) -> ProposalOut:
    return ProposalOut(
        supplier=p.supplier_code,
        supplier_name=p.supplier_name,
        location=p.location_code,
        location_name=p.location_name,
        units=p.units,
        lines=[
            ProposalLineOut(
                sku=ln.sku,
                name=ln.name,
                on_hand=ln.on_hand,
                reserved=ln.reserved,
                backordered=ln.backordered,
                on_order=ln.on_order,
                projected=ln.projected,
                reorder_point=ln.reorder_point,
                reorder_quantity=ln.reorder_quantity,
                quantity=ln.quantity,
                unit_cost=ln.unit_cost,
            )
            for ln in p.lines
        ],
    )


def _location_ids(actor: Actor, codes: list[str], field: str) -> list[int] | None:
    """Location ids from codes, within what the actor buys for (None = all)."""
    allowed = purchase_location_ids(actor=actor)
    if not codes:
        return allowed
    found = dict(Location.objects.filter(code__in=codes).values_list("code", "pk"))
    for i, code in enumerate(codes):
        if code not in found:
            raise ValidationFailed(f"No location {code!r}; use a location code.", field=field)
        if allowed is not None and found[code] not in allowed:
            raise PermissionDenied(
                f"{actor.label} may not buy for {code}. Choose a location of your stores.",
                field=f"{field}[{i}]",
            )
    return sorted(set(found.values()))


@router.get("/suppliers", response=list[SupplierOut])
def suppliers_list(request: HttpRequest) -> list[SupplierOut]:
    require(request_actor(request), "stock.purchase")
    return [
        SupplierOut(
            code=s.code,
            name=s.name,
            email=s.email,
            lead_time_days=s.lead_time_days,
            active=s.active,
        )
        for s in Supplier.objects.order_by("name", "code")
    ]


@router.get("/reorder-proposals", response=list[ProposalOut])
def reorder_proposals_list(
    request: HttpRequest, location: list[str] = Query([])
) -> list[ProposalOut]:
    """What to order now, per supplier and location, for the locations you buy for."""
    actor = request_actor(request)
    require(actor, "stock.purchase")
    ids = _location_ids(actor, location, "location")
    return [_proposal_out(p) for p in reorder_proposals(location_ids=ids)]


@router.post("/purchase-orders", response={201: PurchaseOrderOut, 200: PurchaseOrderOut})
def purchase_order_create_endpoint(request: HttpRequest, payload: PurchaseOrderIn) -> Status:
    """A draft purchase order typed in by a buyer."""
    actor = request_actor(request)
    supplier = Supplier.objects.filter(code=payload.supplier).first()
    if supplier is None:
        raise ValidationFailed(
            f"No supplier {payload.supplier!r}; list them at /inventory/suppliers.",
            field="supplier",
        )
    location = _location(payload.location, "location")
    found = variants_by_code(skus=[line.sku for line in payload.lines])
    for i, line in enumerate(payload.lines):
        if line.sku not in found:
            raise ValidationFailed(
                f"unknown sku {line.sku!r}; check the code.", field=f"lines[{i}].sku"
            )

    def effect() -> tuple[int, PurchaseOrderOut]:
        order = purchase_order_create(
            supplier=supplier,
            location=location,
            lines=[
                PurchaseLine(found[ln.sku].pk, ln.quantity, ln.unit_cost) for ln in payload.lines
            ],
            actor=actor,
            expected_date=payload.expected_date,
            note=payload.note,
        )
        return 201, _order_out(_orders_loaded([order.number])[0])

    return _idempotent(request, actor, payload.dict(), effect)


@router.post("/purchase-orders/propose", response={201: ProposeOut, 200: ProposeOut})
def purchase_orders_propose_endpoint(request: HttpRequest, payload: ProposeIn) -> Status:
    """Turn the reorder proposals into draft orders (one per supplier and
    location). Calling it again orders nothing more."""
    actor = request_actor(request)
    require(actor, "stock.purchase")
    ids = _location_ids(actor, payload.locations, "locations")

    def effect() -> tuple[int, ProposeOut]:
        orders = purchase_orders_propose(actor=actor, location_ids=ids)
        loaded = _orders_loaded([o.number for o in orders])
        return (201 if orders else 200), ProposeOut(orders=[_order_out(o) for o in loaded])

    return _idempotent(request, actor, payload.dict(), effect)


@router.get("/purchase-orders/{number}", response=PurchaseOrderOut)
def purchase_order_detail(request: HttpRequest, number: str) -> PurchaseOrderOut:
    order = _order_readable(request_actor(request), number, "stock.read")
    return _order_out(_orders_loaded([order.number])[0])


@router.post("/purchase-orders/{number}/send", response={200: PurchaseOrderOut})
def purchase_order_send_endpoint(request: HttpRequest, number: str) -> Status:
    """Send a draft order to the supplier."""
    actor = request_actor(request)
    order = _order_readable(actor, number, "stock.purchase")

    def effect() -> tuple[int, PurchaseOrderOut]:
        purchase_order_send(order=order, actor=actor)
        return 200, _order_out(_orders_loaded([number])[0])

    return _idempotent(request, actor, {"number": number}, effect)


@router.post("/purchase-orders/{number}/cancel", response={200: PurchaseOrderOut})
def purchase_order_cancel_endpoint(request: HttpRequest, number: str, payload: CancelIn) -> Status:
    """Cancel a draft or sent order; refused (409) once goods arrived."""
    actor = request_actor(request)
    order = _order_readable(actor, number, "stock.purchase")

    def effect() -> tuple[int, PurchaseOrderOut]:
        purchase_order_cancel(order=order, actor=actor, reason=payload.reason)
        return 200, _order_out(_orders_loaded([number])[0])

    return _idempotent(request, actor, {"number": number, **payload.dict()}, effect)


@router.post("/purchase-orders/{number}/receive", response={200: PurchaseOrderOut})
def purchase_order_receive_endpoint(
    request: HttpRequest, number: str, payload: ReceiptIn
) -> Status:
    """Goods arrive against a sent order, all or part of it. More than ordered
    is refused (409) unless `accept_over`."""
    actor = request_actor(request)
    order = _order_readable(actor, number, "stock.receive")
    found = variants_by_code(skus=[line.sku for line in payload.lines])
    received: dict[int, int] = {}
    costs: dict[int, Decimal] = {}
    for i, line in enumerate(payload.lines):
        variant = found.get(line.sku)
        if variant is None:
            raise ValidationFailed(
                f"unknown sku {line.sku!r}; check the code.", field=f"lines[{i}].sku"
            )
        if variant.pk in received:
            raise ValidationFailed(
                f"lines[{i}]: {line.sku} is on two lines; put each SKU on one line.",
                field=f"lines[{i}].sku",
            )
        received[variant.pk] = line.quantity
        if line.unit_cost is not None:
            costs[variant.pk] = line.unit_cost

    def effect() -> tuple[int, PurchaseOrderOut]:
        purchase_order_receive(
            order=order,
            received=received,
            actor=actor,
            accept_over=payload.accept_over,
            unit_costs=costs or None,
            reference=payload.reference,
        )
        return 200, _order_out(_orders_loaded([number])[0])

    return _idempotent(request, actor, {"number": number, **payload.dict()}, effect)
