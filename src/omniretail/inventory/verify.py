"""Promise 1 of ARCHITECTURE.md, checked from the ledger: every cached level
equals the sum of its moves, and every SKU's stock sums to zero over all
locations."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Sum

from omniretail.inventory.models import StockLevel, StockMove


def verify_stock() -> tuple[list[str], str]:
    from_moves: dict[tuple[int, int], int] = defaultdict(int)
    for row in StockMove.objects.values("sku_id", "to_location_id").annotate(q=Sum("quantity")):
        from_moves[(row["sku_id"], row["to_location_id"])] += row["q"]
    for row in StockMove.objects.values("sku_id", "from_location_id").annotate(q=Sum("quantity")):
        from_moves[(row["sku_id"], row["from_location_id"])] -= row["q"]

    problems: list[str] = []
    cached: dict[tuple[int, int], int] = {}
    per_sku: dict[int, int] = defaultdict(int)
    for sku_id, location_id, on_hand, reserved in StockLevel.objects.values_list(
        "sku_id", "location_id", "on_hand", "reserved"
    ):
        cached[(sku_id, location_id)] = on_hand
        per_sku[sku_id] += on_hand
        if reserved < 0:
            problems.append(
                f"stock: SKU #{sku_id} at location #{location_id} reserved {reserved} < 0"
            )
    for key in sorted(set(cached) | set(from_moves)):
        level, ledger = cached.get(key, 0), from_moves.get(key, 0)
        if level != ledger:
            problems.append(
                f"stock: SKU #{key[0]} at location #{key[1]}: level says {level}, "
                f"moves sum to {ledger}"
            )
    for sku_id, total in sorted(per_sku.items()):
        if total != 0:
            problems.append(f"stock: SKU #{sku_id} levels sum to {total} over all locations, not 0")
    summary = (
        f"stock: {len(cached)} levels of {len(per_sku)} SKUs match "
        f"{StockMove.objects.count()} moves; every SKU sums to 0"
    )
    return problems, summary
