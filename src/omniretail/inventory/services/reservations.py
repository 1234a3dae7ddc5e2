"""Holding stock for a demand (an order line, a cart) without moving it.

Never read-then-write: a hold is one conditional UPDATE per (SKU, location)
    reserved = reserved + q  WHERE on_hand - reserved - buffer >= q
and a row count of 0 means "not available". Lines are summed per (SKU,
location) first and rows are touched in (sku_id, location_id) order, the
same order the ledger locks them in, so writers never deadlock.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from omniretail.catalog.models import Variant
from omniretail.core.access import Actor, require, require_in
from omniretail.core.errors import Conflict, NotFound, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.sql import rows_insert
from omniretail.inventory.domain import (
    BACKORDER,
    PREORDER,
    REFUSE,
    Source,
    allocation_choose,
    kit_expand,
    policy_decide,
)
from omniretail.inventory.events import BackordersFilled, StockChanged
from omniretail.inventory.models import ChannelLocation, Location, Reservation, StockLevel
from omniretail.inventory.selectors import SellingPlace, channel_places, kit_components
from omniretail.inventory.services.holding import Refusal, levels_hold, refusal_read
from omniretail.inventory.services.ledger import MoveSpec, location_virtual, stock_moves_post

ACTIVE = Reservation.Status.ACTIVE
WAITING = Reservation.Status.BACKORDERED


@dataclass(frozen=True)
class ReserveLine:
    sku_id: int
    location_id: int
    quantity: int


@dataclass(frozen=True)
class ChannelLine:
    sku_id: int
    quantity: int


class InsufficientStock(Conflict):
    code = "insufficient_stock"


def _positive(lines: list, field: str = "lines") -> None:
    if not lines:
        raise ValidationFailed("Nothing to reserve; add a line.", field=field)
    for i, line in enumerate(lines):
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            raise ValidationFailed(
                f"{field}[{i}].quantity must be a whole number above 0 (got {line.quantity}).",
                field=f"{field}[{i}].quantity",
            )


def _buffers(channel_id: int | None, location_ids: set[int]) -> dict[int, int]:
    if channel_id is None:
        return {}
    return dict(
        ChannelLocation.objects.filter(
            channel_id=channel_id, location_id__in=location_ids
        ).values_list("location_id", "safety_buffer")
    )


def _insufficient(
    short: list[tuple[int, int]],
    totals: dict[tuple[int, int], int],
    refusal: Refusal | None = None,
) -> InsufficientStock:
    refusal = refusal or refusal_read(short)
    names, places = refusal.skus, refusal.locations
    detail = [
        {
            "sku": names.get(s, str(s)),
            "location": places.get(loc, str(loc)),
            "requested": totals[(s, loc)],
        }
        for s, loc in short
    ]
    first = detail[0]
    return InsufficientStock(
        f"Not enough available stock of {first['sku']} at {first['location']} for "
        f"{first['requested']}; lower the quantity or choose another location.",
        field="quantity",
        short=detail,
    )


def stock_reserve(
    *,
    lines: list[ReserveLine],
    demand_type: str,
    demand_id: str,
    actor: Actor,
    channel_id: int | None = None,
    expires_at: dt.datetime | None = None,
) -> list[Reservation]:
    """Hold stock at given locations for one demand; all lines or nothing.
    Kits hold their components. The channel's safety buffer at each location
    is kept back."""
    return stock_reserve_demands(
        demands={demand_id: lines},
        demand_type=demand_type,
        actor=actor,
        channel_id=channel_id,
        expires_at=expires_at,
    )


@transaction.atomic
def stock_wait(
    *,
    lines: list[ReserveLine],
    demand_type: str,
    demand_id: str,
    actor: Actor,
    channel_id: int | None = None,
) -> list[Reservation]:
    """Backorder: a hold that waits at a location for stock to arrive, filled
    oldest first by `backorders_fill`. Only for products whose policy allows
    it (backorder, or pre-order with its expected date)."""
    _positive(lines)
    require(actor, "stock.reserve")
    products = {
        v.pk: v.product
        for v in Variant.objects.select_related("product").filter(
            pk__in={line.sku_id for line in lines}
        )
    }
    for i, line in enumerate(lines):
        product = products.get(line.sku_id)
        if product is None or product.stock_policy not in (BACKORDER, PREORDER):
            raise InsufficientStock(
                f"lines[{i}]: {product.name if product else line.sku_id} is not sold on "
                "backorder; it can only be ordered while in stock.",
                field=f"lines[{i}].quantity",
            )
    return Reservation.objects.bulk_create(
        [
            Reservation(
                sku_id=line.sku_id,
                location_id=line.location_id,
                quantity=line.quantity,
                status=WAITING,
                demand_type=demand_type,
                demand_id=demand_id,
                channel_id=channel_id,
                expected_date=products[line.sku_id].expected_date
                if products[line.sku_id].stock_policy == PREORDER
                else None,
            )
            for line in lines
        ]
    )


@dataclass(frozen=True)
class ReserveHints:
    """What a caller that has just read them already knows, so the hold does
    not read them again: each location's store (None for a warehouse), the
    kits among the SKUs (kit id -> {component id: quantity}) and the
    channel's safety buffer per location."""

    location_stores: dict[int, int | None]
    kits: dict[int, dict[int, int]]
    buffers: dict[int, int]


class _KitsAmongLines(Exception):
    """Raised inside the first attempt's rollback point: some lines name kits."""

    def __init__(self, kits: dict[int, dict[int, int]]) -> None:
        super().__init__("kits among the lines")
        self.kits = kits


def stock_reserve_demands(
    *,
    demands: dict[str, list[ReserveLine]],
    demand_type: str,
    actor: Actor,
    channel_id: int | None = None,
    expires_at: dt.datetime | None = None,
    hints: ReserveHints | None = None,
    savepoint: bool = True,
) -> list[Reservation]:
    """Hold stock for several demands (e.g. every line of an order) at once:
    all or nothing, the conditional updates summed per (SKU, location) and
    run in that order, so two orders naming the same SKUs in opposite orders
    never deadlock. Kits are held as their components.

    Without hints the hold first assumes no line names a kit (kits are rare,
    and the hold statement never holds a kit as itself); when a line that
    could not be held turns out to be a kit, that attempt is rolled back and
    the hold runs again with the kits expanded, so rows are still locked in
    one order. `savepoint=False` is for a caller already inside its own
    savepoint that lets a refusal propagate: it saves the second savepoint's
    round trips (and reads the kits first, having no point to roll back to)."""
    args = (demands, demand_type, actor, channel_id, expires_at)
    if hints is not None or not savepoint:
        with transaction.atomic(savepoint=savepoint):
            kits = (
                hints.kits
                if hints is not None
                else kit_components({line.sku_id for lines in demands.values() for line in lines})
            )
            return _refused_raise(_reserve_demands(*args, hints, kits))
    try:
        return _refused_raise(_unless_refused(_reserve_demands, *args, None, None))
    except _KitsAmongLines as found:
        kits = found.kits
    return _refused_raise(_unless_refused(_reserve_demands, *args, None, kits))


class _Refused:
    """A hold that was refused: `error` to raise; `clean` when the refused
    statement held and locked nothing, so there is nothing to roll back."""

    def __init__(self, error: Exception, *, clean: bool) -> None:
        self.error, self.clean = error, clean


def _unless_refused(
    attempt: Callable[..., list[Reservation] | _Refused], *args: Any
) -> list[Reservation] | _Refused:
    """Run `attempt` in its own atomic block. A refusal that wrote nothing
    leaves the block normally instead of rolling it back: a rollback (or a
    rollback to a savepoint) makes psycopg drop every statement it prepared
    on the connection, so a sold-out SKU's refusals would have the next
    requests parsed and planned again."""
    with transaction.atomic():
        outcome = attempt(*args)
        if isinstance(outcome, _Refused) and not outcome.clean:
            raise outcome.error
    return outcome


def _refused_raise(outcome: list[Reservation] | _Refused) -> list[Reservation]:
    if isinstance(outcome, _Refused):
        raise outcome.error
    return outcome


def _stores(actor: Actor, lines: list[ReserveLine]) -> dict[int, int | None] | None:
    """Each location's store, for the permission check — or None when the
    actor may hold stock everywhere (the system, company-wide roles), which
    needs no read: a location that does not exist then shows as a refusal."""
    if actor.can("stock.reserve", company_wide=True):
        return None
    return dict(
        Location.objects.filter(pk__in={line.location_id for line in lines}).values_list(
            "pk", "store_id"
        )
    )


def _locations_exist(
    lines: list[ReserveLine], short: list[tuple[int, int]], known: dict[int, str]
) -> None:
    """A refused line naming a location that does not exist is a bad request,
    not a shortage (`known`: those of the refused locations that exist)."""
    refused = {location_id for _, location_id in short}
    for i, line in enumerate(lines):
        if line.location_id in refused and line.location_id not in known:
            raise ValidationFailed(
                f"lines[{i}]: location #{line.location_id} does not exist",
                field=f"lines[{i}].location",
            )


def _reserve_demands(
    demands: dict[str, list[ReserveLine]],
    demand_type: str,
    actor: Actor,
    channel_id: int | None,
    expires_at: dt.datetime | None,
    hints: ReserveHints | None,
    kits: dict[int, dict[int, int]] | None,
) -> list[Reservation] | _Refused:
    """`kits` None: not read yet (see stock_reserve_demands). A refusal is
    returned, not raised, to let the caller skip the rollback when nothing
    was held."""
    every = [line for lines in demands.values() for line in lines]
    _positive(every)
    stores = hints.location_stores if hints is not None else _stores(actor, every)
    if stores is not None:
        for i, line in enumerate(every):
            if line.location_id not in stores:
                raise ValidationFailed(
                    f"lines[{i}]: location #{line.location_id} does not exist",
                    field=f"lines[{i}].location",
                )
        for store_id in sorted({stores[line.location_id] for line in every}, key=lambda s: s or 0):
            require_in(actor, "stock.reserve", store_id=store_id)
    per_demand: dict[str, dict[tuple[int, int], int]] = {}
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for demand_id, lines in demands.items():
        mine: dict[tuple[int, int], int] = defaultdict(int)
        for line in lines:
            for sku_id, qty in kit_expand([(line.sku_id, line.quantity)], kits or {}):
                mine[(sku_id, line.location_id)] += qty
                totals[(sku_id, line.location_id)] += qty
        per_demand[demand_id] = mine
    if hints is not None:
        buffers = hints.buffers
    else:
        buffers = _buffers(channel_id, {location_id for _, location_id in totals})
    short, refusal = levels_hold(totals, buffers)
    if short:
        refusal = refusal or refusal_read(short)
        # One pair refused: its conditional UPDATE wrote and locked nothing.
        # Several: the hold statement locked every row (and may have held
        # some), so the block must roll back to release them before anyone
        # tries again in this transaction, or rows would be locked out of order.
        clean = len(totals) == 1
        if kits is None and refusal.kits:
            return _Refused(_KitsAmongLines(refusal.kits), clean=clean)
        try:
            if stores is None:
                _locations_exist(every, short, refusal.locations)
        except ValidationFailed as bad:
            return _Refused(bad, clean=clean)
        return _Refused(_insufficient(short, totals, refusal), clean=clean)
    reservations = [
        Reservation(
            sku_id=sku_id,
            location_id=location_id,
            quantity=qty,
            demand_type=demand_type,
            demand_id=demand_id,
            channel_id=channel_id,
            expires_at=expires_at,
        )
        for demand_id, mine in sorted(per_demand.items())
        for (sku_id, location_id), qty in sorted(mine.items())
    ]
    rows_insert(reservations)
    event_publish(StockChanged(pairs=sorted(totals), reason="reserved"))
    return reservations


def _sources(places: list[SellingPlace], sku_ids: list[int]) -> dict[int, list[Source]]:
    return {
        sku_id: [Source(p.location_id, p.priority, p.free.get(sku_id, 0)) for p in places]
        for sku_id in sku_ids
    }


def stock_reserve_for_channel(
    *,
    lines: list[ChannelLine],
    channel_id: int,
    demand_type: str,
    demand_id: str,
    actor: Actor,
    expires_at: dt.datetime | None = None,
    attempts: int = 3,
) -> list[Reservation]:
    """Hold stock for a channel's demand from the locations it sells from, by
    priority, applying each product's policy at zero (refuse, backorder,
    pre-order) the same way for every channel. All lines or nothing.

    The plan is made from a read, but the hold itself is the conditional
    update: when another channel took the stock in between, the plan is
    made again (up to `attempts` times) inside a savepoint — the only one:
    nothing is written outside it."""
    _positive(lines)
    require(actor, "stock.reserve")
    variants = {
        v.pk: v
        for v in Variant.objects.select_related("product").filter(
            pk__in={line.sku_id for line in lines}
        )
    }
    for i, line in enumerate(lines):
        if line.sku_id not in variants:
            raise ValidationFailed(
                f"lines[{i}]: unknown SKU #{line.sku_id}", field=f"lines[{i}].sku"
            )
    kits = kit_components(list(variants))
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        wanted[line.sku_id] += line.quantity
    last_error: InsufficientStock | None = None
    for _ in range(max(attempts, 1)):
        try:
            with transaction.atomic():
                return _reserve_planned(
                    wanted, variants, kits, channel_id, demand_type, demand_id, expires_at
                )
        except InsufficientStock as exc:
            last_error = exc
            if exc.extra.get("final"):
                break
    assert last_error is not None
    raise last_error


def _reserve_planned(
    wanted: dict[int, int],
    variants: dict[int, Variant],
    kits: dict[int, dict[int, int]],
    channel_id: int,
    demand_type: str,
    demand_id: str,
    expires_at: dt.datetime | None,
) -> list[Reservation]:
    expanded = kit_expand(sorted(wanted.items()), kits)
    places = channel_places(channel_id=channel_id, sku_ids=[sku for sku, _ in expanded])
    sources = _sources(places, [sku for sku, _ in expanded])
    totals: dict[tuple[int, int], int] = defaultdict(int)
    waiting: list[Reservation] = []
    refused: list[dict] = []
    first_location = {
        sku: min(srcs, key=lambda s: (s.priority, s.location_id)).location_id
        for sku, srcs in sources.items()
        if srcs
    }
    for sku_id, quantity in expanded:
        free = sum(s.available for s in sources[sku_id])
        product = variants[sku_id].product if sku_id in variants else None
        policy = product.stock_policy if product else REFUSE
        decision = policy_decide(policy, requested=quantity, available_now=free)
        if decision.refused:
            refused.append({"sku_id": sku_id, "requested": quantity, "available": free})
            continue
        for location_id, qty in allocation_choose(sources[sku_id], decision.reserve):
            totals[(sku_id, location_id)] += qty
        if decision.wait:
            if sku_id not in first_location:
                refused.append({"sku_id": sku_id, "requested": quantity, "available": 0})
                continue
            waiting.append(
                Reservation(
                    sku_id=sku_id,
                    location_id=first_location[sku_id],
                    quantity=decision.wait,
                    status=WAITING,
                    demand_type=demand_type,
                    demand_id=demand_id,
                    channel_id=channel_id,
                    expected_date=product.expected_date if product and policy == PREORDER else None,
                )
            )
    if refused:
        skus = dict(
            Variant.objects.filter(pk__in=[r["sku_id"] for r in refused]).values_list("pk", "sku")
        )
        first = refused[0]
        raise InsufficientStock(
            f"Only {first['available']} of {skus.get(first['sku_id'])} available for this "
            f"channel, {first['requested']} requested; lower the quantity.",
            field="quantity",
            short=[
                {
                    "sku": skus.get(r["sku_id"]),
                    "requested": r["requested"],
                    "available": r["available"],
                }
                for r in refused
            ],
            final=True,
        )
    short, refusal = levels_hold(totals, {p.location_id: p.safety_buffer for p in places})
    if short:
        raise _insufficient(short, totals, refusal)  # a race: the caller plans again
    held = [
        Reservation(
            sku_id=sku_id,
            location_id=location_id,
            quantity=qty,
            demand_type=demand_type,
            demand_id=demand_id,
            channel_id=channel_id,
            expires_at=expires_at,
        )
        for (sku_id, location_id), qty in sorted(totals.items())
    ]
    created = held + waiting
    rows_insert(created)
    if totals:
        event_publish(StockChanged(pairs=sorted(totals), reason="reserved"))
    return created


def _unhold(reservations: list[Reservation]) -> list[tuple[int, int]]:
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for r in reservations:
        if r.status == ACTIVE:
            totals[(r.sku_id, r.location_id)] += r.quantity
    for (sku_id, location_id), quantity in sorted(totals.items()):
        StockLevel.objects.filter(sku_id=sku_id, location_id=location_id).update(
            reserved=F("reserved") - quantity
        )
    return sorted(totals)


def _lock(reservation_ids: list[int], statuses: tuple[str, ...]) -> list[Reservation]:
    """Lock holds for a change. Lock order everywhere is StockLevel rows (in
    (sku, location) order) before Reservation rows — receiving locks levels,
    then fills waiting holds — so their levels are locked first here too."""
    pairs = sorted(
        set(Reservation.objects.filter(pk__in=reservation_ids).values_list("sku_id", "location_id"))
    )
    if pairs:
        list(
            StockLevel.objects.select_for_update()
            .filter(sku_id__in={s for s, _ in pairs}, location_id__in={loc for _, loc in pairs})
            .order_by("sku_id", "location_id")
            .values_list("pk", flat=True)
        )
    found = list(
        Reservation.objects.select_for_update()
        .filter(pk__in=reservation_ids, status__in=statuses)
        .order_by("sku_id", "location_id", "pk")
    )
    return found


def _require_at_locations(actor: Actor, permission: str, found: list[Reservation]) -> None:
    stores = set(
        Location.objects.filter(pk__in={r.location_id for r in found}).values_list(
            "store_id", flat=True
        )
    )
    for store_id in sorted(stores, key=lambda s: (s is None, s or 0)):
        require_in(actor, permission, store_id=store_id)


@transaction.atomic
def reservations_release(
    *, reservation_ids: list[int], actor: Actor, reason: str = "released"
) -> int:
    """Give held (or waiting) stock back. Already ended holds are skipped, so
    releasing twice is harmless. Returns how many were released."""
    require(actor, "stock.reserve")
    found = _lock(reservation_ids, (ACTIVE, WAITING))
    _require_at_locations(actor, "stock.reserve", found)
    pairs = _unhold(found)
    Reservation.objects.filter(pk__in=[r.pk for r in found]).update(
        status=Reservation.Status.RELEASED, updated_at=timezone.now()
    )
    if pairs:
        event_publish(StockChanged(pairs=pairs, reason=reason))
        backorders_fill(pairs=pairs)  # freed stock goes to whoever waits for it
    return len(found)


@transaction.atomic
def reservations_release_demand(*, demand_type: str, demand_id: str, actor: Actor) -> int:
    ids = list(
        Reservation.objects.filter(
            demand_type=demand_type, demand_id=demand_id, status__in=(ACTIVE, WAITING)
        ).values_list("pk", flat=True)
    )
    return reservations_release(reservation_ids=ids, actor=actor) if ids else 0


def reservations_expire(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Release holds past their expiry (abandoned carts). Run periodically by
    the worker; each batch is its own transaction."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            ids = list(
                Reservation.objects.filter(status=ACTIVE, expires_at__lte=now)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return expired
            found = _lock(ids, (ACTIVE,))
            pairs = _unhold(found)
            Reservation.objects.filter(pk__in=[r.pk for r in found]).update(
                status=Reservation.Status.EXPIRED, updated_at=now
            )
            if pairs:
                event_publish(StockChanged(pairs=pairs, reason="reservation expired"))
                backorders_fill(pairs=pairs)
            expired += len(found)


@transaction.atomic
def reservations_consume(
    *,
    reservation_ids: list[int],
    actor: Actor,
    reference_type: str,
    reference_id: str,
    to_kind: str = Location.Kind.CUSTOMER,
) -> int:
    """Fulfil holds: the reserved units leave their location (to the customer
    by default) as moves, and stop being reserved — one transaction."""
    require(actor, "stock.move")
    found = _lock(reservation_ids, (ACTIVE,))
    _require_at_locations(actor, "stock.move", found)
    missing = set(reservation_ids) - {r.pk for r in found}
    if missing:
        raise NotFound(
            f"Reservations {sorted(missing)} are not active (released, expired or already "
            "fulfilled); reserve again.",
            field="reservation_ids",
        )
    destination = location_virtual(to_kind)
    stock_moves_post(
        moves=[MoveSpec(r.sku_id, r.location_id, destination.pk, r.quantity) for r in found],
        actor=actor,
        reference_type=reference_type,
        reference_id=reference_id,
        reason="reservation fulfilled",
    )
    _unhold(found)
    Reservation.objects.filter(pk__in=[r.pk for r in found]).update(
        status=Reservation.Status.CONSUMED, updated_at=timezone.now()
    )
    return sum(r.quantity for r in found)


def backorders_fill(*, pairs: list[tuple[int, int]]) -> int:
    """Stock arrived at these (SKU, location) pairs: turn waiting holds into
    active ones, oldest first, while stock lasts. Runs in the caller's
    transaction (receiving, transfers, counts). Returns holds filled."""
    if not pairs:
        return 0
    filled = 0
    touched: list[tuple[int, int]] = []
    demands: set[tuple[str, str]] = set()
    for sku_id, location_id in sorted(set(pairs)):
        waiting = list(
            Reservation.objects.select_for_update()
            .filter(sku_id=sku_id, location_id=location_id, status=WAITING)
            .order_by("created_at", "pk")
        )
        for r in waiting:
            updated = StockLevel.objects.filter(
                sku_id=sku_id, location_id=location_id, on_hand__gte=F("reserved") + r.quantity
            ).update(reserved=F("reserved") + r.quantity)
            if not updated:
                break  # oldest first: a younger, smaller one does not jump the queue
            Reservation.objects.filter(pk=r.pk).update(status=ACTIVE, updated_at=timezone.now())
            filled += 1
            touched.append((sku_id, location_id))
            demands.add((r.demand_type, r.demand_id))
    if touched:
        event_publish(StockChanged(pairs=sorted(set(touched)), reason="backorder filled"))
        event_publish(BackordersFilled(demands=sorted(demands)))
    return filled


__all__ = [
    "BACKORDER",
    "ChannelLine",
    "InsufficientStock",
    "ReserveHints",
    "ReserveLine",
    "backorders_fill",
    "reservations_consume",
    "reservations_expire",
    "reservations_release",
    "reservations_release_demand",
    "stock_reserve",
    "stock_reserve_demands",
    "stock_reserve_for_channel",
    "stock_wait",
]
