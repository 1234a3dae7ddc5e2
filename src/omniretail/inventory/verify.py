"""Promise 1 of ARCHITECTURE.md, checked from the ledger: every cached level
equals the sum of its moves, every SKU's moves sum to zero over all locations,
and virtual locations (suppliers, customers...) keep no cached level."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from omniretail.inventory.domain import moving_average
from omniretail.inventory.models import (
    Location,
    Reservation,
    SkuValuation,
    StockLevel,
    StockMove,
)


def verify_stock() -> tuple[list[str], str]:
    ledger: dict[tuple[int, int], int] = defaultdict(int)
    for row in StockMove.objects.values("sku_id", "to_location_id").annotate(q=Sum("quantity")):
        ledger[(row["sku_id"], row["to_location_id"])] += row["q"]
    for row in StockMove.objects.values("sku_id", "from_location_id").annotate(q=Sum("quantity")):
        ledger[(row["sku_id"], row["from_location_id"])] -= row["q"]
    virtual = set(Location.objects.filter(kind__in=Location.VIRTUAL).values_list("pk", flat=True))

    problems: list[str] = []
    per_sku: dict[int, int] = defaultdict(int)
    for (sku_id, _location_id), quantity in ledger.items():
        per_sku[sku_id] += quantity
    for sku_id, total in sorted(per_sku.items()):
        if total != 0:
            problems.append(f"stock: SKU #{sku_id} moves sum to {total} over all locations, not 0")

    cached: dict[tuple[int, int], int] = {}
    for sku_id, location_id, on_hand, reserved in StockLevel.objects.values_list(
        "sku_id", "location_id", "on_hand", "reserved"
    ):
        cached[(sku_id, location_id)] = on_hand
        if location_id in virtual:
            problems.append(
                f"stock: SKU #{sku_id} has a cached level at virtual location #{location_id}"
            )
        if reserved < 0:
            problems.append(
                f"stock: SKU #{sku_id} at location #{location_id} reserved {reserved} < 0"
            )
    physical_keys = {key for key in ledger if key[1] not in virtual} | set(cached)
    for key in sorted(physical_keys):
        level, moved = cached.get(key, 0), ledger.get(key, 0)
        if level != moved:
            problems.append(
                f"stock: SKU #{key[0]} at location #{key[1]}: level says {level}, "
                f"moves sum to {moved}"
            )
    summary = (
        f"stock: {len(cached)} levels match {StockMove.objects.count()} moves; "
        f"{len(per_sku)} SKUs sum to 0 over all locations"
    )
    return problems, summary


def verify_reservations() -> tuple[list[str], str]:
    """Every level's `reserved` equals the sum of its active holds, and no
    hold sits at a virtual location."""
    held: dict[tuple[int, int], int] = defaultdict(int)
    active = Reservation.objects.filter(status=Reservation.Status.ACTIVE)
    for row in active.values("sku_id", "location_id").annotate(q=Sum("quantity")):
        held[(row["sku_id"], row["location_id"])] = row["q"]
    problems: list[str] = []
    levels = {
        (s, loc): r
        for s, loc, r in StockLevel.objects.filter(reserved__gt=0).values_list(
            "sku_id", "location_id", "reserved"
        )
    }
    for key in sorted(set(held) | set(levels)):
        if held.get(key, 0) != levels.get(key, 0):
            problems.append(
                f"reservations: SKU #{key[0]} at location #{key[1]}: level reserves "
                f"{levels.get(key, 0)}, active holds sum to {held.get(key, 0)}"
            )
    virtual = active.filter(location__kind__in=Location.VIRTUAL).count()
    if virtual:
        problems.append(f"reservations: {virtual} active hold(s) at virtual locations")
    return problems, f"reservations: {active.count()} active holds match reserved levels"


def verify_valuation() -> tuple[list[str], str]:
    """Replay every SKU's moves in order and recompute its moving average
    cost; it must equal the stored one."""
    virtual = set(Location.objects.filter(kind__in=Location.VIRTUAL).values_list("pk", flat=True))
    suppliers = set(
        Location.objects.filter(kind=Location.Kind.SUPPLIER).values_list("pk", flat=True)
    )
    state: dict[int, tuple[int, Decimal]] = {}
    moves = StockMove.objects.order_by("pk").values_list(
        "sku_id", "from_location_id", "to_location_id", "quantity", "unit_cost"
    )
    for sku_id, source, target, quantity, unit_cost in moves.iterator(5000):
        stock, average = state.get(sku_id, (0, Decimal(0)))
        if source in suppliers and unit_cost is not None:
            average = moving_average(stock, average, quantity, unit_cost)
        if source not in virtual:
            stock -= quantity
        if target not in virtual:
            stock += quantity
        state[sku_id] = (stock, average)
    problems = []
    stored = dict(SkuValuation.objects.values_list("sku_id", "average_cost"))
    for sku_id in sorted(set(stored) | {s for s, (_, avg) in state.items() if avg}):
        expected = state.get(sku_id, (0, Decimal(0)))[1]
        if stored.get(sku_id, Decimal(0)) != expected:
            problems.append(
                f"valuation: SKU #{sku_id} average cost is {stored.get(sku_id)}, "
                f"the ledger gives {expected}"
            )
    return problems, f"valuation: {len(stored)} SKU average costs match the ledger"
