"""Orders follow the customer (handlers run in the customers app's
transaction, wired in wiring.py).

- `customer.merged`: the duplicate's orders now belong to the customer kept.
  Returns point at their order, so they follow with it.
- `customer.erased`: refused while an order is open or a return awaits its
  refund (raising rolls the erasure back); otherwise each order's shipping
  address and notification e-mail become placeholders. Order lines, totals
  and the fiscal documents (receipts, invoices: no customer details, hash
  chained) are not touched.
"""

from __future__ import annotations

from omniretail.core.errors import Conflict
from omniretail.core.models import OutboxEvent
from omniretail.customers.domain import erased_address
from omniretail.orders.domain import (
    ALLOCATED,
    CONFIRMED,
    ON_HOLD,
    PARTLY_FULFILLED,
    PENDING_PAYMENT,
)
from omniretail.orders.models import Order, Return

OPEN_STATUSES = (PENDING_PAYMENT, CONFIRMED, ALLOCATED, PARTLY_FULFILLED, ON_HOLD)
SHOWN = 5


def on_customer_merged(event: OutboxEvent) -> None:
    Order.objects.filter(customer_id=int(event.payload["duplicate_id"])).update(
        customer_id=int(event.payload["kept_id"])
    )


def _numbers(ids: list[int] | list[str], prefix: str = "#") -> str:
    shown = ", ".join(f"{prefix}{i}" for i in ids[:SHOWN])
    return shown + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")


def on_customer_erased(event: OutboxEvent) -> None:
    customer_ids = [int(i) for i in event.payload["customer_ids"]]
    orders = Order.objects.filter(customer_id__in=customer_ids)
    still_open = list(
        orders.filter(status__in=OPEN_STATUSES).order_by("pk").values_list("pk", flat=True)
    )
    if still_open:
        raise Conflict(
            f"The customer has open orders ({_numbers(still_open)}); complete or cancel them "
            "before erasing the customer.",
            field="customer",
            open_orders=still_open,
        )
    refunds = list(
        Return.objects.filter(order__customer_id__in=customer_ids, status=Return.Status.ACCEPTED)
        .order_by("pk")
        .values_list("number", flat=True)
    )
    if refunds:
        raise Conflict(
            f"Returns await their refund ({_numbers(refunds, '')}); refund them before erasing "
            "the customer.",
            field="customer",
            pending_returns=refunds,
        )
    changed = []
    for order in orders.only("pk", "shipping_address", "email").order_by("pk"):
        order.shipping_address = erased_address(order.shipping_address or {})
        order.email = ""
        changed.append(order)
    Order.objects.bulk_update(changed, ["shipping_address", "email"], batch_size=500)
