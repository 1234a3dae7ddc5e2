"""Taxes on documents: rates by region (falling back to the tax class), US
prices before tax, rounding per line or per total."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from omniretail.accounting.models import Invoice, JournalEntry, RegionalTaxRate
from omniretail.accounting.taxes import LineIn, document_lines, tax_rate_for, tax_rounding
from omniretail.core.access import SYSTEM
from omniretail.core.errors import ValidationFailed
from omniretail.core.services import channel_create
from omniretail.orders.services import (
    NewLine,
    NewOrder,
    order_allocate,
    order_create,
    order_lines_fulfilled,
)

D = Decimal


def test_line_rounding_rounds_each_lines_tax():
    lines = [LineIn(f"Sticker {i}", 1, D("0.99"), D("0.20")) for i in range(3)]
    doc = document_lines(lines, currency="EUR", prices_include_tax=True, rounding="line")
    assert [r["tax"] for r in doc.lines] == ["0.16", "0.16", "0.16"]
    assert (doc.net, doc.tax, doc.gross) == (D("2.49"), D("0.48"), D("2.97"))


def test_total_rounding_taxes_each_rate_once_and_spreads_it_over_the_lines():
    lines = [LineIn(f"Sticker {i}", 1, D("0.99"), D("0.20")) for i in range(3)]
    lines.append(LineIn("Book", 2, D("10.00"), D("0.055")))
    doc = document_lines(lines, currency="EUR", prices_include_tax=True, rounding="total")
    # 2.97 × 0.2 / 1.2 = 0.495 → 0.50 (half-even at the tax point), spread 0.17/0.17/0.16
    assert [r["tax"] for r in doc.lines] == ["0.17", "0.17", "0.16", "1.04"]
    assert doc.tax_summary == [
        {"rate": "0.0550", "base": "18.96", "tax": "1.04", "gross": "20.00"},
        {"rate": "0.2000", "base": "2.47", "tax": "0.50", "gross": "2.97"},
    ]
    assert (doc.net, doc.tax, doc.gross) == (D("21.43"), D("1.54"), D("22.97"))


def test_us_prices_before_tax():
    lines = [LineIn("Mug", 3, D("12.50"), D("0.0725"), discount=D("2.50"))]
    doc = document_lines(lines, currency="USD", prices_include_tax=False, rounding="line")
    # 37.50 − 2.50 = 35.00 net; 35.00 × 7.25 % = 2.5375 → 2.54
    assert doc.lines[0] | {} == {
        "line_no": 1,
        "order_line_id": None,
        "sku": "",
        "description": "Mug",
        "quantity": 3,
        "unit_price": "12.50",
        "discount": "2.50",
        "tax_rate": "0.0725",
        "net": "35.00",
        "tax": "2.54",
        "gross": "37.54",
    }


def test_the_rounding_setting(settings):
    settings.OMNI_TAX_ROUNDING = "total"
    assert tax_rounding() == "total"
    settings.OMNI_TAX_ROUNDING = "banker"
    with pytest.raises(ValidationFailed) as err:
        tax_rounding()
    assert err.value.field == "OMNI_TAX_ROUNDING"


@pytest.mark.django_db
def test_a_rate_by_region_and_date_falls_back_to_the_tax_class(shop):
    std = shop.standard
    RegionalTaxRate.objects.create(
        tax_class=std, country="US", region="CA", rate=D("0.0725"), valid_from=dt.date(2020, 1, 1)
    )
    RegionalTaxRate.objects.create(
        tax_class=std, country="US", region="CA", rate=D("0.0800"), valid_from=dt.date(2099, 1, 1)
    )
    RegionalTaxRate.objects.create(
        tax_class=std, country="US", region="", rate=D("0.0000"), valid_from=dt.date(2020, 1, 1)
    )
    today = dt.date(2025, 6, 1)
    assert tax_rate_for(tax_class_id=std.pk, country="us", region="ca", at=today) == D("0.0725")
    assert tax_rate_for(
        tax_class_id=std.pk, country="US", region="CA", at=dt.date(2099, 2, 1)
    ) == D("0.0800")
    assert tax_rate_for(tax_class_id=std.pk, country="US", region="OR", at=today) == D("0")
    assert tax_rate_for(tax_class_id=std.pk, country="FR", at=today) == D("0.2000")


@pytest.mark.django_db
def test_a_us_order_is_invoiced_at_its_destinations_rate_before_tax(shop):
    shop.company.prices_include_tax = False
    shop.company.save(update_fields=["prices_include_tax"])
    RegionalTaxRate.objects.create(
        tax_class=shop.standard,
        country="US",
        region="CA",
        rate=D("0.0725"),
        valid_from=dt.date(2020, 1, 1),
    )
    phone = channel_create(company=shop.company, code="phone", name="Phone", kind="phone")
    rate = tax_rate_for(tax_class_id=shop.standard.pk, country="US", region="CA")
    order = order_create(
        new=NewOrder(
            channel=phone,
            external_id="P-1",
            currency="USD",
            prices_include_tax=False,
            lines=[NewLine(shop.mug.pk, 2, D("12.50"), rate)],
            shipping_address={
                "name": "Ann Lee",
                "line1": "1 Main St",
                "city": "Fresno",
                "postcode": "93701",
                "region": "CA",
                "country": "US",
            },
            payment_status="paid",
        ),
        actor=SYSTEM,
    )
    order_allocate(order=order, actor=SYSTEM)
    line = order.lines.get()
    order_lines_fulfilled(order=order, quantities={line.pk: 2}, actor=SYSTEM, reason="handed over")
    invoice = Invoice.objects.get(order=order)
    assert invoice.full_number == "INV-PHONE-000001"
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        D("25.00"),
        D("1.81"),
        D("26.81"),
    )
    assert invoice.tax_summary == [
        {"rate": "0.0725", "base": "25.00", "tax": "1.81", "gross": "26.81"}
    ]
    assert invoice.total_gross == order.total_gross
    entry = JournalEntry.objects.get(description="Invoice INV-PHONE-000001")
    assert entry.channel_id == phone.pk
