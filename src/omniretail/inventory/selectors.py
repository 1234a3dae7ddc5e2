"""Reads: availability (ATP) per channel, per location, stock value."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, Sum

from omniretail.catalog.models import KitComponent
from omniretail.core.sql import placeholders
from omniretail.inventory.domain import available, kit_available
from omniretail.inventory.models import ChannelLocation, Location, StockLevel

_LEVELS = StockLevel._meta.db_table
_LINKS = ChannelLocation._meta.db_table
_PLACES = Location._meta.db_table
_KITS = KitComponent._meta.db_table


def store_location(*, store_id: int) -> Location | None:
    """The selling location of a store (its shop floor)."""
    return (
        Location.objects.filter(store_id=store_id, kind=Location.Kind.STORE, active=True)
        .order_by("pk")
        .first()
    )


def kit_components(sku_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """Components of the kit SKUs among `sku_ids` (one statement; every
    order, cart and count asks, and almost always gets nothing back)."""
    ids = list(sku_ids)
    if not ids:
        return {}
    kits: dict[int, dict[int, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kit_id, component_id, quantity FROM {_KITS} "  # noqa: S608
            f"WHERE kit_id IN ({placeholders(len(ids))})",
            ids,
        )
        for kit_id, component_id, qty in cursor.fetchall():
            kits[kit_id][component_id] = qty
    return dict(kits)


def _channel_free_sql(skus: int) -> str:
    # Availability is read on every product page and cart of every channel:
    # one plain statement (names from the models, values as parameters)
    # instead of compiling the same grouped join through the ORM each time.
    free = "s.on_hand - s.reserved - c.safety_buffer"
    return (
        f"SELECT s.sku_id, SUM(CASE WHEN {free} > 0 THEN {free} ELSE 0 END) "  # noqa: S608
        f"FROM {_LEVELS} s JOIN {_LINKS} c ON c.location_id = s.location_id "
        f"JOIN {_PLACES} l ON l.id = s.location_id "
        f"WHERE c.channel_id = %s AND l.active AND s.sku_id IN ({placeholders(skus)}) "
        "GROUP BY s.sku_id"
    )


def _channel_free(sku_ids: list[int], channel_id: int) -> dict[int, int]:
    """Sum over the channel's active locations of max(on hand - reserved -
    buffer, 0), in one grouped query."""
    if not sku_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_channel_free_sql(len(sku_ids)), [channel_id, *sku_ids])
        return {sku_id: int(free or 0) for sku_id, free in cursor.fetchall()}


def stock_available_many(*, sku_ids: Iterable[int], channel_id: int) -> dict[int, int]:
    """What a channel can promise now, per SKU. Kits: whole kits buildable
    from their components' availability."""
    ids = list(dict.fromkeys(sku_ids))
    free = _channel_free(ids, channel_id)
    # Kits hold no stock (the ledger refuses it), so only SKUs without stock
    # rows can be kits: the common case is one query.
    kits = kit_components([sku_id for sku_id in ids if sku_id not in free])
    if kits:
        components = {c for comps in kits.values() for c in comps} - set(free)
        free.update(_channel_free(sorted(components), channel_id))
    return {
        sku_id: kit_available(kits[sku_id], free) if sku_id in kits else free.get(sku_id, 0)
        for sku_id in ids
    }


@dataclass(frozen=True)
class SellingPlace:
    """A location a channel can sell from, with what it has free there."""

    location_id: int
    code: str
    kind: str
    store_id: int | None
    priority: int  # 0: not one of the channel's sources (a pick-up store)
    safety_buffer: int
    free: dict[int, int]  # sku_id -> on hand - reserved - buffer (0 at least)


def channel_places(
    *, channel_id: int, sku_ids: list[int], also_location_id: int | None = None
) -> list[SellingPlace]:
    """The active locations the channel sells from, and `also_location_id`
    (a pick-up store's floor), each with its free stock of `sku_ids` after
    the channel's buffer there — in one statement, read by every order's
    routing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.id, l.code, l.kind, l.store_id, c.priority, c.safety_buffer, "  # noqa: S608
            f"s.sku_id, s.on_hand, s.reserved FROM {_PLACES} l "
            f"LEFT JOIN {_LINKS} c ON c.location_id = l.id AND c.channel_id = %s "
            f"LEFT JOIN {_LEVELS} s ON s.location_id = l.id "
            f"AND s.sku_id IN ({placeholders(len(sku_ids)) or 'NULL'}) "
            "WHERE l.active AND (c.id IS NOT NULL OR l.id = %s) ORDER BY l.id",
            [channel_id, *sku_ids, also_location_id],
        )
        rows = cursor.fetchall()
    places: dict[int, SellingPlace] = {}
    for loc_id, code, kind, store_id, priority, buffer, sku_id, on_hand, reserved in rows:
        place = places.get(loc_id)
        if place is None:
            place = places[loc_id] = SellingPlace(
                loc_id, code, kind, store_id, priority or 0, buffer or 0, {}
            )
        if sku_id is not None:
            place.free[sku_id] = available(on_hand, reserved, place.safety_buffer)
    return list(places.values())


def stock_available(*, sku_id: int, channel_id: int) -> int:
    return stock_available_many(sku_ids=[sku_id], channel_id=channel_id)[sku_id]


@dataclass(frozen=True)
class LocationAvailability:
    location_id: int
    code: str
    name: str
    kind: str
    store_id: int | None
    on_hand: int
    reserved: int
    available: int


def stock_available_by_location(
    *, sku_id: int, channel_id: int | None = None, kinds: Iterable[str] = Location.PHYSICAL
) -> list[LocationAvailability]:
    """Which locations (stores) have it? With a channel, its buffers apply."""
    buffers: dict[int, int] = {}
    if channel_id is not None:
        buffers = dict(
            ChannelLocation.objects.filter(channel_id=channel_id).values_list(
                "location_id", "safety_buffer"
            )
        )
    rows = (
        StockLevel.objects.filter(
            sku_id=sku_id, location__kind__in=list(kinds), location__active=True
        )
        .select_related("location")
        .order_by("location__code")
    )
    return [
        LocationAvailability(
            location_id=lv.location_id,
            code=lv.location.code,
            name=lv.location.name,
            kind=lv.location.kind,
            store_id=lv.location.store_id,
            on_hand=lv.on_hand,
            reserved=lv.reserved,
            available=available(lv.on_hand, lv.reserved, buffers.get(lv.location_id, 0)),
        )
        for lv in rows
    ]


def stock_value_by_location(*, location_ids: Iterable[int] | None = None) -> dict[int, Decimal]:
    """On hand x moving average cost, per location (negative stock counts 0)."""
    qs = StockLevel.objects.filter(on_hand__gt=0)
    if location_ids is not None:
        qs = qs.filter(location_id__in=list(location_ids))
    rows = (
        qs.values("location_id")
        .annotate(value=Sum(F("on_hand") * F("sku__valuation__average_cost")))
        .values_list("location_id", "value")
    )
    return {loc: Decimal(str(value or 0)).quantize(Decimal("0.01")) for loc, value in rows}
