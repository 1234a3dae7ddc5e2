"""The stock ledger. Every change of stock is a move; cached levels are
updated in the same transaction.

Lock order: every writer (moves, reservations) touches StockLevel rows in
(sku_id, location_id) order, so two writers can never deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from omniretail.catalog.models import KitComponent
from omniretail.core.access import Actor, require_in
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.inventory.domain import moving_average
from omniretail.inventory.events import StockAdjusted, StockChanged, StockPurchased
from omniretail.inventory.models import Location, SkuValuation, StockLevel, StockMove

VIRTUAL_NAMES: dict[str, str] = {
    Location.Kind.SUPPLIER: "Suppliers",
    Location.Kind.CUSTOMER: "Customers",
    Location.Kind.ADJUSTMENT: "Inventory adjustments",
    Location.Kind.SCRAP: "Scrap",
}
TRANSIT_CODE = "transit"
CENT = Decimal("0.01")


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
class StockLine:
    sku_id: int
    quantity: int
    unit_cost: Decimal | None = None


# Kept for callers of the first flow; a receipt line is a stock line.
ReceiveLine = StockLine


def location_virtual(kind: str) -> Location:
    """The one virtual location of a kind (supplier, customer, adjustment, scrap)."""
    location, _ = Location.objects.get_or_create(
        code=f"virtual-{kind}", defaults={"name": VIRTUAL_NAMES[kind], "kind": kind}
    )
    return location


def location_transit() -> Location:
    """Where transferred goods are between shipping and receiving."""
    location, _ = Location.objects.get_or_create(
        code=TRANSIT_CODE, defaults={"name": "In transit", "kind": Location.Kind.TRANSIT}
    )
    return location


def _validate(moves: list[MoveSpec]) -> None:
    for i, m in enumerate(moves):
        if not isinstance(m.quantity, int) or m.quantity <= 0:
            raise ValidationFailed(
                f"moves[{i}].quantity must be a whole number above 0 (got {m.quantity}).",
                field=f"moves[{i}].quantity",
            )
        if m.from_location_id == m.to_location_id:
            raise ValidationFailed(
                f"moves[{i}] goes from a location to itself; choose two locations.",
                field=f"moves[{i}].to_location",
            )


def _revalue(
    moves: list[MoveSpec], virtual: set[int], supplier_ids: set[int]
) -> dict[int, Decimal]:
    """Update the moving average of SKUs received from suppliers at a cost and
    return every moved SKU's average (the cost of goods leaving stock).
    Runs before levels change: the average is over the stock on hand before."""
    sku_ids = sorted({m.sku_id for m in moves})
    receipts: dict[int, list[MoveSpec]] = defaultdict(list)
    for m in moves:
        if m.from_location_id in supplier_ids and m.unit_cost is not None:
            receipts[m.sku_id].append(m)
    if receipts:
        SkuValuation.objects.bulk_create(
            [SkuValuation(sku_id=s) for s in sorted(receipts)], ignore_conflicts=True
        )
    valuations = {
        v.sku_id: v
        for v in (
            SkuValuation.objects.select_for_update().filter(sku_id__in=sku_ids).order_by("sku_id")
            if receipts
            else SkuValuation.objects.filter(sku_id__in=sku_ids)
        )
    }
    if receipts:
        # Lock the levels the average is taken over, so a sale in flight is
        # either wholly before this receipt or wholly after it — as the
        # ledger replays them (verify_valuation).
        on_hand: dict[int, int] = defaultdict(int)
        for sku_id, quantity in (
            StockLevel.objects.select_for_update()
            .filter(sku_id__in=list(receipts))
            .exclude(location_id__in=virtual)
            .order_by("sku_id", "location_id")
            .values_list("sku_id", "on_hand")
        ):
            on_hand[sku_id] += quantity
        changed = []
        for sku_id, lines in receipts.items():
            valuation = valuations[sku_id]
            stock = on_hand.get(sku_id) or 0
            for m in lines:
                assert m.unit_cost is not None
                valuation.average_cost = moving_average(
                    stock, valuation.average_cost, m.quantity, m.unit_cost
                )
                stock += m.quantity
            changed.append(valuation)
        SkuValuation.objects.bulk_update(changed, ["average_cost"])
    return {sku_id: v.average_cost for sku_id, v in valuations.items()}


def stock_moves_post(
    *,
    moves: list[MoveSpec],
    actor: Actor,
    reference_type: str = "",
    reference_id: str = "",
    reason: str = "",
    allow_negative: bool = False,
) -> list[NegativeStock]:
    """Append moves, update levels and valuation, publish StockChanged.

    Callers check permissions; this checks stock. Returns the physical levels
    that went below zero (only possible with `allow_negative`, e.g. a sale of
    goods the customer already holds in hand)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_moves_post must run inside the caller's transaction")
    _validate(moves)
    if not moves:
        return []
    location_ids = {m.from_location_id for m in moves} | {m.to_location_id for m in moves}
    kinds = dict(Location.objects.filter(pk__in=location_ids).values_list("pk", "kind"))
    if len(kinds) != len(location_ids):
        raise ValidationFailed("a move names a location that does not exist", field="location")
    # Virtual locations (suppliers, customers...) keep no cached level: nobody
    # sells from them, and caching them would make every till in the company
    # wait on the same "customers" row.
    virtual = {pk for pk, kind in kinds.items() if kind in Location.VIRTUAL}
    suppliers = {pk for pk, kind in kinds.items() if kind == Location.Kind.SUPPLIER}
    entering = {m.sku_id for m in moves if m.from_location_id in virtual}
    if entering and KitComponent.objects.filter(kit_id__in=entering).exists():
        raise ValidationFailed(
            "A kit holds no stock of its own: receive, count or return its components.",
            field="sku",
        )
    average = _revalue(moves, virtual, suppliers)

    deltas: dict[tuple[int, int], int] = defaultdict(int)
    for m in moves:
        if m.from_location_id not in virtual:
            deltas[(m.sku_id, m.from_location_id)] -= m.quantity
        if m.to_location_id not in virtual:
            deltas[(m.sku_id, m.to_location_id)] += m.quantity
    keys = sorted(deltas)
    negatives: list[NegativeStock] = []
    if keys:
        StockLevel.objects.bulk_create(
            [StockLevel(sku_id=s, location_id=loc) for s, loc in keys], ignore_conflicts=True
        )
        wanted = set(keys)
        levels = [
            level
            for level in StockLevel.objects.select_for_update()
            .filter(sku_id__in={s for s, _ in keys}, location_id__in={loc for _, loc in keys})
            .order_by("sku_id", "location_id")
            if (level.sku_id, level.location_id) in wanted
        ]
        for level in levels:
            delta = deltas[(level.sku_id, level.location_id)]
            level.on_hand += delta
            if delta < 0 and level.on_hand < 0:
                if not allow_negative:
                    name = Location.objects.get(pk=level.location_id).name
                    raise Conflict(
                        f"Not enough stock of SKU #{level.sku_id} at {name}: "
                        f"{level.on_hand - delta} on hand, {-delta} needed. Receive or transfer "
                        "stock first.",
                        code="insufficient_stock",
                        field="quantity",
                    )
                negatives.append(NegativeStock(level.sku_id, level.location_id, level.on_hand))
        StockLevel.objects.bulk_update(levels, ["on_hand"])
    created = StockMove.objects.bulk_create(
        [
            StockMove(
                sku_id=m.sku_id,
                from_location_id=m.from_location_id,
                to_location_id=m.to_location_id,
                quantity=m.quantity,
                # Goods entering from a supplier carry their purchase cost; every
                # other move carries the average cost (COGS when leaving stock).
                unit_cost=m.unit_cost
                if m.from_location_id in suppliers and m.unit_cost is not None
                else average.get(m.sku_id),
                reference_type=reference_type,
                reference_id=reference_id,
                reason=reason,
                actor_label=actor.label,
            )
            for m in moves
        ]
    )
    if keys:
        event_publish(StockChanged(pairs=keys, reason=reason or reference_type))
    _publish_adjustment(created, kinds, reference_type, reference_id, reason)
    if suppliers:
        _publish_purchase(created, suppliers, reference_type, reference_id)
    return negatives


def _one_store(location_ids: set[int]) -> int | None:
    """The store these locations belong to, when it is one (the books' store)."""
    store_ids = set(
        Location.objects.filter(pk__in=location_ids, store__isnull=False).values_list(
            "store_id", flat=True
        )
    )
    return store_ids.pop() if len(store_ids) == 1 else None


def _publish_purchase(
    moves: list[StockMove], suppliers: set[int], reference_type: str, reference_id: str
) -> None:
    """Value what came from suppliers or went back to them, so accounting
    books it to inventory in the same transaction."""
    value_in = value_out = Decimal(0)
    places: set[int] = set()
    for m in moves:
        value = m.quantity * (m.unit_cost or Decimal(0))
        if m.from_location_id in suppliers:
            value_in += value
            places.add(m.to_location_id)
        elif m.to_location_id in suppliers:
            value_out += value
            places.add(m.from_location_id)
    event_publish(
        StockPurchased(
            reference_type=reference_type,
            reference_id=reference_id,
            store_id=_one_store(places),
            value_in=str(value_in.quantize(CENT)),
            value_out=str(value_out.quantize(CENT)),
        )
    )


def _publish_adjustment(
    moves: list[StockMove],
    kinds: dict[int, str],
    reference_type: str,
    reference_id: str,
    reason: str,
) -> None:
    """Value what went to adjustment/scrap (lost) or came from adjustment
    (found), so accounting books shrinkage in the same transaction."""
    write_off = (Location.Kind.ADJUSTMENT, Location.Kind.SCRAP)
    lost = found = Decimal(0)
    stores: set[int] = set()
    for m in moves:
        value = m.quantity * (m.unit_cost or Decimal(0))
        if kinds[m.to_location_id] in write_off and kinds[m.from_location_id] not in write_off:
            lost += value
            stores.add(m.from_location_id)
        elif kinds[m.from_location_id] == Location.Kind.ADJUSTMENT:
            found += value
            stores.add(m.to_location_id)
    if not stores:
        return
    event_publish(
        StockAdjusted(
            reference_type=reference_type,
            reference_id=reference_id,
            reason=reason,
            store_id=_one_store(stores),
            value_lost=str(lost.quantize(CENT)),
            value_found=str(found.quantize(CENT)),
        )
    )


@transaction.atomic
def stock_relocate(
    *,
    from_location: Location,
    to_location: Location,
    lines: list[StockLine],
    actor: Actor,
    reason: str,
) -> int:
    """Move stock directly between two locations of the same site (e.g. a
    warehouse sends a store its opening stock). Refused when the source is short.
    Shipments that take time go through a transfer (in transit)."""
    for loc in (from_location, to_location):
        require_in(actor, "stock.move", store_id=loc.store_id)
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
