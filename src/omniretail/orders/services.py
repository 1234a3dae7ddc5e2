from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from omniretail.catalog.models import Variant
from omniretail.core.access import Actor
from omniretail.core.models import Channel, Terminal
from omniretail.orders.domain import COMPLETED, PricedLine, Totals
from omniretail.orders.models import Order, OrderLine


class DuplicateExternalId(Exception):
    """The channel already sent an order with this external id."""

    def __init__(self, order: Order) -> None:
        super().__init__(f"order {order.pk} already exists")
        self.order = order


def order_record_carry_out(
    *,
    channel: Channel,
    external_id: str,
    terminal: Terminal | None,
    customer_id: int | None,
    lines: list[PricedLine],
    variants: dict[int, Variant],
    totals: Totals,
    actor: Actor,
) -> Order:
    """Record a sale whose goods leave with the customer at once (a POS sale):
    the order is born completed. Raises DuplicateExternalId when the channel
    already sent this external id, so the caller replays the first result.
    Runs inside the caller's sale transaction (permissions checked there)."""
    try:
        with transaction.atomic():
            order = Order.objects.create(
                channel=channel,
                external_id=external_id,
                store_id=terminal.store_id if terminal else channel.store_id,
                terminal=terminal,
                customer_id=customer_id,
                status=COMPLETED,
                currency=totals.gross.currency,
                total_net=totals.net.amount,
                total_tax=totals.tax.amount,
                total_gross=totals.gross.amount,
                placed_at=timezone.now(),
                created_by=actor.label,
            )
    except IntegrityError:
        existing = Order.objects.filter(channel=channel, external_id=external_id).first()
        if existing is None:
            raise
        raise DuplicateExternalId(existing)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                line_no=i,
                sku_id=line.sku_id,
                description=f"{variants[line.sku_id].product.name} {variants[line.sku_id].name}",
                quantity=line.quantity,
                unit_price=line.unit_price.amount,
                tax_rate=line.tax_rate,
                net=line.net.amount,
                tax=line.tax.amount,
                gross=line.gross.amount,
            )
            for i, line in enumerate(lines, start=1)
        ]
    )
    return order
