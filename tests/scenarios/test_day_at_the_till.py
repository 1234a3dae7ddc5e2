"""A day at a till, whole: the drawer opens with a float, sales are paid in
cash and by card, the window cleaner is paid out of the drawer, a customer
brings a mug back for cash, the X report shows it all, the drawer is counted
2.00 short at closing, and the Z report carries the day's totals by tender.
Every journal entry balances and `omni verify` is clean."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.accounting.models import JournalEntry, JournalLine
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM
from omniretail.orders.returns import ReturnRequestLine, return_accept
from omniretail.payments.drawers import drawer_close, drawer_open, drawer_paid, drawer_x_report
from omniretail.verify import verify_all
from tests.conftest import build_shop, stock_up

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _gateway(settings):
    settings.OMNI_GATEWAY = "test"


def sell(shop, lines, tenders):
    return pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=lines,
        tenders=tenders,
        actor=SYSTEM,
    ).order


def test_a_day_at_the_till():
    shop = build_shop(open_drawer=False)
    stock_up(shop, {shop.mug: 10, shop.shirt_m: 5, shop.candle: 5})

    # 09:00 — the drawer opens with 150.00.
    session = drawer_open(terminal=shop.terminal, float_amount=Decimal("150.00"), actor=SYSTEM)
    # Sales: two mugs in cash (25.00), a shirt by card (49.90), a candle in cash (18.00).
    mugs = sell(shop, [SaleLine(2, sku="MUG-GR")], [Tender("cash", Decimal("30.00"))])
    sell(shop, [SaleLine(1, sku="LS-M")], [Tender("card", Decimal("49.90"), token="tok_visa")])
    sell(shop, [SaleLine(1, sku="CAN-FIG")], [Tender("cash", Decimal("20.00"))])
    # 11:30 — the window cleaner is paid 15.00 out of the drawer.
    drawer_paid(
        session=session, kind="out", amount=Decimal("15.00"), reason="window cleaner", actor=SYSTEM
    )
    # 14:00 — one mug comes back, refunded in cash from the drawer.
    return_accept(
        order=mugs,
        lines=[ReturnRequestLine(mugs.lines.get().pk, 1, reason="chipped")],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=SYSTEM,
    )

    # 17:00 — X report: 150 + 25 + 18 − 12.50 − 15 = 165.50 expected in the drawer.
    x = drawer_x_report(session=session)
    assert (x.cash_sales, x.cash_refunds, x.paid_out) == (
        Decimal("43.00"),
        Decimal("12.50"),
        Decimal("15.00"),
    )
    assert x.expected_cash == Decimal("165.50")
    by_tender = {t.tender: t for t in x.tenders}
    assert by_tender["card"].sales == Decimal("49.90")

    # 19:00 — counted 163.50: 2.00 short.
    z = drawer_close(
        session=session,
        counted={"100": 1, "50": 1, "10": 1, "2": 1, "1": 1, "0.50": 1},
        actor=SYSTEM,
    )
    assert (z.counted_total, z.expected_cash, z.over_short) == (
        Decimal("163.50"),
        Decimal("165.50"),
        Decimal("-2.00"),
    )
    tenders = {row["tender"]: row for row in z.tenders}
    assert Decimal(tenders["card"]["sales"]) == Decimal("49.90")
    assert Decimal(tenders["cash"]["refunds"]) == Decimal("12.50")
    assert z.full_number.endswith("000001")

    # The books: the shortage is an expense, the cash account holds what was counted
    # less the float that was already there.
    short = JournalLine.objects.get(account__code="6200")
    assert short.debit == Decimal("2.00")
    cash = sum(
        (ln.debit - ln.credit for ln in JournalLine.objects.filter(account__code="1000")),
        Decimal(0),
    )
    assert cash == Decimal("163.50") - Decimal("150.00")
    for entry in JournalEntry.objects.all():
        lines = list(entry.lines.all())
        assert sum(ln.debit for ln in lines) == sum(ln.credit for ln in lines)
    problems, _ = verify_all()
    assert problems == []
