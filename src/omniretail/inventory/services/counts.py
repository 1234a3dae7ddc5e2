"""Cycle counts: count a location (or part of it) and post the differences.

open → posted | cancelled. Opening lists the SKUs in scope with what the
system expects; staff record what they find (SKUs found outside the list
are added); posting compares each counted line with the stock on hand *at
posting* and books the difference against the adjustment location, with
who and why in the audit log. Lines nobody counted change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from omniretail.catalog.models import Category, KitComponent, Variant
from omniretail.core.access import Actor, require_in
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.series import series_get_or_create, series_take
from omniretail.inventory.domain import COUNT_TRANSITIONS
from omniretail.inventory.models import Location, StockCount, StockCountLine, StockLevel
from omniretail.inventory.services.ledger import MoveSpec, location_virtual, stock_moves_post
from omniretail.inventory.services.reservations import backorders_fill

SERIES_CODE, SERIES_PREFIX = "inventory-count", "CNT-"
REFERENCE = "count"


@dataclass(frozen=True)
class CountDifference:
    sku_id: int
    sku: str
    expected: int  # on hand when the count was posted
    counted: int

    @property
    def difference(self) -> int:
        return self.counted - self.expected


@dataclass(frozen=True)
class CountPosted:
    count: StockCount
    differences: list[CountDifference]  # every counted line, by SKU code
    uncounted: list[str]  # SKU codes left unchanged
    units_added: int
    units_removed: int
    # SKUs now holding less than is reserved for customers: their orders
    # need stock from elsewhere.
    short_of_reserved: list[str]


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _transition(count: StockCount, target: str) -> None:
    if target not in COUNT_TRANSITIONS.get(count.status, frozenset()):
        raise Conflict(
            f"Count {count.number} is {count.status}; it cannot become {target}. "
            "Open a new count instead.",
            field="status",
            code="invalid_transition",
        )


def _lock(count: StockCount) -> StockCount:
    return (
        StockCount.objects.select_for_update(of=("self",))
        .select_related("location")
        .get(pk=count.pk)
    )


def _on_hand(location: Location, sku_ids: list[int]) -> dict[int, int]:
    return dict(
        StockLevel.objects.filter(location=location, sku_id__in=sku_ids).values_list(
            "sku_id", "on_hand"
        )
    )


def _refuse_unknown_and_kits(sku_ids: list[int], field: str) -> dict[int, str]:
    """SKU codes by id; refuses ids that do not exist and kits (a kit holds no
    stock of its own: its components are counted)."""
    codes = dict(Variant.objects.filter(pk__in=sku_ids).values_list("pk", "sku"))
    for sku_id in sku_ids:
        if sku_id not in codes:
            raise ValidationFailed(
                f"{field}: SKU #{sku_id} does not exist; check the code.", field=field
            )
    kits = set(KitComponent.objects.filter(kit_id__in=sku_ids).values_list("kit_id", flat=True))
    if kits:
        first = codes[min(kits)]
        raise ValidationFailed(
            f"{field}: {first} is a kit and holds no stock; count its components instead.",
            field=field,
        )
    return codes


def _category_and_children(category_id: int) -> set[int]:
    if not Category.objects.filter(pk=category_id).exists():
        raise ValidationFailed(
            f"category #{category_id} does not exist; choose a category from the catalog.",
            field="category",
        )
    found, frontier = {category_id}, {category_id}
    while frontier:  # one query per level of the tree
        frontier = (
            set(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            - found
        )
        found |= frontier
    return found


@transaction.atomic
def count_open(
    *,
    location: Location,
    actor: Actor,
    sku_ids: list[int] | None = None,
    category_id: int | None = None,
    reason: str = "",
) -> StockCount:
    """Start counting a warehouse or store: the given SKUs, a category (with
    its sub-categories), or by default every SKU with a level there. Each
    line expects what is on hand now."""
    if location.kind not in Location.PHYSICAL:
        raise ValidationFailed(
            f"{location.name} is not a warehouse or store; count a physical location.",
            field="location",
        )
    require_in(actor, "stock.count", store_id=location.store_id)
    if sku_ids is not None and category_id is not None:
        raise ValidationFailed(
            "Give either sku_ids or category_id, not both; open two counts if needed.",
            field="sku_ids",
        )
    if sku_ids is not None:
        if not sku_ids:
            raise ValidationFailed(
                "sku_ids is empty; list the SKUs to count or leave it out to count them all.",
                field="sku_ids",
            )
        scope_ids = sorted(set(sku_ids))
        _refuse_unknown_and_kits(scope_ids, "sku_ids")
        scope = f"{len(scope_ids)} SKU(s)"
    elif category_id is not None:
        categories = _category_and_children(category_id)
        # Inactive SKUs are counted only where they still have a level.
        scope_ids = sorted(
            Variant.objects.filter(product__category_id__in=categories)
            .filter(Q(active=True, product__active=True) | Q(stock_levels__location=location))
            .exclude(components__isnull=False)
            .values_list("pk", flat=True)
            .distinct()
        )
        code = Category.objects.filter(pk=category_id).values_list("code", flat=True).first()
        scope = f"category {code}"
    else:
        scope_ids = sorted(
            StockLevel.objects.filter(location=location).values_list("sku_id", flat=True)
        )
        scope = "all SKUs with stock records here"
    on_hand = _on_hand(location, scope_ids)

    series = series_get_or_create(code=SERIES_CODE, prefix=SERIES_PREFIX)
    numbered = series_take(
        series_id=series.pk,
        fields_for=lambda _n, full, _prev: {
            "number": full,
            "location": location.code,
            "scope": scope,
        },
    )
    count = StockCount.objects.create(
        number=numbered.full_number,
        location=location,
        scope=scope,
        reason=reason,
        created_by=actor.label,
    )
    StockCountLine.objects.bulk_create(
        [
            StockCountLine(count=count, sku_id=sku_id, expected=on_hand.get(sku_id, 0))
            for sku_id in scope_ids
        ]
    )
    audit_record(
        actor=actor,
        action="count.open",
        object_type="stock_count",
        object_id=count.number,
        store_id=location.store_id,
        reason=reason,
        data={"location": location.code, "scope": scope, "lines": len(scope_ids)},
    )
    return count


@transaction.atomic
def count_record(*, count: StockCount, counted: Mapping[int, int], actor: Actor) -> StockCount:
    """Enter what was found, by SKU id. A quantity replaces what was recorded
    for that SKU before (a recount corrects, it does not add). A SKU found
    that the count did not list gets a line expecting its on hand now."""
    count = _lock(count)
    require_in(actor, "stock.count", store_id=count.location.store_id)
    if count.status != StockCount.Status.OPEN:
        _transition(count, StockCount.Status.POSTED)  # raises: only open counts change
    if not counted:
        raise ValidationFailed("Nothing counted; enter at least one SKU.", field="counted")
    sku_ids = sorted(counted)
    codes = _refuse_unknown_and_kits(sku_ids, "counted")
    for sku_id in sku_ids:
        qty = counted[sku_id]
        if not _whole(qty) or qty < 0:
            field = f"counted[{codes[sku_id]}]"
            raise ValidationFailed(
                f"{field} must be a whole number of 0 or more (got {qty}); "
                "enter the units found on the shelf.",
                field=field,
            )
    lines = {line.sku_id: line for line in count.lines.filter(sku_id__in=sku_ids)}
    new_ids = [sku_id for sku_id in sku_ids if sku_id not in lines]
    on_hand = _on_hand(count.location, new_ids) if new_ids else {}
    for sku_id, line in lines.items():
        line.counted = counted[sku_id]
    StockCountLine.objects.bulk_update(list(lines.values()), ["counted"])
    StockCountLine.objects.bulk_create(
        [
            StockCountLine(
                count=count,
                sku_id=sku_id,
                expected=on_hand.get(sku_id, 0),
                counted=counted[sku_id],
            )
            for sku_id in new_ids
        ]
    )
    audit_record(
        actor=actor,
        action="count.record",
        object_type="stock_count",
        object_id=count.number,
        store_id=count.location.store_id,
        data={
            "counted": {codes[s]: counted[s] for s in sku_ids},
            "added": [codes[s] for s in new_ids],
        },
    )
    return count


@transaction.atomic
def count_post(*, count: StockCount, actor: Actor, reason: str) -> CountPosted:
    """Book the differences: for every counted line, counted minus on hand
    now (the line's `expected` is set to it). More found → adjustments →
    location; less → location → adjustments. Waiting backorders are filled
    where stock went up."""
    count = _lock(count)
    location = count.location
    require_in(actor, "stock.count", store_id=location.store_id)
    _transition(count, StockCount.Status.POSTED)
    why = reason.strip() or count.reason.strip()
    if not why:
        raise ValidationFailed(
            "reason: say why stock is adjusted (e.g. 'monthly cycle count, aisle 3').",
            field="reason",
        )
    lines = list(count.lines.select_related("sku").order_by("sku_id"))
    counted_lines = [line for line in lines if line.counted is not None]
    if not counted_lines:
        raise ValidationFailed(
            f"No line of count {count.number} has been counted; record counted quantities "
            "or cancel the count.",
            field="lines",
        )
    sku_ids = [line.sku_id for line in counted_lines]
    # Lock the levels being compared (in the ledger's lock order) so no sale
    # or receipt lands between reading on hand and booking the difference.
    StockLevel.objects.bulk_create(
        [StockLevel(sku_id=s, location=location) for s in sku_ids], ignore_conflicts=True
    )
    on_hand = {
        level.sku_id: level.on_hand
        for level in StockLevel.objects.select_for_update()
        .filter(location=location, sku_id__in=sku_ids)
        .order_by("sku_id")
    }
    adjustment = location_virtual(Location.Kind.ADJUSTMENT)
    moves: list[MoveSpec] = []
    differences: list[CountDifference] = []
    for line in counted_lines:
        assert line.counted is not None
        line.expected = on_hand.get(line.sku_id, 0)
        diff = line.counted - line.expected
        differences.append(CountDifference(line.sku_id, line.sku.sku, line.expected, line.counted))
        if diff > 0:
            moves.append(MoveSpec(line.sku_id, adjustment.pk, location.pk, diff))
        elif diff < 0:
            moves.append(MoveSpec(line.sku_id, location.pk, adjustment.pk, -diff))
    differences.sort(key=lambda d: d.sku)
    StockCountLine.objects.bulk_update(counted_lines, ["expected"])
    stock_moves_post(
        moves=moves,
        actor=actor,
        reference_type=REFERENCE,
        reference_id=count.number,
        reason=f"count {count.number}: {why}"[:200],
    )
    increased = [d.sku_id for d in differences if d.difference > 0]
    decreased = [d.sku_id for d in differences if d.difference < 0]
    short_of_reserved = sorted(
        StockLevel.objects.filter(
            location=location, sku_id__in=decreased, on_hand__lt=F("reserved")
        ).values_list("sku__sku", flat=True)
    )
    uncounted = sorted(line.sku.sku for line in lines if line.counted is None)
    units_added = sum(d.difference for d in differences if d.difference > 0)
    units_removed = -sum(d.difference for d in differences if d.difference < 0)

    count.status = StockCount.Status.POSTED
    count.posted_at = timezone.now()
    count.save(update_fields=["status", "posted_at"])
    audit_record(
        actor=actor,
        action="count.post",
        object_type="stock_count",
        object_id=count.number,
        store_id=location.store_id,
        reason=why,
        data={
            "location": location.code,
            "differences": [
                {
                    "sku": d.sku,
                    "expected": d.expected,
                    "counted": d.counted,
                    "difference": d.difference,
                }
                for d in differences
                if d.difference
            ],
            "units_added": units_added,
            "units_removed": units_removed,
            "uncounted": uncounted,
        },
    )
    backorders_fill(pairs=[(sku_id, location.pk) for sku_id in increased])
    return CountPosted(
        count=count,
        differences=differences,
        uncounted=uncounted,
        units_added=units_added,
        units_removed=units_removed,
        short_of_reserved=short_of_reserved,
    )


@transaction.atomic
def count_cancel(*, count: StockCount, actor: Actor, reason: str = "") -> StockCount:
    """Abandon an open count; stock is not touched."""
    count = _lock(count)
    require_in(actor, "stock.count", store_id=count.location.store_id)
    _transition(count, StockCount.Status.CANCELLED)
    count.status = StockCount.Status.CANCELLED
    count.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="count.cancel",
        object_type="stock_count",
        object_id=count.number,
        store_id=count.location.store_id,
        reason=reason,
    )
    return count


__all__ = [
    "CountDifference",
    "CountPosted",
    "count_cancel",
    "count_open",
    "count_post",
    "count_record",
]
