"""Routing: choose where each order is fulfilled from, hold the stock there,
and record why. Shipping and pick-up verbs live in shipping.py."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction

from omniretail.catalog.models import Variant
from omniretail.core.access import SYSTEM, Actor
from omniretail.core.errors import Conflict
from omniretail.core.models import OutboxEvent
from omniretail.core.sql import rows_insert
from omniretail.fulfilment.domain import DEFAULT_RULES, Candidate, Need, Plan, Rule, route
from omniretail.fulfilment.models import RoutingDecision
from omniretail.inventory.domain import BACKORDER, PREORDER
from omniretail.inventory.models import Location, Reservation
from omniretail.inventory.selectors import channel_places, kit_components, store_location
from omniretail.inventory.services import (
    InsufficientStock,
    ReserveHints,
    ReserveLine,
    stock_reserve_demands,
    stock_wait,
)
from omniretail.orders.models import Order, OrderLine
from omniretail.orders.services import LINE_DEMAND, order_activity, order_allocate

HELD = (Reservation.Status.ACTIVE, Reservation.Status.BACKORDERED, Reservation.Status.CONSUMED)


@dataclass(frozen=True)
class Requirement:
    line_id: int
    sku_id: int
    quantity: int


def _requirements(
    order: Order, new_lines: list[OrderLine] | None = None
) -> tuple[list[Requirement], dict[int, dict[int, int]]]:
    """What is still to be held per line (kits as their components), minus
    what the line already holds; and the kits among the lines' SKUs. Lines
    the caller has just created hold nothing yet and are not read again."""
    source = new_lines if new_lines is not None else order.lines.all()
    lines = [line for line in source if line.quantity_open > 0]
    kits = kit_components([line.sku_id for line in lines])
    held: dict[tuple[int, int], int] = defaultdict(int)
    if new_lines is None:
        for demand_id, sku_id, qty in Reservation.objects.filter(
            demand_type=LINE_DEMAND,
            demand_id__in=[str(line.pk) for line in lines],
            status__in=HELD,
        ).values_list("demand_id", "sku_id", "quantity"):
            held[(int(demand_id), sku_id)] += qty
    result = []
    for line in lines:
        parts = kits.get(line.sku_id) or {line.sku_id: 1}
        for sku_id, per_unit in sorted(parts.items()):
            missing = line.quantity_open * per_unit - held[(line.pk, sku_id)]
            if missing > 0:
                result.append(Requirement(line.pk, sku_id, missing))
    return result, kits


@dataclass(frozen=True)
class _Places:
    candidates: list[Candidate]
    hints: ReserveHints
    codes: dict[int, str]


def _candidates(
    order: Order, sku_ids: list[int], pickup: Location | None, kits: dict[int, dict[int, int]]
) -> _Places:
    places = channel_places(
        channel_id=order.channel_id,
        sku_ids=sku_ids,
        also_location_id=pickup.pk if pickup is not None else None,
    )
    candidates = [
        Candidate(
            location_id=place.location_id,
            code=place.code,
            kind=place.kind,
            priority=place.priority,
            available=place.free,
        )
        for place in places
    ]
    hints = ReserveHints(
        location_stores={place.location_id: place.store_id for place in places},
        kits=kits,
        buffers={place.location_id: place.safety_buffer for place in places},
    )
    return _Places(candidates, hints, {place.location_id: place.code for place in places})


def _hold(
    order: Order, plan: Plan, requirements: list[Requirement], hints: ReserveHints
) -> list[Reservation]:
    """Turn the plan's (location, sku, qty) into holds per order line."""
    pool: dict[int, list[list[int]]] = defaultdict(list)  # sku -> [[location, qty left]]
    for location_id, sku_id, qty in plan.assignments:
        pool[sku_id].append([location_id, qty])
    per_line: dict[int, list[ReserveLine]] = defaultdict(list)
    for req in requirements:
        need = req.quantity
        for slot in pool[req.sku_id]:
            take = min(need, slot[1])
            if take:
                per_line[req.line_id].append(ReserveLine(req.sku_id, slot[0], take))
                slot[1] -= take
                need -= take
    if not per_line:
        return []
    return stock_reserve_demands(
        demands={str(line_id): lines for line_id, lines in per_line.items()},
        demand_type=LINE_DEMAND,
        channel_id=order.channel_id,
        actor=SYSTEM,
        hints=hints,
        savepoint=False,  # order_route's retry savepoint covers it
    )


def _wait(
    order: Order, plan: Plan, requirements: list[Requirement], at: int
) -> tuple[list[dict], list[Reservation]]:
    """Backorder what nobody can give, when the products allow it; refuse
    the order (naming each SKU) when they do not. Returns what waits, for
    the routing record, and the waiting holds."""
    if not plan.short:
        return [], []
    short = dict(plan.short)
    waiting: dict[int, list[ReserveLine]] = defaultdict(list)
    for req in reversed(requirements):  # the last lines wait, the first ones ship
        missing = min(short.get(req.sku_id, 0), req.quantity)
        if missing:
            waiting[req.line_id].append(ReserveLine(req.sku_id, at, missing))
            short[req.sku_id] -= missing
    products = {
        v.pk: v for v in Variant.objects.select_related("product").filter(pk__in=list(plan.short))
    }
    refused = [
        sku for sku in plan.short if products[sku].product.stock_policy not in (BACKORDER, PREORDER)
    ]
    if refused:
        detail = [
            {"sku": products[s].sku, "requested": plan.short[s], "short": plan.short[s]}
            for s in sorted(refused)
        ]
        first = detail[0]
        raise InsufficientStock(
            f"{first['sku']}: {first['short']} unit(s) more than the channel can supply "
            "right now; lower the quantity or remove the line.",
            field="lines",
            short=detail,
            final=True,
        )
    holds: list[Reservation] = []
    for line_id, lines in sorted(waiting.items()):
        holds += stock_wait(
            lines=lines,
            demand_type=LINE_DEMAND,
            demand_id=str(line_id),
            channel_id=order.channel_id,
            actor=SYSTEM,
        )
    backordered = [
        {"sku": products[line.sku_id].sku, "quantity": line.quantity, "line": line_id}
        for line_id, lines in sorted(waiting.items())
        for line in lines
    ]
    return backordered, holds


def order_route(
    *,
    order: Order,
    actor: Actor,
    rules: tuple[Rule, ...] = DEFAULT_RULES,
    attempts: int = 3,
    new_lines: list[OrderLine] | None = None,
    sku_codes: dict[int, str] | None = None,
) -> RoutingDecision | None:
    """Choose the location(s) for what the order still needs, hold the stock
    there (backordering what its products allow), and record the decision.
    A confirmed order whose stock is all held becomes allocated. Returns None
    when nothing is left to route. Refused (409, every short SKU named) when a
    product that is not sold on backorder is short.

    `new_lines` (with `sku_codes`, SKU id -> code) is for the caller that has
    just created the order in this transaction: its row is already the
    caller's, nothing is held yet, and neither is read again."""
    return order_route_holds(
        order=order,
        actor=actor,
        rules=rules,
        attempts=attempts,
        new_lines=new_lines,
        sku_codes=sku_codes,
    )[0]


def order_route_holds(
    *,
    order: Order,
    actor: Actor,
    rules: tuple[Rule, ...] = DEFAULT_RULES,
    attempts: int = 3,
    new_lines: list[OrderLine] | None = None,
    sku_codes: dict[int, str] | None = None,
) -> tuple[RoutingDecision | None, list[Reservation]]:
    """`order_route`, also returning the holds it placed (held and waiting),
    for a caller that shows them and would otherwise read them back."""
    # A new order's caller lets a refusal roll its whole transaction back:
    # no savepoint of our own then (each attempt still has one).
    with transaction.atomic(savepoint=new_lines is None):
        return _route(order, actor, rules, attempts, new_lines, sku_codes)


def _route(
    order: Order,
    actor: Actor,
    rules: tuple[Rule, ...],
    attempts: int,
    new_lines: list[OrderLine] | None,
    sku_codes: dict[int, str] | None,
) -> tuple[RoutingDecision | None, list[Reservation]]:
    if new_lines is None:
        order = Order.objects.select_for_update().get(pk=order.pk)
    requirements, kits = _requirements(order, new_lines)
    if not requirements:
        return None, []
    need: dict[int, int] = defaultdict(int)
    for req in requirements:
        need[req.sku_id] += req.quantity
    pickup = None
    if order.fulfilment_method == Order.Fulfilment.PICKUP and order.pickup_store_id:
        pickup = store_location(store_id=order.pickup_store_id)
        if pickup is None:
            raise Conflict(
                "The pick-up store has no shop floor to collect from; choose another store.",
                field="pickup_store",
            )
    last: InsufficientStock | None = None
    for _ in range(max(attempts, 1)):
        places = _candidates(order, sorted(need), pickup, kits)
        plan = route(
            Need(dict(need), pickup.pk if pickup else None, allow_split=True),
            places.candidates,
            rules,
        )
        try:
            with transaction.atomic():
                held = _hold(order, plan, requirements, places.hints)
                fallback = pickup.pk if pickup else _first_location(places.candidates)
                backordered, waiting = _wait(order, plan, requirements, fallback)
                decision = _record(order, plan, backordered, actor, places.codes, sku_codes)
                return decision, held + waiting
        except InsufficientStock as exc:
            last = exc
            if exc.extra.get("final"):
                break  # not a race: the stock is not there
    assert last is not None
    raise last


def _first_location(candidates: list[Candidate]) -> int:
    if not candidates:
        raise Conflict(
            "This channel sells from no location; add its sources (channel locations).",
            field="channel",
        )
    return min(candidates, key=lambda c: (c.priority, c.location_id)).location_id


def _record(
    order: Order,
    plan: Plan,
    backordered: list[dict],
    actor: Actor,
    codes: dict[int, str],
    sku_codes: dict[int, str] | None,
) -> RoutingDecision:
    assigned = {sku for _, sku, _ in plan.assignments}
    skus = (
        sku_codes
        if sku_codes is not None and assigned <= sku_codes.keys()
        else dict(Variant.objects.filter(pk__in=assigned).values_list("pk", "sku"))
    )
    decision = RoutingDecision(
        order=order,
        rule=plan.rule,
        reason=plan.reason,
        plan=[
            {"location": codes[loc], "sku": skus[sku], "quantity": qty}
            for loc, sku, qty in plan.assignments
        ],
        backordered=backordered,
    )
    rows_insert([decision])
    message = plan.reason + (
        f"; {sum(b['quantity'] for b in backordered)} unit(s) backordered" if backordered else ""
    )
    order_activity(
        order=order,
        actor=actor,
        kind="routing",
        message=message[:500],
        data={"rule": plan.rule, "decision": decision.pk},
    )
    if order.status == Order.Status.CONFIRMED and not backordered:
        # The row is already locked by this transaction (routing locked or created it).
        order_allocate(order=order, actor=actor, reason=f"stock held ({plan.rule})", locked=True)
    return decision


def on_backorders_filled(event: OutboxEvent) -> None:
    """After-commit handler of `backorder.filled`: a confirmed order whose
    every line is now held becomes allocated (ready to pick). Idempotent:
    an order already allocated is left alone."""
    line_ids = [int(d) for t, d in event.payload["demands"] if t == LINE_DEMAND]
    order_ids = set(OrderLine.objects.filter(pk__in=line_ids).values_list("order_id", flat=True))
    for order in Order.objects.filter(pk__in=order_ids, status=Order.Status.CONFIRMED):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order.pk)
            if order.status != Order.Status.CONFIRMED:
                continue
            waiting = Reservation.objects.filter(
                demand_type=LINE_DEMAND,
                demand_id__in=[str(pk) for pk in order.lines.values_list("pk", flat=True)],
                status=Reservation.Status.BACKORDERED,
            ).exists()
            if not waiting and not _requirements(order)[0]:
                order_allocate(order=order, actor=SYSTEM, reason="backordered stock arrived")
