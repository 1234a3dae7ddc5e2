"""Fulfilment routing as pure, pluggable rules. No Django.

A rule looks at what the order needs and what each candidate location can
give, and either returns a plan with its reason or passes (None) to the next
rule. Rules run in order; the first plan wins and is recorded with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    location_id: int
    code: str
    kind: str  # warehouse or store
    priority: int
    available: dict[int, int]  # sku_id -> units this channel may take here


@dataclass(frozen=True)
class Need:
    """What the order asks for, per SKU, and how it is to be fulfilled."""

    quantities: dict[int, int]
    pickup_location_id: int | None = None
    allow_split: bool = True


@dataclass
class Plan:
    rule: str
    reason: str
    assignments: list[tuple[int, int, int]] = field(default_factory=list)  # (location, sku, qty)
    short: dict[int, int] = field(default_factory=dict)  # sku -> units nobody can give

    @property
    def locations(self) -> list[int]:
        return sorted({loc for loc, _, _ in self.assignments})


Rule = Callable[[Need, Sequence[Candidate]], Plan | None]


def _ordered(candidates: Sequence[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (c.priority, c.location_id))


def rule_pickup_store(need: Need, candidates: Sequence[Candidate]) -> Plan | None:
    """Buy online, pick up in store: everything comes from the chosen store."""
    if need.pickup_location_id is None:
        return None
    store = next((c for c in candidates if c.location_id == need.pickup_location_id), None)
    plan = Plan("pickup_store", "")
    for sku, qty in sorted(need.quantities.items()):
        take = min(qty, store.available.get(sku, 0)) if store else 0
        if take:
            plan.assignments.append((need.pickup_location_id, sku, take))
        if qty - take:
            plan.short[sku] = qty - take
    name = store.code if store else f"location #{need.pickup_location_id}"
    plan.reason = (
        f"pick-up at {name}: it has everything"
        if not plan.short
        else f"pick-up at {name}: short of {sum(plan.short.values())} unit(s)"
    )
    return plan


def rule_single_location(need: Need, candidates: Sequence[Candidate]) -> Plan | None:
    """One parcel when one location can send everything: the first by priority."""
    for c in _ordered(candidates):
        if all(c.available.get(sku, 0) >= qty for sku, qty in need.quantities.items()):
            others = [o.code for o in _ordered(candidates) if o.priority < c.priority]
            why = (
                f"{c.code} has everything (priority {c.priority})"
                if not others
                else f"{', '.join(others)} short; {c.code} has everything (priority {c.priority})"
            )
            return Plan(
                "single_location",
                why,
                [(c.location_id, sku, qty) for sku, qty in sorted(need.quantities.items())],
            )
    return None


def rule_fewest_shipments(need: Need, candidates: Sequence[Candidate]) -> Plan | None:
    """Split when no single location can: take from the locations that cover
    the most of what is still needed first (ties by priority), so the order
    leaves in as few parcels as possible."""
    if not need.allow_split:
        return None
    remaining = dict(need.quantities)
    plan = Plan("fewest_shipments", "")
    pool = _ordered(candidates)
    while any(remaining.values()) and pool:
        best = max(
            pool,
            key=lambda c: (
                sum(min(c.available.get(s, 0), q) for s, q in remaining.items()),
                -c.priority,
                -c.location_id,
            ),
        )
        pool.remove(best)
        for sku, qty in sorted(remaining.items()):
            take = min(qty, best.available.get(sku, 0))
            if take:
                plan.assignments.append((best.location_id, sku, take))
                remaining[sku] = qty - take
    plan.short = {sku: qty for sku, qty in remaining.items() if qty}
    if not plan.assignments:
        return None  # nobody has any of it: the fallback reports the shortage
    codes = {c.location_id: c.code for c in candidates}
    used = ", ".join(codes[loc] for loc in plan.locations)
    plan.reason = f"no single location has everything; split over {used}"
    if plan.short:
        plan.reason += f"; short of {sum(plan.short.values())} unit(s)"
    return plan


def rule_by_priority(need: Need, candidates: Sequence[Candidate]) -> Plan | None:
    """The fallback: whatever each location can give, strictly by priority."""
    remaining = dict(need.quantities)
    plan = Plan("by_priority", "by channel priority")
    for c in _ordered(candidates):
        for sku, qty in sorted(remaining.items()):
            take = min(qty, c.available.get(sku, 0))
            if take:
                plan.assignments.append((c.location_id, sku, take))
                remaining[sku] = qty - take
    plan.short = {sku: qty for sku, qty in remaining.items() if qty}
    return plan


DEFAULT_RULES: tuple[Rule, ...] = (
    rule_pickup_store,
    rule_single_location,
    rule_fewest_shipments,
    rule_by_priority,
)


def route(
    need: Need, candidates: Sequence[Candidate], rules: Sequence[Rule] = DEFAULT_RULES
) -> Plan:
    for rule in rules:
        plan = rule(need, candidates)
        if plan is not None:
            return plan
    return Plan("none", "no rule applied", short=dict(need.quantities))
