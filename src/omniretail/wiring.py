"""Event -> handler table: how a lower layer reaches a higher one.

IN_TRANSACTION handlers run inside the transaction that publishes the event
(journal entries, fiscal numbering): if they fail, the cause rolls back too.
AFTER_COMMIT handlers run from the outbox after commit, at least once, with
retries (webhooks, feeds, live updates); they must be idempotent.
PERIODIC jobs run in `omni worker` every sweep interval; each is idempotent.
"""

from collections.abc import Callable

from omniretail.accounting.services import on_sale_completed, on_stock_adjusted
from omniretail.channels.notifications import (
    on_order_placed,
    on_order_status_changed,
    on_pickup_ready,
    on_refund_requested,
    on_shipment_shipped,
)
from omniretail.core.events import outbox_sweep
from omniretail.fulfilment.services import on_backorders_filled
from omniretail.fulfilment.shipping import pickups_expire
from omniretail.inventory.services import reservations_expire

IN_TRANSACTION = {
    "sale.completed": [on_sale_completed],
    "stock.adjusted": [on_stock_adjusted],
}

# Customer e-mails: each handler dedupes by event (or order) id.
AFTER_COMMIT: dict[str, list] = {
    "order.placed": [on_order_placed],
    "order.status_changed": [on_order_status_changed],
    "pickup.ready": [on_pickup_ready],
    "shipment.shipped": [on_shipment_shipped],
    "refund.requested": [on_refund_requested],
    # A confirmed order whose backorders are all filled becomes allocated.
    "backorder.filled": [on_backorders_filled],
}

PERIODIC: list[tuple[str, Callable[[], int]]] = [
    ("outbox events delivered", outbox_sweep),
    ("expired reservations released", reservations_expire),
    ("pick-ups expired (not collected)", pickups_expire),
]
