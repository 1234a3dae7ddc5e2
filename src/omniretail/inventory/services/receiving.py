"""Goods arriving from suppliers (without a purchase order: a delivery note)."""

from __future__ import annotations

from django.db import transaction

from omniretail.core.access import Actor, require_in
from omniretail.core.audit import audit_record
from omniretail.core.errors import ValidationFailed
from omniretail.inventory.models import Location
from omniretail.inventory.services.ledger import (
    MoveSpec,
    StockLine,
    location_virtual,
    stock_moves_post,
)
from omniretail.inventory.services.reservations import backorders_fill


@transaction.atomic
def stock_receive(
    *, location: Location, lines: list[StockLine], actor: Actor, reference: str = ""
) -> int:
    """Goods arrive from a supplier into a warehouse or store, at their unit
    cost (moving average). Waiting backorders are filled. Returns units."""
    if location.kind not in Location.PHYSICAL:
        raise ValidationFailed(
            f"{location.name} is not a warehouse or store; receive into a physical location.",
            field="location",
        )
    require_in(actor, "stock.receive", store_id=location.store_id)
    supplier = location_virtual(Location.Kind.SUPPLIER)
    stock_moves_post(
        moves=[
            MoveSpec(line.sku_id, supplier.pk, location.pk, line.quantity, line.unit_cost)
            for line in lines
        ],
        actor=actor,
        reference_type="delivery",
        reference_id=reference,
        reason="received from supplier",
    )
    backorders_fill(pairs=[(line.sku_id, location.pk) for line in lines])
    units = sum(line.quantity for line in lines)
    audit_record(
        actor=actor,
        action="stock.receive",
        object_type="location",
        object_id=location.pk,
        store_id=location.store_id,
        data={"reference": reference, "lines": len(lines), "units": units},
    )
    return units
