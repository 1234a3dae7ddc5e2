"""`omni manage reorder_propose [--location CODE ...] [--dry-run]`: print the
reorder proposals and (unless --dry-run) create the draft purchase orders."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omniretail.core.access import SYSTEM
from omniretail.core.errors import DomainError
from omniretail.inventory.models import Location
from omniretail.inventory.selectors_purchasing import Proposal, reorder_proposals
from omniretail.inventory.services.purchasing import purchase_orders_propose

COLUMNS = (
    ("supplier", "<"),
    ("location", "<"),
    ("sku", "<"),
    ("on hand", ">"),
    ("reserved", ">"),
    ("backordered", ">"),
    ("on order", ">"),
    ("reorder point", ">"),
    ("proposed", ">"),
    ("unit cost", ">"),
)


def proposals_table(proposals: list[Proposal]) -> list[str]:
    """The proposals as aligned text rows, a header first."""
    rows = [[name for name, _ in COLUMNS]]
    for p in proposals:
        for ln in p.lines:
            rows.append(
                [
                    p.supplier_code,
                    p.location_code,
                    ln.sku,
                    str(ln.on_hand),
                    str(ln.reserved),
                    str(ln.backordered),
                    str(ln.on_order),
                    str(ln.reorder_point),
                    str(ln.quantity),
                    str(ln.unit_cost),
                ]
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return [
        "  ".join(
            f"{cell:{align}{width}}"
            for cell, (_, align), width in zip(row, COLUMNS, widths, strict=True)
        ).rstrip()
        for row in rows
    ]


class Command(BaseCommand):
    help = (
        "List reorder proposals (SKUs at or below their reorder point) and create one draft "
        "purchase order per supplier and location."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--location",
            action="append",
            default=[],
            metavar="CODE",
            help="Only this location (repeat for several); default: every location",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only print the proposals; create nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        codes: list[str] = options["location"]
        location_ids: list[int] | None = None
        if codes:
            found = dict(Location.objects.filter(code__in=codes).values_list("code", "pk"))
            missing = [c for c in codes if c not in found]
            if missing:
                raise CommandError(
                    f"No location {', '.join(missing)}; use location codes (e.g. wh-main)."
                )
            location_ids = sorted(set(found.values()))
        proposals = reorder_proposals(location_ids=location_ids)
        if not proposals:
            self.stdout.write("Nothing to order: every SKU is above its reorder point.")
            return
        for row in proposals_table(proposals):
            self.stdout.write(row)
        lines = sum(len(p.lines) for p in proposals)
        units = sum(p.units for p in proposals)
        self.stdout.write(
            f"{len(proposals)} purchase order(s) proposed: {lines} line(s), {units} unit(s)."
        )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing created.")
            return
        try:
            orders = purchase_orders_propose(actor=SYSTEM, location_ids=location_ids)
        except DomainError as exc:
            raise CommandError(exc.message)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {len(orders)} draft purchase order(s): "
                + ", ".join(o.number for o in orders)
            )
        )
