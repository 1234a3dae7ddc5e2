"""Transfers between warehouses and stores, with stock in transit.

draft → shipped → (partly_received →)* received; a draft may be cancelled.
Shipping moves the goods from the source to the transit location, receiving
moves them from transit to the destination, so stock on the road stays
visible and conserved. Closing a transfer writes off what never arrived to
the adjustment location, with who and why in the audit log.

Every verb locks the transfer row first, so two receipts of one transfer
queue up instead of both counting the same units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from omniretail.catalog.models import KitComponent, Variant
from omniretail.core.access import Actor, require_in
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.series import series_get_or_create, series_take
from omniretail.inventory.domain import TRANSFER_TRANSITIONS
from omniretail.inventory.models import Location, StockLevel, Transfer, TransferLine
from omniretail.inventory.services.ledger import (
    MoveSpec,
    StockLine,
    location_transit,
    location_virtual,
    stock_moves_post,
)
from omniretail.inventory.services.reservations import backorders_fill

SERIES_CODE, SERIES_PREFIX = "inventory-transfer", "TR-"
REFERENCE = "transfer"
NOTE_MAX = 300  # TransferLine.discrepancy_note


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _transition(transfer: Transfer, target: str) -> None:
    if target not in TRANSFER_TRANSITIONS.get(transfer.status, frozenset()):
        allowed = ", ".join(sorted(TRANSFER_TRANSITIONS.get(transfer.status, ()))) or "nothing"
        raise Conflict(
            f"Transfer {transfer.number} is {transfer.status}; it cannot become {target} "
            f"(from {transfer.status} it may become: {allowed}).",
            field="status",
            code="invalid_transition",
        )


def _lock(transfer: Transfer) -> Transfer:
    return (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("from_location", "to_location")
        .get(pk=transfer.pk)
    )


def _sku_codes(sku_ids: set[int]) -> dict[int, str]:
    return dict(Variant.objects.filter(pk__in=sku_ids).values_list("pk", "sku"))


@transaction.atomic
def transfer_create(
    *,
    from_location: Location,
    to_location: Location,
    lines: list[StockLine],
    actor: Actor,
    note: str = "",
) -> Transfer:
    """A draft transfer between two physical locations (warehouses, stores).
    Lines of the same SKU are summed. Needs stock.move in both stores."""
    for field, loc in (("from_location", from_location), ("to_location", to_location)):
        if loc.kind not in Location.PHYSICAL:
            raise ValidationFailed(
                f"{field}: {loc.name} is not a warehouse or store; transfers go between "
                "physical locations.",
                field=field,
            )
        if not loc.active:
            raise ValidationFailed(
                f"{field}: {loc.name} is inactive; reactivate it or choose another location.",
                field=field,
            )
    if from_location.pk == to_location.pk:
        raise ValidationFailed(
            "to_location is the same as from_location; choose two different locations.",
            field="to_location",
        )
    require_in(actor, "stock.move", store_id=from_location.store_id)
    require_in(actor, "stock.move", store_id=to_location.store_id)
    if not lines:
        raise ValidationFailed("A transfer needs at least one line; add a SKU.", field="lines")
    totals: dict[int, int] = defaultdict(int)
    for i, line in enumerate(lines):
        if not _whole(line.quantity) or line.quantity <= 0:
            raise ValidationFailed(
                f"lines[{i}].quantity must be a whole number above 0 (got {line.quantity}).",
                field=f"lines[{i}].quantity",
            )
        totals[line.sku_id] += line.quantity
    codes = _sku_codes(set(totals))
    kits = set(KitComponent.objects.filter(kit_id__in=totals).values_list("kit_id", flat=True))
    for i, line in enumerate(lines):
        if line.sku_id not in codes:
            raise ValidationFailed(
                f"lines[{i}].sku: SKU #{line.sku_id} does not exist; check the code.",
                field=f"lines[{i}].sku",
            )
        if line.sku_id in kits:
            raise ValidationFailed(
                f"lines[{i}].sku: {codes[line.sku_id]} is a kit and holds no stock; transfer "
                "its components instead.",
                field=f"lines[{i}].sku",
            )

    series = series_get_or_create(code=SERIES_CODE, prefix=SERIES_PREFIX)
    numbered = series_take(
        series_id=series.pk,
        fields_for=lambda _n, full, _prev: {
            "number": full,
            "from": from_location.code,
            "to": to_location.code,
            "lines": sorted(totals.items()),
        },
    )
    transfer = Transfer.objects.create(
        number=numbered.full_number,
        from_location=from_location,
        to_location=to_location,
        note=note,
        created_by=actor.label,
    )
    TransferLine.objects.bulk_create(
        [
            TransferLine(transfer=transfer, sku_id=sku_id, quantity=qty)
            for sku_id, qty in sorted(totals.items())
        ]
    )
    audit_record(
        actor=actor,
        action="transfer.create",
        object_type="transfer",
        object_id=transfer.number,
        store_id=from_location.store_id or to_location.store_id,
        reason=note,
        data={
            "from": from_location.code,
            "to": to_location.code,
            "lines": len(totals),
            "units": sum(totals.values()),
        },
    )
    return transfer


@dataclass(frozen=True)
class Shortage:
    sku_id: int
    on_hand: int
    reserved: int
    needed: int


def _shortages(
    location: Location, wanted: Mapping[int, int], *, after_move: bool
) -> list[Shortage]:
    """SKUs of which `location` cannot give `wanted` without taking stock
    that is on hand but held for customers (reserved). With `after_move` the
    levels already have the quantities taken off (and are locked)."""
    levels = {
        sku_id: (on_hand, reserved)
        for sku_id, on_hand, reserved in StockLevel.objects.filter(
            location=location, sku_id__in=list(wanted)
        ).values_list("sku_id", "on_hand", "reserved")
    }
    short: list[Shortage] = []
    for sku_id, qty in sorted(wanted.items()):
        on_hand, reserved = levels.get(sku_id, (0, 0))
        before = on_hand + qty if after_move else on_hand
        if before - reserved < qty:
            short.append(Shortage(sku_id, before, reserved, qty))
    return short


def _short_error(transfer: Transfer, short: list[Shortage]) -> Conflict:
    codes = _sku_codes({s.sku_id for s in short})
    detail = [
        {
            "sku": codes.get(s.sku_id, str(s.sku_id)),
            "on_hand": s.on_hand,
            "reserved": s.reserved,
            "needed": s.needed,
        }
        for s in short
    ]
    first = short[0]
    held = f", {first.reserved} of them held for orders" if first.reserved else ""
    return Conflict(
        f"Transfer {transfer.number} cannot ship: {transfer.from_location.name} has "
        f"{first.on_hand} of {detail[0]['sku']} on hand{held}, {first.needed} to ship. "
        "Receive stock first or lower the transfer quantity.",
        field="lines",
        code="insufficient_stock",
        short=detail,
    )


@transaction.atomic
def transfer_ship(*, transfer: Transfer, actor: Actor) -> Transfer:
    """The goods leave the source: every line moves to the transit location.
    Refused (409) when the source lacks the stock, counting what is already
    held for customers there as not available."""
    transfer = _lock(transfer)
    require_in(actor, "stock.move", store_id=transfer.from_location.store_id)
    _transition(transfer, Transfer.Status.SHIPPED)
    lines = list(transfer.lines.order_by("sku_id"))
    wanted = {line.sku_id: line.quantity for line in lines}
    # A read first for a message naming every short SKU; the check after the
    # moves, on locked rows, is the one that holds under concurrent writers.
    short = _shortages(transfer.from_location, wanted, after_move=False)
    if short:
        raise _short_error(transfer, short)
    transit = location_transit()
    stock_moves_post(
        moves=[
            MoveSpec(line.sku_id, transfer.from_location_id, transit.pk, line.quantity)
            for line in lines
        ],
        actor=actor,
        reference_type=REFERENCE,
        reference_id=transfer.number,
        reason="transfer shipped",
    )
    short = _shortages(transfer.from_location, wanted, after_move=True)
    if short:
        raise _short_error(transfer, short)
    transfer.status = Transfer.Status.SHIPPED
    transfer.shipped_at = timezone.now()
    transfer.save(update_fields=["status", "shipped_at"])
    audit_record(
        actor=actor,
        action="transfer.ship",
        object_type="transfer",
        object_id=transfer.number,
        store_id=transfer.from_location.store_id,
        data={"units": sum(wanted.values()), "lines": len(lines)},
    )
    return transfer


@transaction.atomic
def transfer_receive(
    *,
    transfer: Transfer,
    received: Mapping[int, int],
    actor: Actor,
    close: bool = False,
    note: str = "",
) -> Transfer:
    """Goods arrive at the destination: `received` maps SKU ids to the units
    that arrived now (partial receipts add up). More than is still on the road
    is refused. With `close`, whatever has not arrived is written off as a
    discrepancy (transit → adjustments) and `note` must say why."""
    transfer = _lock(transfer)
    require_in(actor, "stock.move", store_id=transfer.to_location.store_id)
    if transfer.status not in (Transfer.Status.SHIPPED, Transfer.Status.PARTLY_RECEIVED):
        _transition(transfer, Transfer.Status.RECEIVED)  # raises, naming the allowed moves
    lines = {line.sku_id: line for line in transfer.lines.order_by("sku_id")}
    codes = _sku_codes(set(lines) | set(received))
    for sku_id, qty in received.items():
        field = f"received[{codes.get(sku_id, sku_id)}]"
        if sku_id not in lines:
            raise ValidationFailed(
                f"{field}: SKU {codes.get(sku_id, f'#{sku_id}')} is not on transfer "
                f"{transfer.number}; receive it as a supplier delivery or add it in a count.",
                field=field,
            )
        if not _whole(qty) or qty < 0:
            raise ValidationFailed(
                f"{field} must be a whole number of 0 or more (got {qty}).", field=field
            )
        line = lines[sku_id]
        open_qty = line.quantity - line.quantity_received - line.quantity_lost
        if qty > open_qty:
            raise ValidationFailed(
                f"{field}: {qty} received but only {open_qty} of {line.quantity} shipped are "
                "still expected; count again or receive the extra units as a delivery.",
                field=field,
                code="over_receipt",
            )
    arriving = {sku_id: qty for sku_id, qty in sorted(received.items()) if qty > 0}
    if not arriving and not close:
        raise ValidationFailed(
            "Nothing received; enter the units that arrived, or close the transfer.",
            field="received",
        )
    for sku_id, qty in arriving.items():
        lines[sku_id].quantity_received += qty
    missing = {
        sku_id: line.quantity - line.quantity_received - line.quantity_lost
        for sku_id, line in lines.items()
        if close and line.quantity > line.quantity_received + line.quantity_lost
    }
    note = note.strip()
    if missing and not note:
        raise ValidationFailed(
            "note: say why the missing units are written off (e.g. 'damaged in transit', "
            "'not in the delivery').",
            field="note",
        )
    for sku_id, qty in missing.items():
        lines[sku_id].quantity_lost += qty
        lines[sku_id].discrepancy_note = note[:NOTE_MAX]

    transit = location_transit()
    stock_moves_post(
        moves=[
            MoveSpec(sku_id, transit.pk, transfer.to_location_id, qty)
            for sku_id, qty in arriving.items()
        ],
        actor=actor,
        reference_type=REFERENCE,
        reference_id=transfer.number,
        reason="transfer received",
    )
    if missing:
        adjustment = location_virtual(Location.Kind.ADJUSTMENT)
        stock_moves_post(
            moves=[
                MoveSpec(sku_id, transit.pk, adjustment.pk, qty) for sku_id, qty in missing.items()
            ],
            actor=actor,
            reference_type=REFERENCE,
            reference_id=transfer.number,
            reason=f"transfer discrepancy: {note}"[:200],
        )
    TransferLine.objects.bulk_update(
        list(lines.values()), ["quantity_received", "quantity_lost", "discrepancy_note"]
    )

    complete = all(
        line.quantity == line.quantity_received + line.quantity_lost for line in lines.values()
    )
    target = Transfer.Status.RECEIVED if complete else Transfer.Status.PARTLY_RECEIVED
    _transition(transfer, target)
    transfer.status = target
    fields = ["status"]
    if complete:
        transfer.closed_at = timezone.now()
        fields.append("closed_at")
    transfer.save(update_fields=fields)

    store_id = transfer.to_location.store_id
    audit_record(
        actor=actor,
        action="transfer.receive",
        object_type="transfer",
        object_id=transfer.number,
        store_id=store_id,
        reason=note,
        data={
            "received": {codes[s]: q for s, q in arriving.items()},
            "status": target,
        },
    )
    if missing:
        audit_record(
            actor=actor,
            action="transfer.discrepancy",
            object_type="transfer",
            object_id=transfer.number,
            store_id=store_id,
            reason=note,
            data={
                "lost": {codes[s]: q for s, q in missing.items()},
                "units": sum(missing.values()),
            },
        )
    backorders_fill(pairs=[(sku_id, transfer.to_location_id) for sku_id in arriving])
    return transfer


@transaction.atomic
def transfer_cancel(*, transfer: Transfer, actor: Actor, reason: str = "") -> Transfer:
    """Drop a draft (nothing has moved yet). Needs stock.move in both stores,
    like creating it."""
    transfer = _lock(transfer)
    require_in(actor, "stock.move", store_id=transfer.from_location.store_id)
    require_in(actor, "stock.move", store_id=transfer.to_location.store_id)
    _transition(transfer, Transfer.Status.CANCELLED)
    transfer.status = Transfer.Status.CANCELLED
    transfer.closed_at = timezone.now()
    transfer.save(update_fields=["status", "closed_at"])
    audit_record(
        actor=actor,
        action="transfer.cancel",
        object_type="transfer",
        object_id=transfer.number,
        store_id=transfer.from_location.store_id or transfer.to_location.store_id,
        reason=reason,
    )
    return transfer


__all__ = ["transfer_cancel", "transfer_create", "transfer_receive", "transfer_ship"]
