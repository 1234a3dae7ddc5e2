"""Buying stock: suppliers, reorder rules, purchase orders and receiving
against them.

A purchase order is a state machine (PURCHASE_ORDER_TRANSITIONS): draft →
sent → partly received → received, or cancelled before any goods arrive.
One service per verb checks the table, sets the status and writes an audit
record; goods arrive as moves from the supplier location at the line's cost,
so the moving average cost follows.

Warehouses belong to no store: only roles that cover every store may buy for
them (the back office hides them from store-bound roles the same way).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from omniretail.catalog.models import Variant
from omniretail.core.access import Actor, require, require_in
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.series import FieldsBuilder, series_get_or_create, series_take
from omniretail.inventory.domain import PURCHASE_ORDER_TRANSITIONS
from omniretail.inventory.models import (
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderRule,
    SkuValuation,
    Supplier,
)
from omniretail.inventory.selectors_purchasing import (
    Proposal,
    purchase_location_ids,
    reorder_proposals,
)
from omniretail.inventory.services.ledger import MoveSpec, location_virtual, stock_moves_post
from omniretail.inventory.services.reservations import backorders_fill

PO_SERIES_CODE = "purchase-order"
PO_PREFIX = "PO-"
CODE_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+$")
Status = PurchaseOrder.Status


@dataclass(frozen=True)
class PurchaseLine:
    """A line of a manual purchase order. Without a unit cost, the reorder
    rule's cost (then the current average cost) is used."""

    sku_id: int
    quantity: int
    unit_cost: Decimal | None = None


# --- permissions --------------------------------------------------------------


def _require_at(actor: Actor, permission: str, locations: Iterable[Location]) -> None:
    """`permission` at each location; one without a store (a warehouse) needs
    a role that covers every store."""
    for store_id in sorted({loc.store_id for loc in locations}, key=lambda s: (s is None, s or 0)):
        require_in(actor, permission, store_id=store_id)


def _require_company_wide(actor: Actor, permission: str, what: str) -> None:
    require(actor, permission)
    if actor.store_ids(permission) is not None:
        raise PermissionDenied(
            f"{actor.label} may not {what}: suppliers are shared by every store. Ask an "
            "administrator or the purchasing team.",
            code="forbidden",
        )


# --- master data ---------------------------------------------------------------


@transaction.atomic
def supplier_create(
    *,
    code: str,
    name: str,
    actor: Actor,
    email: str = "",
    lead_time_days: int = 7,
) -> Supplier:
    """A supplier the company buys from (master data shared by all stores)."""
    _require_company_wide(actor, "stock.purchase", "create suppliers")
    if not CODE_PATTERN.match(code or "") or len(code) > 32:
        raise ValidationFailed(
            f"code {code!r} must be 1 to 32 letters, digits, '-' or '_' (e.g. 'nordic-linen').",
            field="code",
        )
    if not name.strip():
        raise ValidationFailed("name is empty; give the supplier's name.", field="name")
    if not isinstance(lead_time_days, int) or not 0 <= lead_time_days <= 365:
        raise ValidationFailed(
            f"lead_time_days must be a whole number of days from 0 to 365 (got {lead_time_days}).",
            field="lead_time_days",
        )
    try:
        with transaction.atomic():
            supplier = Supplier.objects.create(
                code=code, name=name.strip(), email=email, lead_time_days=lead_time_days
            )
    except IntegrityError:
        raise Conflict(
            f"A supplier with code {code!r} already exists; choose another code.",
            field="code",
            code="duplicate",
        )
    audit_record(
        actor=actor,
        action="supplier.create",
        object_type="supplier",
        object_id=supplier.pk,
        data={"code": code, "name": supplier.name},
    )
    return supplier


def _cost(value: Any, field: str) -> Decimal:
    try:
        cost = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"{field} must be a number like 4.20 (got {value!r}).", field=field)
    if not cost.is_finite() or cost < 0:
        raise ValidationFailed(f"{field} must be 0 or more (got {value}).", field=field)
    return cost


@transaction.atomic
def reorder_rule_set(
    *,
    sku: Variant,
    location: Location,
    supplier: Supplier,
    reorder_point: int,
    reorder_quantity: int,
    unit_cost: Decimal | None = None,
    actor: Actor,
) -> ReorderRule:
    """Create or replace the reorder rule of a SKU at a location."""
    _require_at(actor, "stock.purchase", [location])
    if location.kind not in Location.PHYSICAL:
        raise ValidationFailed(
            f"{location.name} is not a warehouse or store; reorder for a physical location.",
            field="location",
        )
    if not supplier.active:
        raise ValidationFailed(
            f"Supplier {supplier.name} is inactive; reactivate it or choose another supplier.",
            field="supplier",
        )
    if not isinstance(reorder_point, int) or reorder_point < 0:
        raise ValidationFailed(
            f"reorder_point must be a whole number, 0 or more (got {reorder_point}).",
            field="reorder_point",
        )
    if not isinstance(reorder_quantity, int) or reorder_quantity <= 0:
        raise ValidationFailed(
            f"reorder_quantity must be a whole number above 0 (got {reorder_quantity}).",
            field="reorder_quantity",
        )
    cost = None if unit_cost is None else _cost(unit_cost, "unit_cost")
    rule, created = ReorderRule.objects.update_or_create(
        sku=sku,
        location=location,
        defaults={
            "supplier": supplier,
            "reorder_point": reorder_point,
            "reorder_quantity": reorder_quantity,
            "unit_cost": cost,
        },
    )
    audit_record(
        actor=actor,
        action="reorder_rule.set",
        object_type="reorder_rule",
        object_id=rule.pk,
        store_id=location.store_id,
        data={
            "created": created,
            "sku": sku.sku,
            "location": location.code,
            "supplier": supplier.code,
            "reorder_point": reorder_point,
            "reorder_quantity": reorder_quantity,
            "unit_cost": None if cost is None else str(cost),
        },
    )
    return rule


# --- creating purchase orders ------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    supplier: Supplier
    location: Location
    lines: list[tuple[int, int, Decimal]]  # (sku_id, quantity, unit_cost)
    expected_date: dt.date | None
    note: str


def _chained_fields(draft: _Draft) -> FieldsBuilder:
    def fields(_number: int, full_number: str, _previous: str) -> dict[str, Any]:
        return {
            "number": full_number,
            "supplier": draft.supplier.code,
            "location": draft.location.code,
            "lines": [[sku_id, qty, str(cost)] for sku_id, qty, cost in draft.lines],
        }

    return fields


def _drafts_create(*, drafts: list[_Draft], actor: Actor, source: str) -> list[PurchaseOrder]:
    """Number and store draft orders with their lines: one number per order
    from the gapless PO series, lines in one insert."""
    if not drafts:
        return []
    series = series_get_or_create(code=PO_SERIES_CODE, prefix=PO_PREFIX)
    orders = []
    for draft in drafts:
        numbered = series_take(series_id=series.pk, fields_for=_chained_fields(draft))
        orders.append(
            PurchaseOrder(
                number=numbered.full_number,
                supplier=draft.supplier,
                location=draft.location,
                status=Status.DRAFT,
                expected_date=draft.expected_date,
                note=draft.note,
                created_by=actor.label,
            )
        )
    PurchaseOrder.objects.bulk_create(orders)
    if any(order.pk is None for order in orders):  # a backend that cannot return ids
        ids = dict(
            PurchaseOrder.objects.filter(number__in=[o.number for o in orders]).values_list(
                "number", "pk"
            )
        )
        for order in orders:
            order.pk = ids[order.number]
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(order=order, sku_id=sku_id, quantity_ordered=qty, unit_cost=cost)
            for order, draft in zip(orders, drafts, strict=True)
            for sku_id, qty, cost in draft.lines
        ]
    )
    for order, draft in zip(orders, drafts, strict=True):
        audit_record(
            actor=actor,
            action="purchase_order.create",
            object_type="purchase_order",
            object_id=order.number,
            store_id=draft.location.store_id,
            data={
                "source": source,
                "supplier": draft.supplier.code,
                "location": draft.location.code,
                "lines": len(draft.lines),
                "units": sum(qty for _, qty, _ in draft.lines),
            },
        )
    return orders


def _expected(supplier: Supplier) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=supplier.lead_time_days)


@transaction.atomic
def purchase_order_create(
    *,
    supplier: Supplier,
    location: Location,
    lines: list[PurchaseLine],
    actor: Actor,
    expected_date: dt.date | None = None,
    note: str = "",
) -> PurchaseOrder:
    """A draft purchase order typed in by a buyer. Lines without a cost take
    the reorder rule's cost, then the SKU's average cost."""
    _require_at(actor, "stock.purchase", [location])
    if location.kind not in Location.PHYSICAL:
        raise ValidationFailed(
            f"{location.name} is not a warehouse or store; order for a physical location.",
            field="location",
        )
    if not supplier.active:
        raise ValidationFailed(
            f"Supplier {supplier.name} is inactive; reactivate it or choose another supplier.",
            field="supplier",
        )
    if not lines:
        raise ValidationFailed("A purchase order needs at least one line; add one.", field="lines")
    sku_ids = {line.sku_id for line in lines}
    known = dict(Variant.objects.filter(pk__in=sku_ids).values_list("pk", "sku"))
    seen: set[int] = set()
    for i, line in enumerate(lines):
        if line.sku_id not in known:
            raise ValidationFailed(
                f"lines[{i}]: SKU #{line.sku_id} does not exist; check the SKU.",
                field=f"lines[{i}].sku",
            )
        if line.sku_id in seen:
            raise ValidationFailed(
                f"lines[{i}]: {known[line.sku_id]} is already on another line; put each SKU on "
                "one line.",
                field=f"lines[{i}].sku",
            )
        seen.add(line.sku_id)
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            raise ValidationFailed(
                f"lines[{i}].quantity must be a whole number above 0 (got {line.quantity}).",
                field=f"lines[{i}].quantity",
            )
    costs = _default_costs(
        sku_ids={ln.sku_id for ln in lines if ln.unit_cost is None}, location=location
    )
    resolved: list[tuple[int, int, Decimal]] = []
    for i, line in enumerate(lines):
        if line.unit_cost is not None:
            cost = _cost(line.unit_cost, f"lines[{i}].unit_cost")
        elif line.sku_id in costs:
            cost = costs[line.sku_id]
        else:
            raise ValidationFailed(
                f"lines[{i}]: no cost is known for {known[line.sku_id]}; give the supplier's "
                "unit cost.",
                field=f"lines[{i}].unit_cost",
            )
        resolved.append((line.sku_id, line.quantity, cost))
    [order] = _drafts_create(
        drafts=[
            _Draft(
                supplier=supplier,
                location=location,
                lines=resolved,
                expected_date=expected_date or _expected(supplier),
                note=note,
            )
        ],
        actor=actor,
        source="manual",
    )
    return order


def _default_costs(*, sku_ids: set[int], location: Location) -> dict[int, Decimal]:
    if not sku_ids:
        return {}
    costs: dict[int, Decimal] = dict(
        SkuValuation.objects.filter(sku_id__in=sku_ids).values_list("sku_id", "average_cost")
    )
    for sku_id, cost in ReorderRule.objects.filter(
        sku_id__in=sku_ids, location=location, unit_cost__isnull=False
    ).values_list("sku_id", "unit_cost"):
        if cost is not None:
            costs[sku_id] = cost
    return costs


@transaction.atomic
def purchase_orders_propose(
    *, actor: Actor, location_ids: list[int] | None = None
) -> list[PurchaseOrder]:
    """Turn today's reorder proposals into draft orders, one per supplier and
    location. Running it again orders nothing more: what is on open orders
    counts in the projection."""
    require(actor, "stock.purchase")
    allowed = purchase_location_ids(actor=actor)
    if location_ids is None:
        scope = allowed
    else:
        locations = list(Location.objects.filter(pk__in=set(location_ids)))
        missing = set(location_ids) - {loc.pk for loc in locations}
        if missing:
            raise ValidationFailed(
                f"locations {sorted(missing)} do not exist; choose existing locations.",
                field="location_ids",
            )
        _require_at(actor, "stock.purchase", locations)
        scope = sorted({loc.pk for loc in locations})
    if scope is not None and not scope:
        return []
    # Two buyers proposing at once must not both order: the second waits for
    # the first to commit, then sees its drafts as "on order".
    rules = ReorderRule.objects.select_for_update().order_by("pk")
    if scope is not None:
        rules = rules.filter(location_id__in=scope)
    list(rules.values_list("pk", flat=True))
    proposals = reorder_proposals(location_ids=scope)
    if not proposals:
        return []
    suppliers = Supplier.objects.in_bulk({p.supplier_id for p in proposals})
    locations_by_id = Location.objects.in_bulk({p.location_id for p in proposals})
    return _drafts_create(
        drafts=[_proposal_draft(p, suppliers, locations_by_id) for p in proposals],
        actor=actor,
        source="reorder",
    )


def _proposal_draft(
    proposal: Proposal, suppliers: dict[int, Supplier], locations: dict[int, Location]
) -> _Draft:
    supplier = suppliers[proposal.supplier_id]
    return _Draft(
        supplier=supplier,
        location=locations[proposal.location_id],
        lines=[(ln.sku_id, ln.quantity, ln.unit_cost) for ln in proposal.lines],
        expected_date=_expected(supplier),
        note="Proposed from reorder rules",
    )


# --- transitions ------------------------------------------------------------------


def _locked(order: PurchaseOrder) -> PurchaseOrder:
    """The order's row, locked until commit: every change of an order or its
    lines goes through this lock."""
    return (
        PurchaseOrder.objects.select_for_update()
        .select_related("location", "supplier")
        .get(pk=order.pk)
    )


def _transition(order: PurchaseOrder, new: str, verb: str, hint: str) -> None:
    if new not in PURCHASE_ORDER_TRANSITIONS[order.status]:
        raise Conflict(
            f"{order.number} cannot be {verb}: it is {order.get_status_display().lower()}. {hint}",
            field="status",
            code="invalid_transition",
            status=order.status,
        )


def _set_status(order: PurchaseOrder, new: str) -> None:
    PurchaseOrder.objects.filter(pk=order.pk).update(status=new)
    order.status = new


@transaction.atomic
def purchase_order_send(*, order: PurchaseOrder, actor: Actor) -> PurchaseOrder:
    """The order goes to the supplier; from now on goods may arrive."""
    po = _locked(order)
    _require_at(actor, "stock.purchase", [po.location])
    _transition(po, Status.SENT, "sent", "Only a draft can be sent.")
    _set_status(po, Status.SENT)
    audit_record(
        actor=actor,
        action="purchase_order.send",
        object_type="purchase_order",
        object_id=po.number,
        store_id=po.location.store_id,
        data={"supplier": po.supplier.code},
    )
    order.status = po.status
    return po


@transaction.atomic
def purchase_order_cancel(*, order: PurchaseOrder, actor: Actor, reason: str = "") -> PurchaseOrder:
    """Cancel a draft or sent order. Not once goods arrived: those are in the
    ledger; return them to the supplier instead."""
    po = _locked(order)
    _require_at(actor, "stock.purchase", [po.location])
    received = sum(po.lines.values_list("quantity_received", flat=True))
    if received:
        raise Conflict(
            f"{po.number} cannot be cancelled: {received} unit(s) already arrived. Receive the "
            "rest, or return goods to the supplier.",
            field="status",
            code="invalid_transition",
            status=po.status,
        )
    _transition(po, Status.CANCELLED, "cancelled", "It is closed already.")
    _set_status(po, Status.CANCELLED)
    audit_record(
        actor=actor,
        action="purchase_order.cancel",
        object_type="purchase_order",
        object_id=po.number,
        store_id=po.location.store_id,
        reason=reason,
        data={"supplier": po.supplier.code},
    )
    order.status = po.status
    return po


@transaction.atomic
def purchase_order_receive(
    *,
    order: PurchaseOrder,
    received: dict[int, int],
    actor: Actor,
    accept_over: bool = False,
    unit_costs: dict[int, Decimal] | None = None,
    reference: str = "",
) -> PurchaseOrder:
    """Goods arrive against a sent order, maybe in part: `received` maps SKU
    ids to units arriving now. Each unit moves from the supplier location at
    the line's cost (or `unit_costs[sku_id]`, e.g. the invoice price), so the
    moving average follows. More than ordered is refused unless
    `accept_over`, which keeps it and flags the line. Waiting backorders at
    the location are filled."""
    po = _locked(order)
    _require_at(actor, "stock.receive", [po.location])
    if po.status == Status.DRAFT:
        raise Conflict(
            f"{po.number} is still a draft; send it to the supplier before receiving goods.",
            field="status",
            code="invalid_transition",
            status=po.status,
        )
    _transition(po, Status.RECEIVED, "received", "Nothing more can be received on it.")
    lines = {line.sku_id: line for line in po.lines.select_related("sku").order_by("pk")}
    arriving = _arrivals(po, lines, received)
    costs = {sku_id: line.unit_cost for sku_id, line in lines.items()}
    for sku_id, cost in (unit_costs or {}).items():
        if sku_id not in lines:
            raise ValidationFailed(
                f"unit_costs names {_sku_label(sku_id)}, which is not on {po.number}.",
                field="unit_costs",
            )
        costs[sku_id] = _cost(cost, f"unit_costs[{lines[sku_id].sku.sku}]")

    over_ids = [
        sku_id
        for sku_id, qty in arriving.items()
        if lines[sku_id].quantity_received + qty > lines[sku_id].quantity_ordered
    ]
    over = [_over_detail(lines[sku_id], arriving[sku_id]) for sku_id in over_ids]
    if over and not accept_over:
        first = lines[over_ids[0]]
        most = max(first.quantity_ordered - first.quantity_received, 0)
        raise Conflict(
            f"Over-receipt of {first.sku.sku} on {po.number}: {first.quantity_ordered} ordered, "
            f"{first.quantity_received} already received, {arriving[first.sku_id]} arriving "
            f"({over[0]['over']} too many). Receive at most {most}, or accept the over-receipt "
            "to keep the extra units.",
            field="received",
            code="over_receipt",
            over=over,
        )
    if over:
        # Keeping more than was ordered is a buying decision, not only a receipt.
        _require_at(actor, "stock.purchase", [po.location])

    supplier_location = location_virtual(Location.Kind.SUPPLIER)
    stock_moves_post(
        moves=[
            MoveSpec(sku_id, supplier_location.pk, po.location_id, qty, costs[sku_id])
            for sku_id, qty in arriving.items()
        ],
        actor=actor,
        reference_type="purchase_order",
        reference_id=po.number,
        reason="received against purchase order",
    )
    changed = []
    for sku_id, qty in arriving.items():
        line = lines[sku_id]
        line.quantity_received += qty
        if sku_id in over_ids:
            line.over_received = True
        changed.append(line)
    PurchaseOrderLine.objects.bulk_update(changed, ["quantity_received", "over_received"])

    complete = all(line.quantity_received >= line.quantity_ordered for line in lines.values())
    new_status = Status.RECEIVED if complete else Status.PARTLY_RECEIVED
    _transition(po, new_status, "received", "Nothing more can be received on it.")
    _set_status(po, new_status)
    audit_record(
        actor=actor,
        action="purchase_order.receive",
        object_type="purchase_order",
        object_id=po.number,
        store_id=po.location.store_id,
        data={
            "reference": reference,
            "status": new_status,
            "lines": [
                {"sku": lines[s].sku.sku, "quantity": q, "unit_cost": str(costs[s])}
                for s, q in arriving.items()
            ],
            "units": sum(arriving.values()),
        },
    )
    if over:
        audit_record(
            actor=actor,
            action="purchase_order.over_receipt",
            object_type="purchase_order",
            object_id=po.number,
            store_id=po.location.store_id,
            reason="more arrived than was ordered; accepted and flagged",
            data={"lines": over},
        )
    backorders_fill(pairs=[(sku_id, po.location_id) for sku_id in arriving])
    order.status = po.status
    return po


def _over_detail(line: PurchaseOrderLine, arriving: int) -> dict[str, Any]:
    return {
        "sku": line.sku.sku,
        "ordered": line.quantity_ordered,
        "already_received": line.quantity_received,
        "arriving": arriving,
        "over": line.quantity_received + arriving - line.quantity_ordered,
    }


def _sku_label(sku_id: int) -> str:
    code = Variant.objects.filter(pk=sku_id).values_list("sku", flat=True).first()
    return f"SKU {code}" if code else f"SKU #{sku_id}"


def _arrivals(
    po: PurchaseOrder, lines: dict[int, PurchaseOrderLine], received: dict[int, int]
) -> dict[int, int]:
    """Validate what arrives: SKUs on the order, whole units, something at all.
    Lines with 0 are skipped (a receiving form sends every line)."""
    unknown = sorted(set(received) - set(lines))
    if unknown:
        codes = dict(Variant.objects.filter(pk__in=unknown).values_list("pk", "sku"))
        names = ", ".join(codes.get(s, f"#{s}") for s in unknown)
        raise ValidationFailed(
            f"{names} {'is' if len(unknown) == 1 else 'are'} not on {po.number}; receive it "
            "without a purchase order, or add it to a new order.",
            field="received",
            code="not_on_order",
            skus=[codes.get(s, str(s)) for s in unknown],
        )
    arriving: dict[int, int] = {}
    for sku_id in sorted(received):
        qty = received[sku_id]
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 0:
            raise ValidationFailed(
                f"received[{lines[sku_id].sku.sku}] must be a whole number, 0 or more (got {qty}).",
                field=f"received[{lines[sku_id].sku.sku}]",
            )
        if qty:
            arriving[sku_id] = qty
    if not arriving:
        raise ValidationFailed(
            f"Nothing arrives on {po.number}; give the quantity received for at least one SKU.",
            field="received",
        )
    return arriving


__all__ = [
    "PO_PREFIX",
    "PO_SERIES_CODE",
    "PurchaseLine",
    "purchase_order_cancel",
    "purchase_order_create",
    "purchase_order_receive",
    "purchase_order_send",
    "purchase_orders_propose",
    "reorder_rule_set",
    "supplier_create",
]
