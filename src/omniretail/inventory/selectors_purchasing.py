"""Reads for replenishment: which SKUs to reorder, where, from whom.

The projection of a SKU at a location is
    on hand − reserved − backordered + still on open purchase orders
(open = draft, sent or partly received; "still on order" = ordered − received,
never below 0 for an over-received line). Backordered holds wait for stock at
that location, so they are demand just like active holds: leaving them out
would order too little and the oldest backorder could never be filled.

When the projection is at or below the rule's reorder point, the proposal is
the smallest multiple of the reorder quantity (at least one) that lifts it
back above the point.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from omniretail.core.access import Actor
from omniretail.inventory.models import (
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderRule,
    Reservation,
    SkuValuation,
    StockLevel,
)

OPEN_PO_STATUSES = (
    PurchaseOrder.Status.DRAFT,
    PurchaseOrder.Status.SENT,
    PurchaseOrder.Status.PARTLY_RECEIVED,
)


def reorder_quantity_for(*, projected: int, reorder_point: int, reorder_quantity: int) -> int:
    """Units to order so that `projected` ends above `reorder_point`: 0 when it
    already is, else the smallest positive multiple of `reorder_quantity`."""
    if projected > reorder_point:
        return 0
    if reorder_quantity <= 0:
        raise ValueError("reorder_quantity must be above 0")
    multiples = (reorder_point - projected) // reorder_quantity + 1
    return multiples * reorder_quantity


@dataclass(frozen=True)
class ProposalLine:
    rule_id: int
    sku_id: int
    sku: str
    name: str
    on_hand: int
    reserved: int
    backordered: int
    on_order: int
    projected: int
    reorder_point: int
    reorder_quantity: int
    quantity: int
    unit_cost: Decimal


@dataclass(frozen=True)
class Proposal:
    """What to order from one supplier for one location: one draft PO."""

    supplier_id: int
    supplier_code: str
    supplier_name: str
    location_id: int
    location_code: str
    location_name: str
    store_id: int | None
    lines: tuple[ProposalLine, ...]

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def value(self) -> Decimal:
        return sum((line.quantity * line.unit_cost for line in self.lines), Decimal(0))


def purchase_location_ids(*, actor: Actor, permission: str = "stock.purchase") -> list[int] | None:
    """The physical locations the actor may purchase for (None = all of them).

    A role bound to some stores covers those stores' locations only; a
    warehouse (no store) needs a role that covers every store."""
    store_ids = actor.store_ids(permission)
    if store_ids is None:
        return None
    if not store_ids:
        return []
    return list(
        Location.objects.filter(store_id__in=store_ids, kind__in=Location.PHYSICAL)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def on_order_quantities(
    *, sku_ids: Iterable[int], location_ids: Iterable[int]
) -> dict[tuple[int, int], int]:
    """Units still expected on open purchase orders per (SKU, location)."""
    totals: dict[tuple[int, int], int] = defaultdict(int)
    rows = PurchaseOrderLine.objects.filter(
        order__status__in=OPEN_PO_STATUSES,
        order__location_id__in=list(location_ids),
        sku_id__in=list(sku_ids),
    ).values_list("sku_id", "order__location_id", "quantity_ordered", "quantity_received")
    for sku_id, location_id, ordered, received in rows:
        totals[(sku_id, location_id)] += max(ordered - received, 0)
    return totals


def reorder_proposals(*, location_ids: Iterable[int] | None = None) -> list[Proposal]:
    """Proposals for every rule at or below its reorder point, grouped by
    (supplier, location), in supplier then location then SKU order.

    `location_ids=None` means every location. Five queries whatever the number
    of rules: rules, levels, backorders, open PO lines, average costs."""
    rules_qs = ReorderRule.objects.select_related("sku__product", "location", "supplier").filter(
        supplier__active=True, location__active=True
    )
    if location_ids is not None:
        wanted = list(location_ids)
        if not wanted:
            return []
        rules_qs = rules_qs.filter(location_id__in=wanted)
    rules = list(
        rules_qs.order_by("supplier__name", "supplier__code", "location__code", "sku__sku")
    )
    if not rules:
        return []
    sku_ids = {r.sku_id for r in rules}
    loc_ids = {r.location_id for r in rules}
    pairs = {(r.sku_id, r.location_id) for r in rules}

    levels = {
        (sku_id, location_id): (on_hand, reserved)
        for sku_id, location_id, on_hand, reserved in StockLevel.objects.filter(
            sku_id__in=sku_ids, location_id__in=loc_ids
        ).values_list("sku_id", "location_id", "on_hand", "reserved")
        if (sku_id, location_id) in pairs
    }
    waiting = {
        (row["sku_id"], row["location_id"]): row["q"]
        for row in Reservation.objects.filter(
            status=Reservation.Status.BACKORDERED, sku_id__in=sku_ids, location_id__in=loc_ids
        )
        .values("sku_id", "location_id")
        .annotate(q=Sum("quantity"))
    }
    on_order = on_order_quantities(sku_ids=sku_ids, location_ids=loc_ids)
    no_cost = {r.sku_id for r in rules if r.unit_cost is None}
    averages = (
        dict(SkuValuation.objects.filter(sku_id__in=no_cost).values_list("sku_id", "average_cost"))
        if no_cost
        else {}
    )

    groups: dict[tuple[int, int], list[ProposalLine]] = {}
    heads: dict[tuple[int, int], ReorderRule] = {}
    for rule in rules:
        key = (rule.sku_id, rule.location_id)
        on_hand, reserved = levels.get(key, (0, 0))
        backordered = waiting.get(key, 0)
        ordered = on_order.get(key, 0)
        projected = on_hand - reserved - backordered + ordered
        quantity = reorder_quantity_for(
            projected=projected,
            reorder_point=rule.reorder_point,
            reorder_quantity=rule.reorder_quantity,
        )
        if quantity == 0:
            continue
        # A rule without a cost orders at the current average cost; the buyer
        # corrects it on the draft or when the goods arrive.
        cost = rule.unit_cost if rule.unit_cost is not None else averages.get(rule.sku_id)
        group = (rule.supplier_id, rule.location_id)
        heads.setdefault(group, rule)
        groups.setdefault(group, []).append(
            ProposalLine(
                rule_id=rule.pk,
                sku_id=rule.sku_id,
                sku=rule.sku.sku,
                name=f"{rule.sku.product.name} {rule.sku.name}".strip(),
                on_hand=on_hand,
                reserved=reserved,
                backordered=backordered,
                on_order=ordered,
                projected=projected,
                reorder_point=rule.reorder_point,
                reorder_quantity=rule.reorder_quantity,
                quantity=quantity,
                unit_cost=cost if cost is not None else Decimal("0.0000"),
            )
        )
    proposals = []
    for group, lines in groups.items():
        head = heads[group]
        proposals.append(
            Proposal(
                supplier_id=head.supplier_id,
                supplier_code=head.supplier.code,
                supplier_name=head.supplier.name,
                location_id=head.location_id,
                location_code=head.location.code,
                location_name=head.location.name,
                store_id=head.location.store_id,
                lines=tuple(lines),
            )
        )
    return proposals
