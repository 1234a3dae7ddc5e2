"""Every write to stock. One ledger: moves are appended and the cached levels
are updated in the same transaction, rows locked in primary-key order so two
writers can never deadlock."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from omniretail.core.access import Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.inventory.models import Location, StockLevel, StockMove

VIRTUAL_NAMES: dict[str, str] = {
    Location.Kind.SUPPLIER: "Suppliers",
    Location.Kind.CUSTOMER: "Customers",
    Location.Kind.ADJUSTMENT: "Inventory adjustments",
    Location.Kind.SCRAP: "Scrap",
}


@dataclass(frozen=True)
class MoveSpec:
    sku_id: int
    from_location_id: int
    to_location_id: int
    quantity: int
    unit_cost: Decimal | None = None


@dataclass(frozen=True)
class NegativeStock:
    sku_id: int
    location_id: int
    on_hand: int


@dataclass(frozen=True)
class ReceiveLine:
    sku_id: int
    quantity: int
    unit_cost: Decimal | None = None


def location_virtual(kind: str) -> Location:
    """The one virtual location of a kind (supplier, customer, adjustment, scrap)."""
    location, _ = Location.objects.get_or_create(
        code=f"virtual-{kind}", defaults={"name": VIRTUAL_NAMES[kind], "kind": kind}
    )
    return location


def stock_moves_post(
    *,
    moves: list[MoveSpec],
    actor: Actor,
    reference_type: str = "",
    reference_id: str = "",
    reason: str = "",
    allow_negative: bool = False,
) -> list[NegativeStock]:
    """Append moves and update levels. Callers check permissions; this checks
    stock. Returns the physical levels that went below zero (only possible
    with `allow_negative`, e.g. a sale of goods the customer holds in hand)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_moves_post must run inside the caller's transaction")
    for i, m in enumerate(moves):
        if m.quantity <= 0:
            raise ValidationFailed(
                f"moves[{i}].quantity must be a whole number above 0 (got {m.quantity}).",
                field=f"moves[{i}].quantity",
            )
        if m.from_location_id == m.to_location_id:
            raise ValidationFailed(
                f"moves[{i}] goes from a location to itself; choose two locations.",
                field=f"moves[{i}].to_location",
            )
    if not moves:
        return []
    # Virtual locations (suppliers, customers...) keep no cached level: their
    # balance is never sold from, and caching it would make every till in the
    # company wait on the same "customers" row.
    location_ids = {m.from_location_id for m in moves} | {m.to_location_id for m in moves}
    virtual = set(
        Location.objects.filter(pk__in=location_ids, kind__in=Location.VIRTUAL).values_list(
            "pk", flat=True
        )
    )
    deltas: dict[tuple[int, int], int] = defaultdict(int)
    for m in moves:
        if m.from_location_id not in virtual:
            deltas[(m.sku_id, m.from_location_id)] -= m.quantity
        if m.to_location_id not in virtual:
            deltas[(m.sku_id, m.to_location_id)] += m.quantity
    keys = sorted(deltas)
    StockLevel.objects.bulk_create(
        [StockLevel(sku_id=s, location_id=loc) for s, loc in keys], ignore_conflicts=True
    )
    # Lock the superset sku x location (a few extra rows at most: moves touch
    # a handful of locations) in pk order, then keep the wanted pairs.
    wanted = set(keys)
    levels = [
        level
        for level in StockLevel.objects.select_for_update(of=("self",))
        .select_related("location")
        .filter(sku_id__in={s for s, _ in keys}, location_id__in={loc for _, loc in keys})
        .order_by("pk")
        if (level.sku_id, level.location_id) in wanted
    ]
    negatives: list[NegativeStock] = []
    for level in levels:
        delta = deltas[(level.sku_id, level.location_id)]
        level.on_hand += delta
        if delta < 0 and level.on_hand < 0:
            if not allow_negative:
                raise Conflict(
                    f"Not enough stock of SKU #{level.sku_id} at {level.location.name}: "
                    f"{level.on_hand - delta} on hand, {-delta} needed. Receive or transfer "
                    "stock first.",
                    code="insufficient_stock",
                    field="quantity",
                )
            negatives.append(NegativeStock(level.sku_id, level.location_id, level.on_hand))
    StockLevel.objects.bulk_update(levels, ["on_hand"])
    StockMove.objects.bulk_create(
        [
            StockMove(
                sku_id=m.sku_id,
                from_location_id=m.from_location_id,
                to_location_id=m.to_location_id,
                quantity=m.quantity,
                unit_cost=m.unit_cost,
                reference_type=reference_type,
                reference_id=reference_id,
                reason=reason,
                actor_label=actor.label,
            )
            for m in moves
        ]
    )
    return negatives


@transaction.atomic
def stock_receive(
    *, location: Location, lines: list[ReceiveLine], actor: Actor, reference: str = ""
) -> int:
    """Goods arrive from a supplier into a warehouse or store. Returns units received."""
    if location.kind not in Location.PHYSICAL:
        raise ValidationFailed(
            f"{location.name} is not a warehouse or store; receive into a physical location.",
            field="location",
        )
    require(actor, "stock.receive", store_id=location.store_id)
    supplier = location_virtual(Location.Kind.SUPPLIER)
    stock_moves_post(
        moves=[
            MoveSpec(line.sku_id, supplier.pk, location.pk, line.quantity, line.unit_cost)
            for line in lines
        ],
        actor=actor,
        reference_type="receipt",
        reference_id=reference,
        reason="received from supplier",
    )
    units = sum(line.quantity for line in lines)
    audit_record(
        actor=actor,
        action="stock.receive",
        object_type="location",
        object_id=location.pk,
        store_id=location.store_id,
        data={"reference": reference, "lines": len(lines), "units": units},
    )
    return units


@transaction.atomic
def stock_relocate(
    *,
    from_location: Location,
    to_location: Location,
    lines: list[ReceiveLine],
    actor: Actor,
    reason: str,
) -> int:
    """Move stock directly between two physical locations (e.g. a warehouse
    sends a store its opening stock). Refused when the source is short."""
    for loc in (from_location, to_location):
        require(actor, "stock.move", store_id=loc.store_id)
    stock_moves_post(
        moves=[
            MoveSpec(line.sku_id, from_location.pk, to_location.pk, line.quantity) for line in lines
        ],
        actor=actor,
        reference_type="relocation",
        reason=reason,
    )
    units = sum(line.quantity for line in lines)
    audit_record(
        actor=actor,
        action="stock.relocate",
        object_type="location",
        object_id=from_location.pk,
        store_id=from_location.store_id,
        reason=reason,
        data={"to": to_location.pk, "units": units},
    )
    return units
