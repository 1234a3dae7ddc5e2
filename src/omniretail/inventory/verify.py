"""Promise 1 of ARCHITECTURE.md, checked from the ledger: every cached level
equals the sum of its moves, every SKU's moves sum to zero over all locations,
and virtual locations (suppliers, customers...) keep no cached level."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Sum

from omniretail.inventory.models import Location, StockLevel, StockMove


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
