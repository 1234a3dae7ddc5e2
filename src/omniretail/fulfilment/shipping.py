"""Shipments and pick-ups in store: the goods of an order leave a location.

A shipment is made from the order's active holds at one location (its pick
list). Its verbs are one state machine, kept as data below:

    ship:     picking → packed → shipped → delivered | failed
    pick-up:  picking (→ packed) → ready → collected | expired
    either:   picking | packed → cancelled

Stock leaves only when the goods do (shipped, handed over): exactly the held
reservations of the shipment's lines at its location are consumed then, as
moves location → customers; a failed delivery moves them back. Every verb
checks `orders.fulfil` in the shipment's store (warehouses: company-wide
roles), locks the shipment, then the order, then stock — the order's own lock
order — and writes a timeline entry (kind "shipment") and an audit record.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from omniretail.catalog.models import Variant
from omniretail.core.access import SYSTEM, Actor, require_in
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.series import series_get_or_create, series_take
from omniretail.fulfilment.events import (
    PickupReady,
    ShipmentDelivered,
    ShipmentFailed,
    ShipmentShipped,
)
from omniretail.fulfilment.models import Shipment, ShipmentLine
from omniretail.inventory.models import Location, Reservation, StockMove
from omniretail.inventory.selectors import kit_components, store_location
from omniretail.inventory.services import (
    MoveSpec,
    backorders_fill,
    location_virtual,
    reservations_consume,
    reservations_release,
    stock_moves_post,
)
from omniretail.orders.domain import (
    ALLOCATED,
    CANCELLED,
    CONFIRMED,
    FULFILLED,
    ON_HOLD,
    PARTLY_FULFILLED,
    transition_allowed,
)
from omniretail.orders.models import Order
from omniretail.orders.services import (
    LINE_DEMAND,
    order_activity,
    order_allocate,
    order_cancel,
    order_complete,
    order_lines_fulfilled,
    order_lines_unfulfilled,
)

log = logging.getLogger(__name__)

S = Shipment.Status
SHIPMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PICKING: frozenset({S.PACKED, S.READY, S.CANCELLED}),
    S.PACKED: frozenset({S.SHIPPED, S.READY, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.FAILED}),
    S.READY: frozenset({S.COLLECTED, S.EXPIRED}),
    S.DELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.COLLECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Statuses that only one kind of shipment reaches.
KIND_ONLY: dict[str, str] = {S.SHIPPED: Shipment.Kind.SHIP, S.READY: Shipment.Kind.PICKUP}
OPEN = (S.PICKING, S.PACKED, S.READY)  # the goods are still in the location, held
UNDER_WAY = (*OPEN, S.SHIPPED)  # not yet with the customer

SHIPPABLE_ORDER = (CONFIRMED, ALLOCATED, PARTLY_FULFILLED)
SERIES_CODE, SERIES_PREFIX = "fulfilment-shipment", "SH-"
REFERENCE = "shipment"
FIELD_MAX = 64  # Shipment.carrier, Shipment.tracking_number
# No 0/O, 1/I/L: read aloud at a counter, a code must not be misread.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


@dataclass(frozen=True)
class PickRow:
    """One row of a printed pick list: what to take from the shelf."""

    sku: str
    description: str
    quantity: int
    location: str


# --- helpers ------------------------------------------------------------------------------


def _label(status: str) -> str:
    return str(S(status).label).lower()


def _check(shipment: Shipment, target: str) -> None:
    allowed = SHIPMENT_TRANSITIONS.get(shipment.status, frozenset())
    if target not in allowed:
        may = ", ".join(sorted(_label(s) for s in allowed)) or "nothing (it is closed)"
        raise Conflict(
            f"Shipment {shipment.number} is {_label(shipment.status)}; it cannot become "
            f"{_label(target)} (from here it may become: {may}).",
            field="status",
            code="invalid_transition",
        )
    kind = KIND_ONLY.get(target)
    if kind is not None and shipment.kind != kind:
        fix = (
            "make it ready and hand it over at the counter"
            if shipment.kind == Shipment.Kind.PICKUP
            else "ship it with a carrier"
        )
        raise Conflict(
            f"Shipment {shipment.number} is a {shipment.get_kind_display().lower()}; it cannot "
            f"become {_label(target)} — {fix}.",
            field="kind",
            code="invalid_transition",
        )


def _transition(shipment: Shipment, target: str) -> str:
    """The only place a shipment's status changes. Returns the old status."""
    _check(shipment, target)
    old = shipment.status
    shipment.status = target
    return old


def _lock(shipment: Shipment) -> Shipment:
    locked = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("location", "order")
        .filter(pk=shipment.pk)
        .first()
    )
    if locked is None:
        raise NotFound(f"No shipment {shipment.number!r}; check the number.", field="number")
    return locked


def _may_fulfil(actor: Actor, location: Location) -> None:
    require_in(actor, "orders.fulfil", store_id=location.store_id)


def _order_for(shipment: Shipment, *, doing: str) -> Order:
    """Lock the shipment's order; refuse when it may not be fulfilled now."""
    order = Order.objects.select_for_update().get(pk=shipment.order_id)
    shipment.order = order
    if order.status not in SHIPPABLE_ORDER:
        fix = {
            ON_HOLD: "release the hold first",
            CANCELLED: "cancel the shipment and put the goods back",
        }.get(order.status, "check the order")
        raise Conflict(
            f"Order #{order.pk} is {order.get_status_display().lower()}; shipment "
            f"{shipment.number} cannot be {doing} ({fix}).",
            field="order",
            code="order_not_fulfillable",
        )
    return order


def _stock_actor(actor: Actor) -> Actor:
    # The goods of an order leave as the consequence of a fulfilment step the
    # actor may take here (checked by the caller): a cashier at a pick-up
    # counter hands over a bag without the general stock.move permission.
    return replace(actor, is_system=True)


def _record(
    shipment: Shipment,
    actor: Actor,
    verb: str,
    message: str,
    *,
    reason: str = "",
    data: dict | None = None,
) -> None:
    details = {"shipment": shipment.number, "status": shipment.status, **(data or {})}
    order_activity(
        order=shipment.order,
        actor=actor,
        kind="shipment",
        message=f"{shipment.number} {message}"[:500],
        data=details,
    )
    audit_record(
        actor=actor,
        action=f"shipment.{verb}",
        object_type="shipment",
        object_id=shipment.number,
        store_id=shipment.location.store_id,
        reason=reason,
        data={"order": shipment.order_id, **details},
    )


def _parts(kits: dict[int, dict[int, int]], sku_id: int) -> dict[int, int]:
    """What a unit of an order line is made of on the shelf (a kit: its components)."""
    return kits.get(sku_id) or {sku_id: 1}


def _needs(lines: list[ShipmentLine]) -> dict[tuple[int, int], int]:
    """Units to take per (order line, SKU on the shelf)."""
    kits = kit_components([sl.order_line.sku_id for sl in lines])
    needs: dict[tuple[int, int], int] = defaultdict(int)
    for sl in lines:
        for sku_id, per_unit in _parts(kits, sl.order_line.sku_id).items():
            needs[(sl.order_line_id, sku_id)] += sl.quantity * per_unit
    return dict(needs)


def _exact(holds: list[Reservation], target: int) -> list[Reservation] | None:
    """Holds whose quantities add up to exactly `target`, oldest first
    (a line has few holds at one place: a subset sum over them is cheap)."""
    reachable: dict[int, tuple[int, ...]] = {0: ()}
    for i, hold in enumerate(holds):
        for total, used in list(reachable.items()):
            reach = total + hold.quantity
            if reach <= target and reach not in reachable:
                reachable[reach] = (*used, i)
    chosen = reachable.get(target)
    return None if chosen is None else [holds[i] for i in chosen]


def _line_holds(shipment: Shipment) -> list[Reservation]:
    """Every active hold of the shipment's order lines at its location."""
    line_ids = list(shipment.lines.values_list("order_line_id", flat=True))
    return list(
        Reservation.objects.filter(
            demand_type=LINE_DEMAND,
            demand_id__in=[str(pk) for pk in line_ids],
            location_id=shipment.location_id,
            status=Reservation.Status.ACTIVE,
        ).order_by("created_at", "pk")
    )


def _holds(shipment: Shipment) -> list[Reservation]:
    """Exactly the holds the shipment takes: its lines' units at its location."""
    lines = list(shipment.lines.select_related("order_line"))
    grouped: dict[tuple[int, int], list[Reservation]] = defaultdict(list)
    for hold in _line_holds(shipment):
        grouped[(int(hold.demand_id), hold.sku_id)].append(hold)
    chosen: list[Reservation] = []
    for (line_id, sku_id), units in sorted(_needs(lines).items()):
        picked = _exact(grouped.get((line_id, sku_id), []), units)
        if picked is None:
            held = sum(h.quantity for h in grouped.get((line_id, sku_id), []))
            raise Conflict(
                f"Shipment {shipment.number} needs {units} unit(s) of SKU #{sku_id} held for "
                f"order line #{line_id} at {shipment.location.code}; {held} are held there now. "
                "Cancel this shipment and create a new one from the holds.",
                field="holds",
                code="holds_changed",
            )
        chosen.extend(picked)
    return chosen


def _quantities(shipment: Shipment) -> dict[int, int]:
    quantities: dict[int, int] = defaultdict(int)
    for line_id, qty in shipment.lines.values_list("order_line_id", "quantity"):
        quantities[line_id] += qty
    return dict(quantities)


def _leave(shipment: Shipment, order: Order, actor: Actor, reason: str) -> dict[int, int]:
    """The goods leave: consume the shipment's holds (stock → customers) and
    record the order lines as fulfilled. Returns units per order line."""
    holds = _holds(shipment)
    reservations_consume(
        reservation_ids=[h.pk for h in holds],
        actor=_stock_actor(actor),
        reference_type=REFERENCE,
        reference_id=shipment.number,
    )
    quantities = _quantities(shipment)
    if order.status == CONFIRMED:
        # Part of the order waits for stock (backordered); what is held may go.
        order_allocate(
            order=order, actor=actor, reason=f"{shipment.number} leaves with the held part"
        )
    order_lines_fulfilled(order=order, quantities=quantities, actor=actor, reason=reason)
    return quantities


def _complete_if_done(order_id: int, actor: Actor) -> None:
    """A fulfilled order whose every shipment reached the customer is complete."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != FULFILLED:
        return
    if Shipment.objects.filter(order_id=order_id, status__in=UNDER_WAY).exists():
        return
    order_complete(order=order, actor=actor, reason="every shipment delivered or collected")


def _text(value: str, field: str, what: str, limit: int) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise ValidationFailed(f"{field}: give {what} (1 to {limit} characters).", field=field)
    return value


def _number(series_id: int, fields: dict) -> str:
    taken = series_take(
        series_id=series_id, fields_for=lambda _n, full, _prev: {"number": full, **fields}
    )
    return taken.full_number


# --- order lines back to open (to move to orders/services.py) -----------------------------


@transaction.atomic
# --- shipments from holds -----------------------------------------------------------------


@transaction.atomic
def shipments_create(
    *, order: Order, actor: Actor, location: Location | None = None
) -> list[Shipment]:
    """Pick lists from the order's active holds not yet on an open shipment:
    one shipment per location (or only at `location`), kind pick-up at the
    pick-up store of a pick-up order. Needs orders.fulfil at each location."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.fulfilment_method == Order.Fulfilment.CARRY_OUT:
        raise Conflict(
            f"Order #{order.pk} was carried out of the store; there is nothing to ship.",
            field="order",
        )
    if order.status not in SHIPPABLE_ORDER:
        raise Conflict(
            f"Order #{order.pk} is {order.get_status_display().lower()}; only confirmed, "
            "allocated or partly fulfilled orders are picked.",
            field="order",
            code="order_not_fulfillable",
        )
    lines = {line.pk: line for line in order.lines.all()}
    kits = kit_components([line.sku_id for line in lines.values()])
    free: dict[tuple[int, int, int], int] = defaultdict(int)  # (location, line, sku) -> units
    for demand_id, location_id, sku_id, qty in Reservation.objects.filter(
        demand_type=LINE_DEMAND,
        demand_id__in=[str(pk) for pk in lines],
        status=Reservation.Status.ACTIVE,
    ).values_list("demand_id", "location_id", "sku_id", "quantity"):
        free[(location_id, int(demand_id), sku_id)] += qty
    on_the_way: dict[int, int] = defaultdict(int)  # line -> units on open shipments
    open_numbers: set[str] = set()
    for number, location_id, line_id, qty in ShipmentLine.objects.filter(
        shipment__order=order, shipment__status__in=OPEN
    ).values_list("shipment__number", "shipment__location_id", "order_line_id", "quantity"):
        open_numbers.add(number)
        on_the_way[line_id] += qty
        for sku_id, per_unit in _parts(kits, lines[line_id].sku_id).items():
            free[(location_id, line_id, sku_id)] -= qty * per_unit

    pickup_at = None
    if order.fulfilment_method == Order.Fulfilment.PICKUP and order.pickup_store_id:
        pickup_at = store_location(store_id=order.pickup_store_id)
    plan: dict[int, dict[int, int]] = defaultdict(dict)  # location -> line -> units
    elsewhere: set[int] = set()
    for location_id in sorted({loc for loc, _, _ in free}):
        if location is not None and location_id != location.pk:
            continue
        if order.fulfilment_method == Order.Fulfilment.PICKUP and (
            pickup_at is None or location_id != pickup_at.pk
        ):
            elsewhere.add(location_id)  # a pick-up leaves from its store only
            continue
        for line_id, line in sorted(lines.items()):
            units = min(
                max(free.get((location_id, line_id, sku_id), 0), 0) // per_unit
                for sku_id, per_unit in _parts(kits, line.sku_id).items()
            )
            units = min(units, line.quantity_open - on_the_way[line_id])
            if units > 0:
                plan[location_id][line_id] = units
                on_the_way[line_id] += units
    if not plan:
        where = f" at {location.code}" if location is not None else ""
        already = (
            f"; what is held is on open shipment(s) {', '.join(sorted(open_numbers))}"
            if open_numbers
            else "; route the order or wait for the backordered stock"
        )
        raise Conflict(
            f"Order #{order.pk} has no held stock left to pick{where}{already}.",
            field="order",
            code="nothing_to_pick",
        )
    places = Location.objects.in_bulk(list(plan) + list(elsewhere))
    for location_id in sorted(plan):
        _may_fulfil(actor, places[location_id])

    series = series_get_or_create(code=SERIES_CODE, prefix=SERIES_PREFIX)
    shipments: list[Shipment] = []
    for location_id, taking in sorted(plan.items()):
        place = places[location_id]
        number = _number(
            series.pk, {"order": order.pk, "location": place.code, "lines": sorted(taking.items())}
        )
        shipment = Shipment.objects.create(
            number=number,
            order=order,
            location=place,
            kind=Shipment.Kind.PICKUP if pickup_at is not None else Shipment.Kind.SHIP,
            status=S.PICKING,
        )
        ShipmentLine.objects.bulk_create(
            [
                ShipmentLine(shipment=shipment, order_line_id=line_id, quantity=qty)
                for line_id, qty in sorted(taking.items())
            ]
        )
        note = (
            f"; held at {', '.join(sorted(places[loc].code for loc in elsewhere))} is not at the "
            "pick-up store: transfer it there"
            if elsewhere
            else ""
        )
        _record(
            shipment,
            actor,
            "create",
            f"to pick at {place.code}: {sum(taking.values())} unit(s) on {len(taking)} line(s)"
            + note,
            data={"kind": shipment.kind, "lines": {str(k): v for k, v in sorted(taking.items())}},
        )
        shipments.append(shipment)
    return shipments


def shipment_pick_list(shipment: Shipment) -> list[PickRow]:
    """What to take from the shelf, in line order; a kit is picked as its
    components."""
    lines = list(shipment.lines.select_related("order_line").order_by("order_line__line_no", "pk"))
    kits = kit_components([sl.order_line.sku_id for sl in lines])
    variants = Variant.objects.select_related("product").in_bulk(
        {sku for sl in lines for sku in _parts(kits, sl.order_line.sku_id)}
    )
    code = shipment.location.code
    rows: list[PickRow] = []
    for sl in lines:
        line = sl.order_line
        if line.sku_id not in kits:
            rows.append(PickRow(variants[line.sku_id].sku, line.description, sl.quantity, code))
            continue
        for sku_id, per_unit in sorted(kits[line.sku_id].items()):
            part = variants[sku_id]
            rows.append(
                PickRow(
                    part.sku,
                    f"{part.product.name} {part.name} (in {line.description})",
                    sl.quantity * per_unit,
                    code,
                )
            )
    return rows


# --- shipping to an address ---------------------------------------------------------------


@transaction.atomic
def shipment_pack(*, shipment: Shipment, actor: Actor) -> Shipment:
    shipment = _lock(shipment)
    _may_fulfil(actor, shipment.location)
    _order_for(shipment, doing="packed")
    _transition(shipment, S.PACKED)
    shipment.save(update_fields=["status", "updated_at"])
    _record(shipment, actor, "packed", "packed")
    return shipment


@transaction.atomic
def shipment_ship(
    *, shipment: Shipment, carrier: str, tracking_number: str, actor: Actor
) -> Shipment:
    """The parcel leaves with the carrier: its holds are consumed (stock goes
    to the customer) and the order lines are fulfilled."""
    carrier = _text(carrier, "carrier", "the carrier's name", FIELD_MAX)
    tracking_number = _text(
        tracking_number, "tracking_number", "the carrier's tracking number", FIELD_MAX
    )
    shipment = _lock(shipment)
    _may_fulfil(actor, shipment.location)
    order = _order_for(shipment, doing="shipped")
    _transition(shipment, S.SHIPPED)
    shipment.carrier, shipment.tracking_number = carrier, tracking_number
    shipment.save(update_fields=["status", "carrier", "tracking_number", "updated_at"])
    quantities = _leave(shipment, order, actor, reason=f"{shipment.number} shipped with {carrier}")
    _record(
        shipment,
        actor,
        "shipped",
        f"shipped from {shipment.location.code} with {carrier}, tracking {tracking_number}",
        data={
            "carrier": carrier,
            "tracking_number": tracking_number,
            "units": sum(quantities.values()),
        },
    )
    event_publish(
        ShipmentShipped(
            shipment_id=shipment.pk,
            order_id=shipment.order_id,
            carrier=carrier,
            tracking_number=tracking_number,
        )
    )
    return shipment


@transaction.atomic
def shipment_delivery_attempt(*, shipment: Shipment, actor: Actor, note: str = "") -> Shipment:
    """The carrier tried and will try again (nobody home, parcel at a relay)."""
    shipment = _lock(shipment)
    _may_fulfil(actor, shipment.location)
    if shipment.status != S.SHIPPED:
        raise Conflict(
            f"Shipment {shipment.number} is {_label(shipment.status)}; delivery attempts are "
            "recorded for shipped parcels only.",
            field="status",
            code="invalid_transition",
        )
    shipment.delivery_attempts += 1
    shipment.save(update_fields=["delivery_attempts", "updated_at"])
    note = note.strip()
    _record(
        shipment,
        actor,
        "delivery_attempt",
        f"delivery attempt {shipment.delivery_attempts}" + (f": {note}" if note else ""),
        reason=note,
        data={"attempt": shipment.delivery_attempts},
    )
    return shipment


@transaction.atomic
def shipment_delivered(*, shipment: Shipment, actor: Actor) -> Shipment:
    """The customer has the parcel; the order completes when it was the last."""
    shipment = _lock(shipment)
    _may_fulfil(actor, shipment.location)
    _transition(shipment, S.DELIVERED)
    shipment.save(update_fields=["status", "updated_at"])
    _record(shipment, actor, "delivered", "delivered")
    event_publish(ShipmentDelivered(shipment_id=shipment.pk, order_id=shipment.order_id))
    _complete_if_done(shipment.order_id, actor)
    return shipment


@transaction.atomic
def shipment_failed(*, shipment: Shipment, actor: Actor, reason: str) -> Shipment:
    """The carrier brought the parcel back: its goods are in stock again at
    the shipment's location and the order lines are open again."""
    reason = _text(reason, "reason", "why the parcel came back", 300)
    shipment = _lock(shipment)
    _may_fulfil(actor, shipment.location)
    order = Order.objects.select_for_update().get(pk=shipment.order_id)
    shipment.order = order
    _transition(shipment, S.FAILED)
    shipment.save(update_fields=["status", "updated_at"])
    customers = location_virtual(Location.Kind.CUSTOMER)
    sent = (
        StockMove.objects.filter(
            reference_type=REFERENCE,
            reference_id=shipment.number,
            from_location_id=shipment.location_id,
            to_location_id=customers.pk,
        )
        .values_list("sku_id")
        .annotate(units=Sum("quantity"))
        .order_by("sku_id")
    )
    moves = [MoveSpec(sku_id, customers.pk, shipment.location_id, units) for sku_id, units in sent]
    stock_moves_post(
        moves=moves,
        actor=actor,
        reference_type=REFERENCE,
        reference_id=shipment.number,
        reason=f"returned by the carrier: {reason}",
    )
    backorders_fill(pairs=[(m.sku_id, m.to_location_id) for m in moves])
    quantities = _quantities(shipment)
    order_lines_unfulfilled(
        order=order,
        quantities=quantities,
        actor=actor,
        reason=f"{shipment.number} came back: {reason}",
    )
    _record(
        shipment,
        actor,
        "failed",
        f"came back to {shipment.location.code}: {reason}",
        reason=reason,
        data={"units": sum(quantities.values())},
    )
    event_publish(
        ShipmentFailed(shipment_id=shipment.pk, order_id=shipment.order_id, reason=reason)
    )
    return shipment


@transaction.atomic
def shipment_cancel(*, shipment: Shipment, actor: Actor, reason: str) -> Shipment:
    """Void a pick list before the goods leave (picking or packed). The holds
    stay with the order: a new shipment can be made from them."""
    reason = _text(reason, "reason", "why the shipment is cancelled", 300)
    shipment = _lock(shipment)
    _may_fulfil(actor, shipment.location)
    _transition(shipment, S.CANCELLED)
    shipment.save(update_fields=["status", "updated_at"])
    _record(
        shipment, actor, "cancelled", f"cancelled: {reason}; the stock stays held", reason=reason
    )
    return shipment


# --- pick-up in store ---------------------------------------------------------------------


def _collection_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _code_matches(given: str, expected: str) -> bool:
    typed = "".join((given or "").split()).replace("-", "").upper()
    if not typed or not expected:
        return False
    return hmac.compare_digest(typed.encode(), expected.encode())


@transaction.atomic
def pickup_ready(*, shipment: Shipment, actor: Actor, keep_days: int | None = None) -> Shipment:
    """The bag waits at the counter: the customer gets a collection code
    (that nobody can guess) and until when it is kept."""
    days = keep_days if keep_days is not None else getattr(settings, "OMNI_PICKUP_KEEP_DAYS", 7)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 90:
        raise ValidationFailed(
            f"keep_days: give a whole number of days from 1 to 90 (got {days!r}).",
            field="keep_days",
        )
    shipment = _lock(shipment)
    _may_fulfil(actor, shipment.location)
    _order_for(shipment, doing="made ready")
    _transition(shipment, S.READY)
    _holds(shipment)  # the goods the customer is told about are still held
    now = timezone.now()
    shipment.collection_code = _collection_code()
    shipment.ready_at = now
    shipment.pickup_expires_at = now + dt.timedelta(days=days)
    shipment.save(
        update_fields=[
            "status",
            "collection_code",
            "ready_at",
            "pickup_expires_at",
            "updated_at",
        ]
    )
    expires = shipment.pickup_expires_at.isoformat()
    # The code is not written to the timeline or the audit log: only the
    # customer should be able to collect.
    _record(
        shipment,
        actor,
        "ready",
        f"ready for pick-up at {shipment.location.code} until "
        f"{timezone.localtime(shipment.pickup_expires_at):%Y-%m-%d %H:%M}",
        data={"expires_at": expires},
    )
    event_publish(
        PickupReady(
            shipment_id=shipment.pk,
            order_id=shipment.order_id,
            collection_code=shipment.collection_code,
            expires_at=expires,
        )
    )
    return shipment


@transaction.atomic
def pickup_hand_over(*, shipment: Shipment, code: str, actor: Actor) -> Shipment:
    """The customer shows the collection code and takes the bag: its holds
    are consumed (stock leaves the store) and the order lines fulfilled."""
    shipment = _lock(shipment)
    _may_fulfil(actor, shipment.location)
    order = _order_for(shipment, doing="handed over")
    _check(shipment, S.COLLECTED)
    if not _code_matches(code, shipment.collection_code):
        raise ValidationFailed(
            "code: this is not the collection code of the pick-up; ask the customer for the "
            "code in their 'ready for pick-up' message.",
            field="code",
            code="wrong_code",
        )
    _transition(shipment, S.COLLECTED)
    shipment.save(update_fields=["status", "updated_at"])
    quantities = _leave(
        shipment, order, actor, reason=f"{shipment.number} collected at {shipment.location.code}"
    )
    _record(
        shipment,
        actor,
        "collected",
        f"collected at {shipment.location.code}",
        data={"units": sum(quantities.values())},
    )
    _complete_if_done(shipment.order_id, actor)
    return shipment


@transaction.atomic
def _pickup_expire(shipment_id: int, now: dt.datetime) -> int:
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("location", "order")
        .filter(pk=shipment_id, status=S.READY, pickup_expires_at__lte=now)
        .first()
    )
    if shipment is None:
        return 0  # collected or expired meanwhile
    order = Order.objects.select_for_update().get(pk=shipment.order_id)
    shipment.order = order
    _transition(shipment, S.EXPIRED)
    shipment.save(update_fields=["status", "updated_at"])
    _record(shipment, SYSTEM, "expired", "not collected in time", reason="not collected")
    if order.status == CANCELLED:
        return 1
    fulfilled = any(line.quantity_fulfilled for line in order.lines.all())
    if transition_allowed(order.status, CANCELLED) and not fulfilled:
        order_cancel(order=order, actor=SYSTEM, reason="not collected")
    else:
        # Part of the order was collected already: only this bag goes back.
        reservations_release(
            reservation_ids=[h.pk for h in _line_holds(shipment)],
            actor=SYSTEM,
            reason="pick-up not collected",
        )
        order_activity(
            order=order,
            actor=SYSTEM,
            kind="shipment",
            message=f"{shipment.number}: goods back on the shelf; cancel the open lines or "
            "make a new pick-up",
        )
    return 1


def pickups_expire(*, now: dt.datetime | None = None) -> int:
    """Periodic: pick-ups not collected by their expiry go back on the
    shelf and their order is cancelled (holds released, refund requested
    when paid). Each pick-up is its own transaction. Returns how many."""
    now = now or timezone.now()
    due = list(
        Shipment.objects.filter(
            kind=Shipment.Kind.PICKUP, status=S.READY, pickup_expires_at__lte=now
        )
        .order_by("pickup_expires_at", "pk")
        .values_list("pk", flat=True)
    )
    expired = 0
    for shipment_id in due:
        try:
            expired += _pickup_expire(shipment_id, now)
        except DomainError:
            log.exception("pick-up shipment #%s could not expire", shipment_id)
    return expired
