"""The cost of returned goods (`return.accepted`, published by orders.returns).

A sale books the cost of the goods that left (Dr 5000 cost of goods sold /
Cr 1300 inventory, from the stock moves' unit cost). When goods come back,
the stock ledger takes them back from the customer at the moving average cost
of the moment; the books follow with the same value: Dr 1300 / Cr 5000, in
the return's transaction, referenced `order`/<id> like the sale's cost, so an
order's cost of goods sold is the cost of what the customer kept.

Goods scrapped on return come back first and then leave for scrap (two moves
in the ledger): their cost comes back here like the rest, and the write-off
is booked as the store's shrinkage (Dr 5100 / Cr 1300) from `stock.adjusted`
(services.on_stock_adjusted). Inventory is unchanged by them; their cost moves
from cost of goods sold to shrinkage, counted once.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from omniretail.accounting.domain import COST_OF_GOODS_SOLD, INVENTORY, Posting
from omniretail.accounting.models import JournalEntry
from omniretail.accounting.services import journal_post
from omniretail.core.models import OutboxEvent
from omniretail.inventory.models import Location, StockMove
from omniretail.orders.models import Order, Return
from omniretail.orders.returns import REFERENCE as RETURN_REFERENCE

ZERO = Decimal(0)
CENT = Decimal("0.01")


def return_costs(*, numbers: list[str]) -> dict[str, Decimal]:
    """Per return number: the value of what came back from the customer, at
    the unit cost the stock ledger gave each move, to the cent."""
    totals: dict[str, Decimal] = {}
    moves = StockMove.objects.filter(
        reference_type=RETURN_REFERENCE,
        reference_id__in=numbers,
        from_location__kind=Location.Kind.CUSTOMER,
        unit_cost__isnull=False,
    ).values_list("reference_id", "quantity", "unit_cost")
    for number, quantity, unit_cost in moves:
        totals[number] = totals.get(number, ZERO) + quantity * (unit_cost or ZERO)
    return {number: value.quantize(CENT) for number, value in totals.items()}


def order_returned_cost(*, order_id: int) -> Decimal:
    """The cost taken back out of cost of goods sold for an order's returns
    (each return's value to the cent, as booked)."""
    numbers = list(Return.objects.filter(order_id=order_id).values_list("number", flat=True))
    if not numbers:
        return ZERO
    return sum(return_costs(numbers=numbers).values(), ZERO)


def _description(number: str) -> str:
    return f"Return {number}: goods back at cost"


def return_cost_book(*, return_number: str, order_id: int) -> JournalEntry | None:
    """Dr 1300 inventory / Cr 5000 cost of goods sold for the goods of one
    return, once: a replayed event finds the entry and books nothing. None
    when nothing of value came back (no cost known yet) or already booked."""
    reference_id = str(order_id)
    description = _description(return_number)
    if JournalEntry.objects.filter(
        reference_type="order", reference_id=reference_id, description=description
    ).exists():
        return None
    cost = return_costs(numbers=[return_number]).get(return_number, ZERO)
    if not cost:
        return None
    order = Order.objects.only("currency", "channel_id", "store_id").get(pk=order_id)
    return journal_post(
        date=timezone.localdate(),
        description=description,
        reference_type="order",
        reference_id=reference_id,
        currency=order.currency,
        postings=[Posting(INVENTORY, debit=cost), Posting(COST_OF_GOODS_SOLD, credit=cost)],
        # The sale's channel and store, like the refund: their margin nets out.
        channel_id=order.channel_id,
        store_id=order.store_id,
    )


def on_return_accepted(event: OutboxEvent) -> None:
    """In-transaction handler of `return.accepted`: the returned goods' cost
    back into inventory (see return_cost_book)."""
    return_cost_book(return_number=event.payload["number"], order_id=event.payload["order_id"])
