"""Printable documents: an 80 mm till receipt and an A4 invoice or credit
note, as HTML (Django templates, print CSS, nothing loaded from outside) and
as PDF (fpdf2, pure Python). Both are drawn from the stored document only:
a reprint shows exactly what was posted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from fpdf import FPDF

from omniretail.accounting.models import CreditNote, Invoice, Receipt

RECEIPT_TEMPLATE = "accounting/documents/receipt_80mm.html"
DOCUMENT_TEMPLATE = "accounting/documents/invoice_a4.html"


def _percent(rate: str) -> str:
    value = (Decimal(rate) * 100).normalize()
    return f"{format(value, 'f')} %"


def receipt_context(receipt: Receipt) -> dict[str, Any]:
    store = receipt.store
    return {
        "receipt": receipt,
        "company": store.company,
        "store": store,
        "issued": timezone.localtime(receipt.issued_at),
        "lines": receipt.lines,
        "tax_summary": [
            {
                **row,
                "percent": _percent(row["rate"]),
                "gross": Decimal(row["net"]) + Decimal(row["tax"]),
            }
            for row in receipt.tax_summary
        ],
        "payments": receipt.payments,
    }


def document_context(document: Invoice | CreditNote) -> dict[str, Any]:
    is_credit = isinstance(document, CreditNote)
    reference = ""
    if isinstance(document, CreditNote):
        source = document.invoice or document.receipt
        reference = source.full_number if source else ""
    elif document.receipt_id:
        reference = document.receipt.full_number if document.receipt else ""
    return {
        "document": document,
        "title": "Credit note" if is_credit else "Invoice",
        "is_credit": is_credit,
        "reference": reference,
        "issued": timezone.localtime(document.issued_at),
        "lines": [{**row, "percent": _percent(row["tax_rate"])} for row in document.lines],
        "tax_summary": [{**row, "percent": _percent(row["rate"])} for row in document.tax_summary],
    }


def receipt_html(receipt: Receipt) -> str:
    return render_to_string(RECEIPT_TEMPLATE, receipt_context(receipt))


def document_html(document: Invoice | CreditNote) -> str:
    return render_to_string(DOCUMENT_TEMPLATE, document_context(document))


def _text(value: object) -> str:
    """The PDF's core fonts speak Latin-1: anything else prints as '?'."""
    return str(value).replace("−", "-").encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def cell_text(self, width: float, text: object, align: str = "L", bold: bool = False) -> None:
        self.set_font("Helvetica", "B" if bold else "", self.font_size_pt)
        self.cell(width, self.font_size_pt * 0.45, _text(text), align=align)


def receipt_pdf(receipt: Receipt, *, compress: bool = True) -> bytes:
    """An 80 mm wide receipt (72 mm printable), as long as it needs."""
    ctx = receipt_context(receipt)
    height = 90 + 8 * (len(ctx["lines"]) + len(ctx["tax_summary"]) + len(ctx["payments"]))
    pdf = _Pdf(unit="mm", format=(80, height))
    pdf.set_compression(compress)
    pdf.set_margins(4, 4, 4)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 10)
    pdf.multi_cell(72, 5, _text(ctx["company"].name), align="C")
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(72, 4, _text(f"{ctx['store'].name}\n{ctx['store'].address}".strip()), align="C")
    if ctx["company"].tax_id:
        pdf.multi_cell(72, 4, _text(f"VAT {ctx['company'].tax_id}"), align="C")
    pdf.ln(2)
    pdf.multi_cell(72, 4, _text(f"Receipt {receipt.full_number}"), align="L")
    pdf.multi_cell(72, 4, _text(f"{ctx['issued']:%Y-%m-%d %H:%M}"), align="L")
    pdf.ln(1)
    for line in ctx["lines"]:
        pdf.multi_cell(72, 4, _text(f"{line['quantity']} x {line['description']}"))
        pdf.cell(52, 4, _text(f"  @ {line['unit_price']}"))
        pdf.cell(20, 4, _text(line["gross"]), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(52, 5, "TOTAL")
    pdf.cell(20, 5, _text(f"{receipt.total_gross} {receipt.currency}"), align="R")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 8)
    for p in ctx["payments"]:
        pdf.cell(52, 4, _text(p["tender"]))
        pdf.cell(20, 4, _text(p["amount"]), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.cell(72, 4, "Tax summary", new_x="LMARGIN", new_y="NEXT")
    for row in ctx["tax_summary"]:
        pdf.cell(
            72,
            4,
            _text(f"{row['percent']}: net {row['net']}  tax {row['tax']}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


def document_pdf(document: Invoice | CreditNote, *, compress: bool = True) -> bytes:
    """An A4 invoice or credit note."""
    ctx = document_context(document)
    pdf = _Pdf(unit="mm", format="A4")
    pdf.set_compression(compress)
    pdf.set_margins(18, 18, 18)
    pdf.add_page()
    seller, buyer = document.seller, document.buyer
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, _text(f"{ctx['title']} {document.full_number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 5, _text(f"Issued {ctx['issued']:%Y-%m-%d %H:%M}"), new_x="LMARGIN", new_y="NEXT")
    if ctx["reference"]:
        pdf.cell(0, 5, _text(f"Corrects {ctx['reference']}"), new_x="LMARGIN", new_y="NEXT")
    if isinstance(document, CreditNote):
        pdf.cell(0, 5, _text(f"Reason: {document.reason}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    top = pdf.get_y()
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(87, 5, "Seller")
    pdf.cell(87, 5, "Buyer", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    seller_text = "\n".join(
        x
        for x in [
            seller.get("name", ""),
            seller.get("address", ""),
            f"VAT {seller['vat_id']}" if seller.get("vat_id") else "",
        ]
        if x
    )
    buyer_text = "\n".join(
        x
        for x in [
            buyer.get("name", ""),
            buyer.get("address", ""),
            buyer.get("country", ""),
            f"Tax id {buyer['tax_id']}" if buyer.get("tax_id") else "",
        ]
        if x
    )
    pdf.set_xy(18, top + 5)
    pdf.multi_cell(85, 4.5, _text(seller_text))
    left_bottom = pdf.get_y()
    pdf.set_xy(105, top + 5)
    pdf.multi_cell(87, 4.5, _text(buyer_text))
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)
    widths = (70, 14, 22, 16, 22, 30)
    heads = ("Description", "Qty", "Unit price", "Tax", "Net", "Gross")
    pdf.set_font("Helvetica", "B", 9)
    for w, h in zip(widths, heads, strict=True):
        pdf.cell(w, 6, h, border="B", align="L" if h == "Description" else "R")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 9)
    for line in ctx["lines"]:
        values = (
            line["description"][:45],
            line["quantity"],
            line["unit_price"],
            line["percent"],
            line["net"],
            line["gross"],
        )
        for i, (w, v) in enumerate(zip(widths, values, strict=True)):
            pdf.cell(w, 5.5, _text(v), align="L" if i == 0 else "R")
        pdf.ln(5.5)
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 6, "Tax summary", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for row in ctx["tax_summary"]:
        pdf.cell(
            0,
            5,
            _text(f"{row['percent']}: base {row['base']}  tax {row['tax']}  gross {row['gross']}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    sign = "-" if ctx["is_credit"] else ""
    for label, value in (
        ("Total net", document.total_net),
        ("Total tax", document.total_tax),
        ("Total", document.total_gross),
    ):
        pdf.cell(144, 6, label, align="R")
        pdf.cell(30, 6, _text(f"{sign}{value} {document.currency}"), align="R")
        pdf.ln(6)
    return bytes(pdf.output())
