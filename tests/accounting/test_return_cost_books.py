"""Goods returned to stock take their cost back out of cost of goods sold:
Dr 1300 inventory / Cr 5000 at the value the stock ledger brought back, in
the return's transaction, once. Scrapped returns leave inventory as it was
(the write-off is the store's shrinkage). The journal's inventory account
follows the stock ledger through every step."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from omniretail.accounting.books_returns import on_return_accepted
from omniretail.accounting.models import JournalEntry, JournalLine
from omniretail.accounting.reports import sales_by_channel
from omniretail.accounting.verify import inventory_ledger_value, verify_inventory_account
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM, Actor
from omniretail.core.models import OutboxEvent
from omniretail.customers.models import Customer
from omniretail.fulfilment.shipping import shipment_pack, shipment_ship, shipments_create
from omniretail.inventory.models import Location, StockMove
from omniretail.inventory.selectors import stock_value_by_location
from omniretail.inventory.services import ReceiveLine, stock_receive
from omniretail.orders.models import Order
from omniretail.orders.returns import ReturnRequestLine, return_accept
from omniretail.verify import verify_all
from tests.conftest import stock_up
from tests.fulfilment.conftest import place, walter, web  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
D = Decimal
CENT = D("0.01")


def balance(code: str) -> Decimal:
    """Debits − credits of an account over the whole journal."""
    total = D(0)
    for debit, credit in JournalLine.objects.filter(account__code=code).values_list(
        "debit", "credit"
    ):
        total += debit - credit
    return total.quantize(CENT)


def inventory_less_purchases() -> Decimal:
    """1300 without the receipts' entries (Dr 1300 / Cr 2050, checked in
    test_purchase_books): what the sales, returns and write-offs put there."""
    return balance("1300") + balance("2050")


def stock_value_less_purchases() -> Decimal:
    """On hand × average cost everywhere, less what came in from suppliers:
    what 1300 holds besides the receipts' entries."""
    on_hand = sum(stock_value_by_location().values(), D(0))
    received = sum(
        (
            q * c
            for q, c in StockMove.objects.filter(
                from_location__kind=Location.Kind.SUPPLIER
            ).values_list("quantity", "unit_cost")
        ),
        D(0),
    )
    return (on_hand - received).quantize(CENT)


def entries(order: Order) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The cost side of an order's sub-ledger: the entries with 1300/5000 lines."""
    result = []
    for e in JournalEntry.objects.filter(
        reference_type="order", reference_id=str(order.pk)
    ).order_by("pk"):
        lines = sorted(
            (ln.account.code, str(ln.debit), str(ln.credit))
            for ln in e.lines.filter(account__code__in=["1300", "5000"])
        )
        if lines:
            result.append((e.description, lines))
    return result


def _cashier(store_id: int) -> Actor:
    return Actor(label="user:amelie", roles={"cashier": frozenset({store_id})})


def _till_sale(shop, quantity: int) -> Order:
    customer, _ = Customer.objects.get_or_create(
        email="lea@example.com", defaults={"first_name": "Léa"}
    )
    return pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(quantity, sku="MUG-GR")],
        tenders=[Tender("cash", D("200"))],
        actor=SYSTEM,
        customer_id=customer.pk,
    ).order


def _margin(shop, channel_code: str):
    today = timezone.localdate()
    report = sales_by_channel(actor=SYSTEM, date_from=today, date_to=today)
    [row] = [c for c in report.channels if c.channel_code == channel_code]
    return row.total


def test_a_till_sale_returned_to_the_shelf_takes_its_cost_back(shop):
    stock_up(shop, {shop.mug: 10})  # 10 mugs at 10.00
    sale = _till_sale(shop, 3)  # 3 × 12.50
    assert (inventory_less_purchases(), balance("5000")) == (D("-30.00"), D("30.00"))

    ret = return_accept(
        order=sale,
        lines=[ReturnRequestLine(sale.lines.get().pk, 2, "restock", "gift duplicate")],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=_cashier(shop.store.pk),
    )

    # 9 mugs on the shelf at 10.00; the books kept the cost of the one sold.
    assert (inventory_less_purchases(), balance("5000"), balance("5100")) == (
        D("-10.00"),
        D("10.00"),
        D("0.00"),
    )
    assert stock_value_less_purchases() == D("-10.00") == inventory_less_purchases()
    assert entries(sale) == [
        (
            f"Sale {sale.receipt.full_number}",
            [("1300", "0.00", "30.00"), ("5000", "30.00", "0.00")],
        ),
        (
            f"Return {ret.number}: goods back at cost",
            [
                ("1300", "20.00", "0.00"),
                ("5000", "0.00", "20.00"),
            ],
        ),
    ]
    entry = JournalEntry.objects.get(description=f"Return {ret.number}: goods back at cost")
    assert (entry.channel_id, entry.store_id) == (sale.channel_id, sale.store_id)

    # The margin: 31.25 net sold, 20.83 refunded; cost 30.00 − 20.00.
    figures = _margin(shop, shop.pos_channel.code)
    assert (figures.net_sales, figures.cogs, figures.gross_margin) == (
        D("10.42"),
        D("10.00"),
        D("0.42"),
    )

    # The event replayed books nothing more.
    event = OutboxEvent.objects.get(name="return.accepted")
    count = JournalEntry.objects.count()
    on_return_accepted(event)
    assert JournalEntry.objects.count() == count
    assert balance("5000") == D("10.00")

    assert verify_inventory_account()[0] == []
    assert verify_all()[0] == []


def test_the_cost_comes_back_at_the_average_of_the_day_of_the_return(shop):
    """The stock ledger takes the mug back at today's average cost: the books
    follow it, not the cost of the day it was sold."""
    stock_up(shop, {shop.mug: 2})  # at 10.00
    sale = _till_sale(shop, 2)
    stock_receive(
        location=shop.floor,
        lines=[ReceiveLine(shop.mug.pk, 3, D("13.00"))],
        actor=SYSTEM,
        reference="DN-2",
    )  # the shelf was empty: the average is now 13.00
    return_accept(
        order=sale,
        lines=[ReturnRequestLine(sale.lines.get().pk, 1)],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=_cashier(shop.store.pk),
    )
    assert (inventory_less_purchases(), balance("5000")) == (D("-7.00"), D("7.00"))
    assert stock_value_less_purchases() == D("-7.00")  # 4 × 13.00 − (20.00 + 39.00)
    assert verify_all()[0] == []


def test_a_scrapped_return_leaves_inventory_as_it_was_and_counts_its_cost_once(shop):
    stock_up(shop, {shop.mug: 10})
    sale = _till_sale(shop, 3)

    ret = return_accept(
        order=sale,
        lines=[ReturnRequestLine(sale.lines.get().pk, 2, "scrap", "chipped")],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=_cashier(shop.store.pk),
    )

    # Back and straight to scrap: 7 on the shelf, 1300 as after the sale. The
    # two chipped mugs' 20.00 are the Paris store's shrinkage (as before), so
    # cost of goods sold keeps only the mug the customer kept: 30.00 once.
    assert (inventory_less_purchases(), balance("5000"), balance("5100")) == (
        D("-30.00"),
        D("10.00"),
        D("20.00"),
    )
    assert stock_value_less_purchases() == D("-30.00") == inventory_less_purchases()
    shrinkage = JournalEntry.objects.get(reference_type="return", reference_id=ret.number)
    assert sorted((ln.account.code, ln.debit, ln.credit) for ln in shrinkage.lines.all()) == [
        ("1300", D("0.00"), D("20.00")),
        ("5100", D("20.00"), D("0.00")),
    ]
    assert verify_all()[0] == []


def test_a_mixed_return_books_each_unit_once(shop):
    stock_up(shop, {shop.mug: 10})
    sale = _till_sale(shop, 4)
    line = sale.lines.get()
    return_accept(
        order=sale,
        lines=[ReturnRequestLine(line.pk, 1, "restock"), ReturnRequestLine(line.pk, 2, "scrap")],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=_cashier(shop.store.pk),
    )
    # 10 − 4 + 1 on the shelf = 70.00; 1 kept (5000), 2 scrapped (5100).
    assert (inventory_less_purchases(), balance("5000"), balance("5100")) == (
        D("-30.00"),
        D("10.00"),
        D("20.00"),
    )
    assert stock_value_less_purchases() == D("-30.00")
    assert verify_all()[0] == []


def test_a_web_order_returned_at_the_counter_between_two_parcels(shop, web, place, walter):  # noqa: F811
    """Léa's mugs come from the warehouse and Paris in two parcels; she brings
    the first mug back to the Paris counter before the second leaves. The
    second invoice books only its own mug's cost, not the returned one's again."""
    stock_up(shop, {shop.mug: 1, shop.candle: 1}, location=shop.warehouse)
    stock_up(shop, {shop.mug: 3})  # Paris keeps 1 back for walk-ins
    order = place([(shop.mug, 2), (shop.candle, 1)])
    [first] = shipments_create(order=order, actor=walter, location=shop.warehouse)
    shipment_pack(shipment=first, actor=walter)
    shipment_ship(shipment=first, carrier="DHL", tracking_number="P1", actor=walter)
    assert (inventory_less_purchases(), balance("5000")) == (D("-20.00"), D("20.00"))

    mugs = order.lines.get(sku=shop.mug)
    ret = return_accept(
        order=order,
        lines=[ReturnRequestLine(mugs.pk, 1, "restock", "one is enough")],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=_cashier(shop.store.pk),
        refund_method="store_credit",
    )
    assert (inventory_less_purchases(), balance("5000")) == (D("-10.00"), D("10.00"))
    assert stock_value_less_purchases() == D("-10.00")

    [second] = shipments_create(order=order, actor=walter, location=shop.floor)
    shipment_pack(shipment=second, actor=walter)
    shipment_ship(shipment=second, carrier="DHL", tracking_number="P2", actor=walter)

    # Shipped 3 (30.00), 1 back (10.00): the books hold 20.00 of cost.
    assert (inventory_less_purchases(), balance("5000")) == (D("-20.00"), D("20.00"))
    assert stock_value_less_purchases() == D("-20.00")
    invoices = [d for d, _ in entries(order) if d.startswith("Invoice")]
    assert entries(order) == [
        (invoices[0], [("1300", "0.00", "20.00"), ("5000", "20.00", "0.00")]),
        (
            f"Return {ret.number}: goods back at cost",
            [
                ("1300", "10.00", "0.00"),
                ("5000", "0.00", "10.00"),
            ],
        ),
        (invoices[1], [("1300", "0.00", "10.00"), ("5000", "10.00", "0.00")]),
    ]
    assert verify_all()[0] == []


def test_verify_names_a_return_whose_cost_was_not_booked(shop):
    stock_up(shop, {shop.mug: 10})
    sale = _till_sale(shop, 3)
    return_accept(
        order=sale,
        lines=[ReturnRequestLine(sale.lines.get().pk, 2)],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=_cashier(shop.store.pk),
    )
    JournalLine.objects.filter(entry__description__startswith="Return ").delete()
    JournalEntry.objects.filter(description__startswith="Return ").delete()

    # 10 mugs came in at 10.00; 3 sold, 2 back: the ledger moved 90.00 in.
    assert inventory_ledger_value() == D("90.0000")
    assert verify_inventory_account()[0] == [
        "inventory: the journal's 1300 holds 70.00 but the stock ledger moved 90.00 in and "
        "out of stock"
    ]
