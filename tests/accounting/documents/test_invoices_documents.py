"""Invoices and credit notes as documents: full invoices on request (tax id
checked with python-stdnum), receipts turned into invoices once, credit notes
never above what is left, nothing changed after posting, printing."""

from __future__ import annotations

import zlib
from decimal import Decimal

import pytest
from django.test import Client

from omniretail.accounting.invoicing import credit_note_issue, invoice_for_sale
from omniretail.accounting.models import CreditNote, DocumentImmutable, Invoice, JournalEntry
from omniretail.accounting.printing import document_pdf, receipt_pdf
from omniretail.accounting.taxes import CreditRequest
from omniretail.core.access import SYSTEM
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.fulfilment.shipping import shipment_pack, shipment_ship, shipments_create
from omniretail.verify import verify_all
from tests.accounting.conftest import PASSWORD, staff, till_sale
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db
D = Decimal
VAT = "FR40303265045"  # a valid French VAT number (the check digits are right)


@pytest.fixture
def sale(shop):
    stock_up(shop, {shop.shirt_m: 5, shop.mug: 10})
    return till_sale(shop, [("LS-M", 1), ("MUG-GR", 2)], "80.00")


@pytest.fixture
def web_invoice(shop, place, walter):
    stock_up(shop, {shop.mug: 5, shop.candle: 4}, location=shop.warehouse)
    order = place([(shop.mug, 2), (shop.candle, 1)])
    [shipment] = shipments_create(order=order, actor=walter)
    shipment_pack(shipment=shipment, actor=walter)
    shipment_ship(shipment=shipment, carrier="DHL", tracking_number="JD1", actor=walter)
    return Invoice.objects.get(order=order)


def test_a_till_receipt_becomes_a_full_invoice_once_and_books_nothing(sale):
    entries = JournalEntry.objects.count()
    invoice = invoice_for_sale(
        order=sale,
        tax_id="fr 403 032 650 45",
        name="Atelier Rivoli SARL",
        address="12 rue de Rivoli, 75004 Paris",
        actor=SYSTEM,
    )
    assert invoice.full_number == "INV-POS-PARIS-000001"
    assert invoice.receipt.full_number == "R-PT1-000001"
    assert invoice.buyer["tax_id"] == VAT
    assert invoice.buyer["country"] == "FR"
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        D("62.41"),
        D("12.49"),
        D("74.90"),
    )
    assert invoice.tax_summary == [
        {"rate": "0.2000", "base": "62.41", "tax": "12.49", "gross": "74.90"}
    ]
    assert invoice.books_revenue is False
    assert JournalEntry.objects.count() == entries  # the receipt booked the sale
    with pytest.raises(Conflict) as err:
        invoice_for_sale(order=sale, tax_id=VAT, name="X", address="Y", actor=SYSTEM)
    assert "already invoiced as INV-POS-PARIS-000001" in err.value.message


@pytest.mark.parametrize(
    "tax_id", ["", "403032650", "FR40303265046", "US123456789", "not a number"]
)
def test_a_bad_tax_id_is_refused_naming_the_field(sale, tax_id):
    with pytest.raises(ValidationFailed) as err:
        invoice_for_sale(order=sale, tax_id=tax_id, name="Atelier", address="Paris", actor=SYSTEM)
    assert err.value.field == "tax_id"
    assert "country prefix" in err.value.message
    assert not Invoice.objects.exists()


def test_an_invoiced_web_order_is_reissued_with_the_buyers_tax_id(web_invoice):
    entries = JournalEntry.objects.count()
    replacement = invoice_for_sale(
        order=web_invoice.order,
        tax_id="DE136695976",
        name="Kaffee GmbH",
        address="Unter den Linden 1, 10117 Berlin",
        actor=SYSTEM,
    )
    [note] = CreditNote.objects.filter(order=web_invoice.order)
    assert (note.full_number, note.invoice_id, note.total_gross) == (
        "CN-WEB-000001",
        web_invoice.pk,
        D("43.00"),
    )
    assert (replacement.full_number, replacement.source, replacement.total_gross) == (
        "INV-WEB-000002",
        "replacement",
        D("43.00"),
    )
    assert replacement.tax_summary == web_invoice.tax_summary
    assert replacement.buyer["tax_id"] == "DE136695976"
    assert JournalEntry.objects.count() == entries  # credit and reissue cancel out
    assert verify_all()[0] == []


def test_credit_notes_never_take_more_than_is_left(web_invoice):
    first = credit_note_issue(
        document=web_invoice,
        lines=[CreditRequest(1, quantity=1)],
        reason="broken mug",
        actor=SYSTEM,
    )
    assert (first.total_net, first.total_tax, first.total_gross) == (
        D("10.42"),
        D("2.08"),
        D("12.50"),
    )
    with pytest.raises(ValidationFailed) as err:
        credit_note_issue(
            document=web_invoice,
            lines=[CreditRequest(1, quantity=2)],
            reason="again",
            actor=SYSTEM,
        )
    assert err.value.field == "lines[0]"
    assert "1 to 1 unit(s) of line 1" in err.value.message
    last = credit_note_issue(
        document=web_invoice,
        lines=[CreditRequest(1, quantity=1)],
        reason="second mug",
        actor=SYSTEM,
    )
    # The last unit takes exactly what is left of the line: 4.17 = 2.08 + 2.09
    assert (last.total_tax, last.total_gross) == (D("2.09"), D("12.50"))
    with pytest.raises(ValidationFailed):
        credit_note_issue(
            document=web_invoice,
            lines=[CreditRequest(2, gross=D("18.01"))],
            reason="too much",
            actor=SYSTEM,
        )
    assert CreditNote.objects.count() == 2
    entry = JournalEntry.objects.get(description="Credit note CN-WEB-000001")
    assert sorted((x.account.code, str(x.debit), str(x.credit)) for x in entry.lines.all()) == [
        ("1200", "0.00", "12.50"),
        ("2100", "2.08", "0.00"),
        ("4100", "10.42", "0.00"),
    ]


def test_a_posted_document_is_never_changed_or_deleted(web_invoice):
    web_invoice.total_gross = D("1.00")
    with pytest.raises(DocumentImmutable):
        web_invoice.save()
    with pytest.raises(DocumentImmutable):
        web_invoice.delete()
    assert Invoice.objects.get(pk=web_invoice.pk).total_gross == D("43.00")


def _inflate(pdf: bytes) -> bytes:
    """The text of every compressed stream of a PDF, for searching."""
    out, start = [], 0
    while (i := pdf.find(b"stream\n", start)) >= 0:
        end = pdf.find(b"endstream", i)
        try:
            out.append(zlib.decompress(pdf[i + 7 : end].strip()))
        except zlib.error:
            out.append(pdf[i + 7 : end])
        start = end
    return b"".join(out)


def test_pdfs_carry_the_number_and_the_tax_summary(web_invoice, sale):
    plain = document_pdf(web_invoice, compress=False)
    assert plain.startswith(b"%PDF")
    assert b"Invoice INV-WEB-000001" in plain
    assert b"20 %: base 20.83  tax 4.17  gross 25.00" in plain
    packed = document_pdf(web_invoice)
    assert packed.startswith(b"%PDF")
    assert b"INV-WEB-000001" in _inflate(packed)
    receipt = receipt_pdf(sale.receipt, compress=False)
    assert b"Receipt R-PT1-000001" in receipt
    assert b"74.90 EUR" in receipt


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_print_pages_for_who_may_read_them(shop, web_invoice, sale):
    accountant = signed_in(staff("claire", "accountant"))
    r = accountant.get(f"/backoffice/books/invoices/{web_invoice.pk}/print")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="document-number">INV-WEB-000001<' in html
    assert '<td>20 %</td><td class="num">20.83</td><td class="num">4.17</td>' in html
    assert '<td>5.5 %</td><td class="num">17.06</td><td class="num">0.94</td>' in html
    assert "http://" not in html
    assert "https://" not in html
    r = accountant.get(f"/backoffice/books/invoices/{web_invoice.pk}/print.pdf")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    r = accountant.get(f"/backoffice/books/receipts/{sale.receipt.pk}/print")
    assert r.status_code == 200
    assert 'id="receipt-total">74.90<' in r.content.decode()
    assert 'id="tax-summary"' in r.content.decode()
    assert (
        accountant.get(f"/backoffice/books/receipts/{sale.receipt.pk}/print.pdf").content[:4]
        == b"%PDF"
    )
    # A Paris cashier reads Paris receipts, not the web's invoices (no store: company-wide).
    cashier = signed_in(staff("cam", "cashier", shop.store))
    assert cashier.get(f"/backoffice/books/receipts/{sale.receipt.pk}/print").status_code == 200
    assert cashier.get(f"/backoffice/books/invoices/{web_invoice.pk}/print").status_code == 403
    assert accountant.get("/backoffice/books/invoices/999999/print").status_code == 404
