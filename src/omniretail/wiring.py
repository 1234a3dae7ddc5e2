"""Event -> handler table: how a lower layer reaches a higher one.

IN_TRANSACTION handlers run inside the transaction that publishes the event
(journal entries, fiscal numbering): if they fail, the cause rolls back too.
AFTER_COMMIT handlers run from the outbox after commit, at least once, with
retries (webhooks, feeds, live updates); they must be idempotent.
PERIODIC jobs run in `omni worker` every sweep interval; each is idempotent.
"""

from collections.abc import Callable

from omniretail.accounting.books_exchanges import on_exchange_completed
from omniretail.accounting.books_loyalty import (
    on_giftcard_issued,
    on_giftcard_voided,
    on_giftcards_expired,
    on_points_adjusted,
    on_points_earned,
    on_points_expired,
    on_points_reversed,
    on_store_credit_issued,
)
from omniretail.accounting.books_orders import (
    on_order_status_changed as books_on_order_status_changed,
)
from omniretail.accounting.books_orders import (
    on_payment_captured,
    on_payment_received,
    on_payment_refunded,
)
from omniretail.accounting.books_orders import (
    on_shipment_shipped as books_on_shipment_shipped,
)
from omniretail.accounting.books_payments import on_drawer_closed, on_drawer_paid
from omniretail.accounting.books_purchases import on_stock_purchased
from omniretail.accounting.books_refunds import on_refund_completed
from omniretail.accounting.books_returns import on_return_accepted
from omniretail.accounting.closings import closings_yesterday
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
from omniretail.loyalty.services import giftcards_expire, points_expire
from omniretail.payments.gateways.test import gateway_test_sweep
from omniretail.payments.refunds import on_refund_requested as pay_refund_requested

IN_TRANSACTION = {
    "sale.completed": [on_sale_completed],
    "stock.adjusted": [on_stock_adjusted],
    "stock.purchased": [on_stock_purchased],
    # Loyalty liabilities outside a sale (the tender side is booked by the sale/refund).
    "loyalty.points_earned": [on_points_earned],
    "loyalty.points_reversed": [on_points_reversed],
    "loyalty.points_expired": [on_points_expired],
    "loyalty.points_adjusted": [on_points_adjusted],
    "loyalty.giftcard_issued": [on_giftcard_issued],
    "loyalty.giftcard_voided": [on_giftcard_voided],
    "loyalty.giftcards_expired": [on_giftcards_expired],
    "loyalty.store_credit_issued": [on_store_credit_issued],
    # Cash drawers: paid in / paid out and over/short at closing.
    "drawer.paid": [on_drawer_paid],
    "drawer.closed": [on_drawer_closed],
    # Non-till orders: invoice what left and book it; card money in and out.
    "order.status_changed": [books_on_order_status_changed],
    "shipment.shipped": [books_on_shipment_shipped],
    "payment.captured": [on_payment_captured],
    "payment.card_authorised": [on_payment_captured],
    "payment.refunded": [on_payment_refunded],
    "payment.received": [on_payment_received],
    # A return or a cancellation after payment: the refund is carried out with
    # it (payments), then booked (till sales here; other orders by their invoices).
    "refund.requested": [pay_refund_requested],
    "refund.completed": [on_refund_completed],
    # Goods back from a customer: their cost back into inventory (Dr 1300 / Cr 5000).
    "return.accepted": [on_return_accepted],
    # An exchange at a till: the returned sale's credit note, the replacement's
    # receipt and entry, the exchange credit between them.
    "exchange.completed": [on_exchange_completed],
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
    ("loyalty point lots expired", points_expire),
    ("gift cards expired", giftcards_expire),
    ("test gateway webhooks redelivered", gateway_test_sweep),
    ("days (months, years) closed", closings_yesterday),
]

# Customers: a merge moves the duplicate's orders, points and store credit to
# the customer kept; an erasure anonymises the orders (or refuses: open orders).
from omniretail.loyalty.services.merge import (  # noqa: E402
    on_customer_merged as loyalty_follow_merge,
)
from omniretail.orders.customer_merge import (  # noqa: E402
    on_customer_erased as orders_follow_erasure,
)
from omniretail.orders.customer_merge import (  # noqa: E402
    on_customer_merged as orders_follow_merge,
)

IN_TRANSACTION["customer.merged"] = [orders_follow_merge, loyalty_follow_merge]
IN_TRANSACTION["customer.erased"] = [orders_follow_erasure]
