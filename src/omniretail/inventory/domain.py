"""Pure inventory rules: availability, allocation choice, stock policy at
zero, kits, moving average cost, document status graphs. No Django."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

COST_QUANTUM = Decimal("0.0001")

REFUSE, BACKORDER, PREORDER = "refuse", "backorder", "preorder"


def available(on_hand: int, reserved: int, buffer: int = 0) -> int:
    """What can still be promised: on hand - reserved - safety buffer, never < 0."""
    return max(on_hand - reserved - buffer, 0)


@dataclass(frozen=True)
class Source:
    location_id: int
    priority: int
    available: int


def allocation_choose(sources: Iterable[Source], quantity: int) -> list[tuple[int, int]]:
    """Take `quantity` from the sources by priority (then location id, so the
    choice is deterministic). Returns [(location_id, quantity)]; the total may
    be short of `quantity` when the sources run out."""
    plan: list[tuple[int, int]] = []
    remaining = quantity
    for source in sorted(sources, key=lambda s: (s.priority, s.location_id)):
        if remaining <= 0:
            break
        take = min(source.available, remaining)
        if take > 0:
            plan.append((source.location_id, take))
            remaining -= take
    return plan


@dataclass(frozen=True)
class PolicyDecision:
    reserve: int  # held from stock now
    wait: int  # backordered / pre-ordered, filled when stock arrives
    refused: int


def policy_decide(policy: str, *, requested: int, available_now: int) -> PolicyDecision:
    """Every channel applies the product's policy at zero the same way."""
    take = min(requested, max(available_now, 0))
    short = requested - take
    if short == 0:
        return PolicyDecision(take, 0, 0)
    if policy in (BACKORDER, PREORDER):
        return PolicyDecision(take, short, 0)
    return PolicyDecision(0, 0, requested)


def kit_available(components: Mapping[int, int], available_by_sku: Mapping[int, int]) -> int:
    """Whole kits that can be built: the scarcest component decides."""
    if not components:
        return 0
    return min(available_by_sku.get(sku, 0) // qty for sku, qty in components.items())


def kit_expand(
    lines: Iterable[tuple[int, int]], kits: Mapping[int, Mapping[int, int]]
) -> list[tuple[int, int]]:
    """Replace kit SKUs by their components and sum quantities per SKU, in
    SKU order (the order rows are touched in)."""
    totals: dict[int, int] = {}
    for sku_id, quantity in lines:
        for component, per_kit in (kits.get(sku_id) or {sku_id: 1}).items():
            totals[component] = totals.get(component, 0) + per_kit * quantity
    return sorted(totals.items())


def moving_average(
    on_hand: int, average_cost: Decimal, received: int, unit_cost: Decimal
) -> Decimal:
    """New average unit cost after receiving `received` units at `unit_cost`.
    Stock below zero carries no value, so it does not dilute the new cost."""
    if received <= 0:
        return average_cost
    base = max(on_hand, 0)
    total = base * average_cost + received * unit_cost
    return (total / (base + received)).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


# Status graphs of the inventory documents, kept as data.
TRANSFER_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"partly_received", "received"}),
    "partly_received": frozenset({"partly_received", "received"}),
    "received": frozenset(),
    "cancelled": frozenset(),
}
PURCHASE_ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"sent", "cancelled"}),
    "sent": frozenset({"partly_received", "received", "cancelled"}),
    "partly_received": frozenset({"partly_received", "received"}),
    "received": frozenset(),
    "cancelled": frozenset(),
}
COUNT_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"posted", "cancelled"}),
    "posted": frozenset(),
    "cancelled": frozenset(),
}
