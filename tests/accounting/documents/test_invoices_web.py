"""A web order paid by card, shipped, invoiced, captured and partly refunded:
every document and every entry of its books, to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.accounting.models import CreditNote, Invoice, JournalEntry
from omniretail.core.access import SYSTEM
from omniretail.fulfilment.shipping import (
    shipment_delivered,
    shipment_pack,
    shipment_ship,
    shipments_create,
)
from omniretail.payments.services import card_authorise, card_capture, payment_refund
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db
D = Decimal


def entries(order) -> list[tuple[str, list[tuple[str, str, str]]]]:
    result = []
    for e in JournalEntry.objects.filter(
        reference_type="order", reference_id=str(order.pk)
    ).order_by("pk"):
        lines = sorted(
            (line.account.code, str(line.debit), str(line.credit)) for line in e.lines.all()
        )
        result.append((e.description, lines))
    return result


@pytest.fixture
def shipped(shop, place, walter):
    stock_up(shop, {shop.mug: 5, shop.candle: 4}, location=shop.warehouse)
    order = place([(shop.mug, 2), (shop.candle, 1)], payment_status="authorized")
    payment = card_authorise(
        order_id=order.pk, amount=D("43.00"), token="tok_visa", actor=SYSTEM, idempotency_key="a1"
    )
    [shipment] = shipments_create(order=order, actor=walter)
    shipment_pack(shipment=shipment, actor=walter)
    shipment_ship(shipment=shipment, carrier="Colissimo", tracking_number="6A1", actor=walter)
    return order, payment, shipment


def test_shipping_a_web_order_issues_and_books_its_invoice(shipped):
    order, _payment, _ = shipped
    [invoice] = Invoice.objects.filter(order=order)
    assert invoice.full_number == "INV-WEB-000001"
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        D("37.89"),
        D("5.11"),
        D("43.00"),
    )
    assert invoice.tax_summary == [
        {"rate": "0.0550", "base": "17.06", "tax": "0.94", "gross": "18.00"},
        {"rate": "0.2000", "base": "20.83", "tax": "4.17", "gross": "25.00"},
    ]
    assert [(r["description"], r["quantity"], r["gross"]) for r in invoice.lines] == [
        ("Stoneware Mug Grey", 2, "25.00"),
        ("Fig Candle Fig", 1, "18.00"),
    ]
    assert invoice.seller["name"] == "Acme Home & Apparel"
    assert invoice.buyer["name"] == "Léa Martin"
    assert invoice.books_revenue is True
    assert entries(order) == [
        (
            "Invoice INV-WEB-000001",
            [
                ("1200", "43.00", "0.00"),
                ("1300", "0.00", "30.00"),
                ("2100", "0.00", "5.11"),
                ("4000", "0.00", "37.89"),
                ("5000", "30.00", "0.00"),
            ],
        )
    ]
    assert JournalEntry.objects.get(description="Invoice INV-WEB-000001").channel.code == "web"


def test_capture_then_partial_refund_books_a_credit_note(shipped, walter):
    order, payment, shipment = shipped
    card_capture(payment=payment, actor=SYSTEM)
    shipment_delivered(shipment=shipment, actor=walter)
    payment.refresh_from_db()
    payment_refund(payment=payment, amount=D("5.00"), reason="scratched mug", actor=SYSTEM)
    [note] = CreditNote.objects.filter(order=order)
    assert note.full_number == "CN-WEB-000001"
    assert note.invoice.full_number == "INV-WEB-000001"
    assert [(r["description"], r["gross"], r["tax"]) for r in note.lines] == [
        ("Stoneware Mug Grey (price reduction)", "2.91", "0.48"),
        ("Fig Candle Fig (price reduction)", "2.09", "0.11"),
    ]
    assert (note.total_net, note.total_tax, note.total_gross) == (D("4.41"), D("0.59"), D("5.00"))
    assert entries(order)[1:] == [
        (
            f"Card payment #{payment.pk} captured",
            [("1100", "43.00", "0.00"), ("1200", "0.00", "43.00")],
        ),
        (
            f"Refund #{payment.refunds.get().pk} (CN-WEB-000001)",
            [("1100", "0.00", "5.00"), ("2100", "0.59", "0.00"), ("4100", "4.41", "0.00")],
        ),
    ]
    problems, summaries = verify_all()
    assert problems == []
    assert "orders: 1 settled orders invoiced as paid" in summaries
    assert "invoices: 1 documents in 1 series gapless, chains intact" in summaries
