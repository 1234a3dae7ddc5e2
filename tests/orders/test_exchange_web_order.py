"""A web order exchanged at a till: the exchange credit is credited on the web
order's invoice (like a refund would be), the replacement is a till sale with
its receipt; the difference is paid with a gift card, or refunded on the card
the web order was paid with."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.accounting.books_exchanges import EXCHANGE_CREDIT
from omniretail.accounting.models import CreditNote, JournalEntry, JournalLine, Receipt
from omniretail.channels.exchanges import exchange_at_till
from omniretail.channels.pos.services import Tender
from omniretail.core.access import SYSTEM, Actor
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import GiftCard
from omniretail.loyalty.services import giftcard_issue
from omniretail.orders.returns import ReturnRequestLine
from omniretail.verify import verify_all
from tests.conftest import stock_up
from tests.pos.web_orders import web_channel, web_order_shipped

pytestmark = pytest.mark.django_db

D = Decimal
ZERO = D(0)


def _lines(description: str) -> dict[str, tuple[Decimal, Decimal]]:
    entry = JournalEntry.objects.get(description__startswith=description)
    return {
        ln.account.code: (ln.debit, ln.credit)
        for ln in JournalLine.objects.filter(entry=entry).select_related("account")
    }


def test_a_web_order_exchanged_at_the_till(shop):
    key = web_channel(shop)
    order, _ = web_order_shipped(shop, key, external_id="W-1", lines=[("LS-M", 1), ("MUG-GR", 1)])
    stock_up(shop, {shop.shirt_l: 2, shop.candle: 2, shop.mug: 2})
    cashier = Actor(label="user:amelie", roles={"cashier": frozenset({shop.store.pk})})
    card, code = giftcard_issue(
        amount=D("30.00"),
        currency="EUR",
        reference=Reference("test", "gift"),
        actor=SYSTEM,
        sold=False,
        reason="goodwill",
    )

    # The shirt (49.90) for the L and a candle (67.90): 18.00 off the gift card.
    up = exchange_at_till(
        terminal=shop.terminal,
        order=order,
        return_lines=[ReturnRequestLine(order.lines.get(sku=shop.shirt_m).pk, 1)],
        replacement_lines=[(shop.shirt_l.pk, 1), (shop.candle.pk, 1)],
        tenders=[Tender("gift_card", D("18.00"), code=code)],
        actor=cashier,
        client_uuid=uuid.uuid4(),
    )
    assert up.receipt is not None
    assert up.receipt.full_number == "R-PT1-000001"
    assert GiftCard.objects.get(pk=card.pk).balance == D("12.00")
    note = CreditNote.objects.get(order=order)
    assert (note.invoice_id is not None, note.total_gross, note.total_net, note.total_tax) == (
        True,
        D("49.90"),
        D("41.58"),
        D("8.32"),
    )
    assert _lines("Exchange credit of RET-000001") == {
        "4100": (D("41.58"), ZERO),
        "2100": (D("8.32"), ZERO),
        EXCHANGE_CREDIT: (ZERO, D("49.90")),
    }
    assert _lines("Sale R-PT1-000001") == {
        EXCHANGE_CREDIT: (D("49.90"), ZERO),
        "2300": (D("18.00"), ZERO),
        "4000": (ZERO, D("58.64")),
        "2100": (ZERO, D("9.26")),
        "5000": (D("20.00"), ZERO),
        "1300": (ZERO, D("20.00")),
    }

    # The mug (12.50) for another mug: even, all of it exchange credit.
    even = exchange_at_till(
        terminal=shop.terminal,
        order=order,
        return_lines=[ReturnRequestLine(order.lines.get(sku=shop.mug).pk, 1)],
        replacement_lines=[(shop.mug.pk, 1)],
        tenders=[],
        actor=cashier,
        client_uuid=uuid.uuid4(),
    )
    assert even.receipt is not None
    assert even.receipt.full_number == "R-PT1-000002"
    assert list(Receipt.objects.order_by("number").values_list("number", flat=True)) == [1, 2]

    credit = JournalLine.objects.filter(account__code=EXCHANGE_CREDIT)
    assert sum((ln.debit - ln.credit for ln in credit), ZERO) == ZERO


def test_a_web_order_exchanged_for_cheaper_goods_refunds_the_card(shop):
    key = web_channel(shop)
    order, payment = web_order_shipped(shop, key, external_id="W-2", lines=[("LS-M", 1)])
    stock_up(shop, {shop.mug: 2})
    cashier = Actor(label="user:amelie", roles={"cashier": frozenset({shop.store.pk})})

    down = exchange_at_till(
        terminal=shop.terminal,
        order=order,
        return_lines=[ReturnRequestLine(order.lines.get().pk, 1)],
        replacement_lines=[(shop.mug.pk, 1)],
        tenders=[],
        actor=cashier,
        client_uuid=uuid.uuid4(),
    )
    assert str(down.quote.store_refunds) == "37.40 EUR"
    payment.refresh_from_db()
    assert payment.refunded_amount == D("37.40")
    # The invoice is credited in full: 12.50 by the exchange credit, 37.40 by the refund.
    notes = CreditNote.objects.filter(order=order).order_by("pk")
    assert sum((n.total_gross for n in notes), ZERO) == D("49.90")
    assert _lines("Exchange credit of RET-000001")[EXCHANGE_CREDIT] == (ZERO, D("12.50"))
    assert _lines("Sale R-PT1-000001") == {
        EXCHANGE_CREDIT: (D("12.50"), ZERO),
        "4000": (ZERO, D("10.42")),
        "2100": (ZERO, D("2.08")),
        "5000": (D("10.00"), ZERO),
        "1300": (ZERO, D("10.00")),
    }
    credit = JournalLine.objects.filter(account__code=EXCHANGE_CREDIT)
    assert sum((ln.debit - ln.credit for ln in credit), ZERO) == ZERO


def test_verify_counts_the_exchange_credit_a_web_order_gave(shop):
    key = web_channel(shop)
    order, _ = web_order_shipped(shop, key, external_id="W-3", lines=[("LS-M", 1)])
    stock_up(shop, {shop.shirt_l: 1})
    exchange_at_till(
        terminal=shop.terminal,
        order=order,
        return_lines=[ReturnRequestLine(order.lines.get().pk, 1)],
        replacement_lines=[(shop.shirt_l.pk, 1)],
        tenders=[],
        actor=Actor(label="user:amelie", roles={"cashier": frozenset({shop.store.pk})}),
        client_uuid=uuid.uuid4(),
    )
    assert verify_all()[0] == []
