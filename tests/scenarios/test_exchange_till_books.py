"""Exchanges at the Paris till are till sales: Claire swaps her shirt in M for
the L and a fig candle and pays the difference by card; Marc swaps his shirt
for a mug and gets the difference back in cash. Each replacement gets the
next receipt number on the till's series and its own journal entry; the
returned value moves from the old sale to the new one as an exchange credit.
At the end of the day the receipts are gapless, every entry balances, the
drawer holds what the cash sales and refunds say, and `verify` is clean."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.accounting.books_exchanges import EXCHANGE_CREDIT
from omniretail.accounting.models import CreditNote, JournalEntry, JournalLine, Receipt
from omniretail.channels.exchanges import exchange_at_till
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM, Actor
from omniretail.core.errors import DomainError
from omniretail.customers.models import Customer
from omniretail.orders.models import Order, Return
from omniretail.orders.returns import ReturnRequestLine
from omniretail.payments.selectors import drawer_open_session, drawer_totals
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db

D = Decimal


def _sell(shop, lines, cash, customer_id=None) -> Order:
    return pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=lines,
        tenders=[Tender("cash", D(cash))],
        actor=SYSTEM,
        customer_id=customer_id,
    ).order


def _entry(order: Order, description: str) -> dict[str, tuple[Decimal, Decimal]]:
    """One journal entry of an order, as {account: (debit, credit)}."""
    entry = JournalEntry.objects.get(
        reference_type="order", reference_id=str(order.pk), description__startswith=description
    )
    return {
        line.account.code: (line.debit, line.credit)
        for line in JournalLine.objects.filter(entry=entry).select_related("account")
    }


def _balance(code: str) -> Decimal:
    lines = JournalLine.objects.filter(account__code=code)
    return sum((ln.debit - ln.credit for ln in lines), D(0))


def test_exchanges_are_numbered_and_booked_like_till_sales(shop):
    stock_up(shop, {shop.shirt_m: 4, shop.shirt_l: 2, shop.mug: 6, shop.candle: 2})
    cashier = Actor(label="user:amelie", roles={"cashier": frozenset({shop.store.pk})})

    claire = _sell(shop, [SaleLine(1, sku="LS-M")], "50")  # 49.90
    marc_id = Customer.objects.create(first_name="Marc", email="marc@example.com").pk
    marc = _sell(shop, [SaleLine(1, sku="LS-M"), SaleLine(1, sku="MUG-GR")], "70", marc_id)

    # 15:00 — Claire: the L and a candle (67.90) for her M (49.90); 18.00 by card.
    up = exchange_at_till(
        terminal=shop.terminal,
        order=claire,
        return_lines=[ReturnRequestLine(claire.lines.get().pk, 1, reason="too small")],
        replacement_lines=[(shop.shirt_l.pk, 1), (shop.candle.pk, 1)],
        tenders=[Tender("card", D("18.00"), token="tok_visa")],
        actor=cashier,
        client_uuid=uuid.uuid4(),
    )
    assert (str(up.amount_due), str(up.change)) == ("18.00 EUR", "0.00 EUR")
    assert up.receipt is not None
    assert up.receipt.full_number == "R-PT1-000003"
    assert [(p["tender"], p["amount"]) for p in up.receipt.payments] == [
        ("exchange_credit", "49.90"),
        ("card", "18.00"),
    ]
    assert (up.receipt.total_gross, up.receipt.total_net, up.receipt.total_tax) == (
        D("67.90"),
        D("58.64"),
        D("9.26"),
    )
    assert up.receipt.tax_summary == [
        {"rate": "0.0550", "net": "17.06", "tax": "0.94"},
        {"rate": "0.2000", "net": "41.58", "tax": "8.32"},
    ]
    # The card went through the gateway: brand and last four only.
    card = up.replacement.payments.get(tender="card")
    assert (card.amount, card.card_brand, card.card_last4) == (D("18.00"), "visa", "4242")

    # 16:20 — Marc: a second mug (12.50) for his shirt (49.90); 37.40 back in cash.
    down = exchange_at_till(
        terminal=shop.terminal,
        order=marc,
        return_lines=[ReturnRequestLine(marc.lines.get(sku=shop.shirt_m).pk, 1)],
        replacement_lines=[(shop.mug.pk, 1)],
        tenders=[],
        actor=cashier,
        client_uuid=uuid.uuid4(),
    )
    assert str(down.quote.store_refunds) == "37.40 EUR"
    assert down.receipt is not None
    assert down.receipt.full_number == "R-PT1-000004"
    assert [(p["tender"], p["amount"]) for p in down.receipt.payments] == [
        ("exchange_credit", "12.50")
    ]

    # Receipts: gapless on the till's series, a replacement is a sale like the others.
    numbers = list(Receipt.objects.order_by("number").values_list("number", "order_id"))
    assert numbers == [
        (1, claire.pk),
        (2, marc.pk),
        (3, up.replacement.pk),
        (4, down.replacement.pk),
    ]

    # Credit notes on the returned sales: what the exchange credit took from each.
    notes = CreditNote.objects.order_by("pk")
    assert [(n.receipt.order_id, n.total_gross, n.total_net, n.total_tax) for n in notes] == [
        (claire.pk, D("49.90"), D("41.58"), D("8.32")),
        (marc.pk, D("12.50"), D("10.42"), D("2.08")),
    ]

    # The books, entry by entry (debit, credit).
    zero = D(0)
    assert _entry(claire, "Exchange RET-000001") == {
        "4100": (D("41.58"), zero),
        "2100": (D("8.32"), zero),
        EXCHANGE_CREDIT: (zero, D("49.90")),
    }
    assert _entry(up.replacement, "Sale R-PT1-000003") == {
        EXCHANGE_CREDIT: (D("49.90"), zero),
        "1100": (D("18.00"), zero),
        "4000": (zero, D("58.64")),
        "2100": (zero, D("9.26")),
        "5000": (D("20.00"), zero),
        "1300": (zero, D("20.00")),
    }
    assert _entry(marc, "Exchange RET-000002") == {
        "4100": (D("10.42"), zero),
        "2100": (D("2.08"), zero),
        EXCHANGE_CREDIT: (zero, D("12.50")),
    }
    assert _entry(down.replacement, "Sale R-PT1-000004") == {
        EXCHANGE_CREDIT: (D("12.50"), zero),
        "4000": (zero, D("10.42")),
        "2100": (zero, D("2.08")),
        "5000": (D("10.00"), zero),
        "1300": (zero, D("10.00")),
    }
    # Marc's difference: the till refund as before (revenue and VAT back, cash out).
    refund = JournalEntry.objects.get(reference_type="refund")
    assert {
        ln.account.code: (ln.debit, ln.credit) for ln in refund.lines.select_related("account")
    } == {"4100": (D("31.17"), zero), "2100": (D("6.23"), zero), "1000": (zero, D("37.40"))}
    # The returned goods' cost back into stock (10.00 each), once per return.
    for order in (claire, marc):
        assert _entry(order, "Return RET-") == {
            "1300": (D("10.00"), zero),
            "5000": (zero, D("10.00")),
        }

    # Every entry balances; the exchange credit passes through 2330 and leaves it at zero.
    for entry in JournalEntry.objects.all():
        lines = list(entry.lines.all())
        assert sum(ln.debit for ln in lines) == sum(ln.credit for ln in lines), entry.description
    assert _balance(EXCHANGE_CREDIT) == zero
    assert _balance("1100") == D("18.00")
    # Revenue kept: Claire's L and candle (58.64 net), Marc's mug and mug (20.84 net), less
    # the cent the till refund's proportional tax leaves on 4100.
    assert -(_balance("4000") + _balance("4100")) == D("58.64") + D("20.83")

    # The drawer: the 100.00 float, both sales in cash, Marc's 37.40 out; the card is not cash.
    session = drawer_open_session(terminal_id=shop.terminal.pk)
    assert session is not None
    totals = drawer_totals(session=session)
    assert (totals.cash_sales, totals.cash_refunds) == (D("112.30"), D("37.40"))
    assert totals.expected_cash == D("174.90")
    assert _balance("1000") == D("112.30") - D("37.40")

    assert verify_all()[0] == []


def test_a_declined_card_leaves_the_exchange_undone(shop):
    stock_up(shop, {shop.shirt_m: 2, shop.shirt_l: 2, shop.candle: 2})
    claire = _sell(shop, [SaleLine(1, sku="LS-M")], "50")
    with pytest.raises(DomainError) as declined:
        exchange_at_till(
            terminal=shop.terminal,
            order=claire,
            return_lines=[ReturnRequestLine(claire.lines.get().pk, 1)],
            replacement_lines=[(shop.shirt_l.pk, 1), (shop.candle.pk, 1)],
            tenders=[Tender("card", D("18.00"), token="tok_chargeDeclined")],
            actor=Actor(label="user:amelie", roles={"cashier": frozenset({shop.store.pk})}),
            client_uuid=uuid.uuid4(),
        )
    assert declined.value.code == "card_declined"
    # Nothing happened: no return, no replacement, no receipt, no credit note.
    assert not Return.objects.exists()
    assert Order.objects.count() == 1
    assert Receipt.objects.count() == 1
    assert not CreditNote.objects.exists()
    assert verify_all()[0] == []
