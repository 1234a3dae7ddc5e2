"""`omni verify` names the invoice, credit note, closing, order or drawer that
someone changed behind the application's back with raw SQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from omniretail.accounting.closings import closing_run
from omniretail.accounting.models import Invoice
from omniretail.cli import main as omni
from omniretail.core.access import SYSTEM
from omniretail.fulfilment.shipping import shipment_pack, shipment_ship, shipments_create
from omniretail.payments.drawers import drawer_close, drawer_open
from omniretail.payments.models import DrawerSession
from omniretail.payments.services import card_authorise, payment_refund
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db
HASH = "hash does not match its fields: altered after posting"


def sql(statement: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


@pytest.fixture
def books(shop, place, walter):
    """Two web orders paid by card and shipped: INV-WEB-000001 (43.00) and
    -000002 (12.50); 1.00 refunded on the first (CN-WEB-000001); yesterday closed."""
    stock_up(shop, {shop.mug: 9, shop.candle: 4}, location=shop.warehouse)
    orders = []
    for lines, amount in (([(shop.mug, 2), (shop.candle, 1)], "43.00"), ([(shop.mug, 1)], "12.50")):
        order = place(lines, payment_status="authorized")
        card_authorise(
            order_id=order.pk,
            amount=Decimal(amount),
            token="tok_visa",
            actor=SYSTEM,
            idempotency_key=f"k{len(orders)}",
            capture=True,
        )
        [shipment] = shipments_create(order=order, actor=walter)
        shipment_pack(shipment=shipment, actor=walter)
        shipment_ship(shipment=shipment, carrier="DHL", tracking_number="T", actor=walter)
        orders.append(order)
    # A refund of 1.00 for a late delivery: the credit note CN-WEB-000001 comes with it.
    payment_refund(
        payment=orders[0].payments.get(), amount=Decimal("1.00"), reason="late", actor=SYSTEM
    )
    closing_run(period="day", date=timezone.localdate() - dt.timedelta(days=1))
    problems, _ = verify_all()
    assert problems == [], problems
    return orders


def test_an_edited_invoice_is_named(books):
    assert (
        sql(
            "UPDATE accounting_invoice SET total_gross = %s WHERE full_number = %s",
            ["4.30", "INV-WEB-000001"],
        )
        == 1
    )
    problems, _ = verify_all()
    assert f"invoices: series inv-web: INV-WEB-000001: {HASH}" in problems


def test_a_deleted_invoice_is_named(books):
    first = Invoice.objects.get(full_number="INV-WEB-000001")
    sql("DELETE FROM accounting_creditnote WHERE invoice_id = %s", [first.pk])
    sql("DELETE FROM accounting_invoice WHERE id = %s", [first.pk])
    problems, _ = verify_all()
    assert "invoices: series inv-web: INV-WEB-000002: gap: number(s) 1 missing" in problems
    assert any(
        p.startswith("credit notes: series cn-web: cn-web: series counter expects")
        for p in problems
    )


def test_two_invoices_with_swapped_numbers_are_named(books):
    sql("UPDATE accounting_invoice SET number = 99 WHERE full_number = %s", ["INV-WEB-000001"])
    sql("UPDATE accounting_invoice SET number = 1 WHERE full_number = %s", ["INV-WEB-000002"])
    sql("UPDATE accounting_invoice SET number = 2 WHERE full_number = %s", ["INV-WEB-000001"])
    problems, _ = verify_all()
    assert (
        f"invoices: series inv-web: INV-WEB-000001 (stored as INV-WEB-000002): {HASH}" in problems
    )
    assert (
        f"invoices: series inv-web: INV-WEB-000002 (stored as INV-WEB-000001): {HASH}" in problems
    )


def test_an_edited_credit_note_and_closing_are_named(books):
    sql("UPDATE accounting_creditnote SET reason = %s", ["goodwill"])
    sql("UPDATE accounting_closing SET grand_total = grand_total + 100", [])
    problems, _ = verify_all()
    assert f"credit notes: series cn-web: CN-WEB-000001: {HASH}" in problems
    assert f"closings: series close-day: CLOSE-DAY-000001: {HASH}" in problems


def test_an_order_whose_money_does_not_match_its_invoices_is_named(books, capsys):
    order = books[1]
    sql("UPDATE payments_payment SET captured_amount = %s WHERE order_id = %s", ["10.00", order.pk])
    sql("UPDATE orders_order SET status = 'completed' WHERE id = %s", [order.pk])
    problems, _ = verify_all()
    assert (
        f"order #{order.pk}: invoices − credit notes 12.50 != payments − refunds 10.00" in problems
    )
    assert omni(["verify"]) != 0
    assert f"order #{order.pk}" in capsys.readouterr().out


def test_a_drawer_whose_over_short_is_not_booked_is_named(shop):
    # The shop's till may already have its drawer open (with a float of 100.00).
    session = DrawerSession.objects.filter(terminal=shop.terminal, status="open").first()
    if session is None:
        session = drawer_open(terminal=shop.terminal, float_amount=Decimal("100.00"), actor=SYSTEM)
    assert session.float_amount == Decimal("100.00")
    drawer_close(session=session, counted={"50": 1, "20": 2}, actor=SYSTEM)  # 90: short 10
    problems, summaries = verify_all()
    assert problems == []
    assert "drawers: 1 closed drawers with over/short booked" in summaries
    sql("UPDATE payments_drawersession SET over_short = %s WHERE id = %s", ["-5.00", session.pk])
    problems, _ = verify_all()
    assert problems == [
        f"drawers: drawer session #{session.pk} (pt1): counted 90.00 − expected 100.00 != "
        "over/short -5.00",
        f"drawers: drawer session #{session.pk} (pt1): over/short -5.00 but the journal books "
        "-10.00",
    ]
