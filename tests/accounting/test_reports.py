"""The trial balance and sales by channel, read from the journal with one
aggregate query each, scoped to the stores the reader may see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from omniretail.accounting.reports import sales_by_channel, trial_balance
from omniretail.core.access import SYSTEM
from omniretail.core.errors import PermissionDenied, ValidationFailed
from tests.accounting.conftest import FEB_1, FEB_28, D, actor

pytestmark = pytest.mark.django_db

ACCOUNTANT = actor("accountant")


def _rows(report):
    return {r.code: (r.opening, r.debits, r.credits, r.closing) for r in report.rows}


def test_trial_balance_opening_movements_closing_and_totals_tie(books, django_assert_num_queries):
    with django_assert_num_queries(1):
        report = trial_balance(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_28)
    assert _rows(report) == {
        "1000": (D("100.00"), D("84.00"), D("0.00"), D("184.00")),
        "1100": (D("0.00"), D("120.00"), D("12.00"), D("108.00")),
        "1300": (D("0.00"), D("0.00"), D("40.00"), D("-40.00")),
        "2100": (D("0.00"), D("2.00"), D("34.00"), D("-32.00")),
        "3000": (D("-100.00"), D("0.00"), D("0.00"), D("-100.00")),
        "4000": (D("0.00"), D("0.00"), D("170.00"), D("-170.00")),
        "4100": (D("0.00"), D("10.00"), D("0.00"), D("10.00")),
        "5000": (D("0.00"), D("40.00"), D("0.00"), D("40.00")),
    }
    assert [r.name for r in report.rows][:2] == ["Cash in drawers", "Card payments clearing"]
    assert (report.debits, report.credits) == (D("256.00"), D("256.00"))
    assert (report.closing_debit, report.closing_credit) == (D("342.00"), D("342.00"))
    assert report.opening == D("0.00")
    assert report.ties
    # amounts carry two places whatever the engine's sums look like
    cash = report.rows[0]
    assert [str(v) for v in (cash.opening, cash.debits, cash.credits, cash.closing)] == [
        "100.00",
        "84.00",
        "0.00",
        "184.00",
    ]


def test_trial_balance_of_one_store_leaves_out_other_stores_and_company_entries(books):
    report = trial_balance(
        actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_28, store_id=books.paris.store.pk
    )
    assert _rows(report) == {
        "1000": (D("100.00"), D("60.00"), D("0.00"), D("160.00")),
        "2100": (D("0.00"), D("0.00"), D("10.00"), D("-10.00")),
        "3000": (D("-100.00"), D("0.00"), D("0.00"), D("-100.00")),
        "4000": (D("0.00"), D("0.00"), D("50.00"), D("-50.00")),
    }
    assert report.ties


def test_a_store_manager_sees_only_their_stores(books):
    manager = actor("store_manager", books.paris.store.pk)
    mine = trial_balance(actor=manager, date_from=FEB_1, date_to=FEB_28)
    assert (mine.debits, mine.credits) == (D("60.00"), D("60.00"))
    assert {r.code for r in mine.rows} == {"1000", "2100", "3000", "4000"}
    with pytest.raises(PermissionDenied) as refused:
        trial_balance(actor=manager, date_from=FEB_1, date_to=FEB_28, store_id=books.lyon.store.pk)
    assert refused.value.field == "store"
    sales = sales_by_channel(actor=manager, date_from=FEB_1, date_to=FEB_28)
    assert [c.channel_code for c in sales.channels] == ["pos-paris"]


def test_roles_without_books_read_are_refused(books):
    for role in ("cashier", "warehouse"):
        with pytest.raises(PermissionDenied):
            trial_balance(actor=actor(role), date_from=FEB_1, date_to=FEB_28)
        with pytest.raises(PermissionDenied):
            sales_by_channel(actor=actor(role), date_from=FEB_1, date_to=FEB_28)


def test_an_end_before_the_start_names_the_field(books):
    with pytest.raises(ValidationFailed) as bad:
        trial_balance(actor=ACCOUNTANT, date_from=FEB_28, date_to=FEB_1)
    assert bad.value.field == "to"
    assert "swap them" in bad.value.message
    with pytest.raises(ValidationFailed) as bad:
        sales_by_channel(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_28, grouping="week")  # type: ignore[arg-type]
    assert bad.value.field == "group"


def _figures(f):
    return (f.net_sales, f.vat, f.cogs, f.gross_margin, f.gross_margin_pct)


def test_sales_by_channel_per_day(books, django_assert_num_queries):
    with django_assert_num_queries(1):
        report = sales_by_channel(actor=ACCOUNTANT, date_from=FEB_1, date_to=FEB_28)
    by_code = {c.channel_code: c for c in report.channels}
    assert list(by_code) == ["pos-paris", "pos-paris-lyon", "web"]
    web = by_code["web"]
    assert web.channel_name == "Web shop"
    assert [(day, _figures(f)) for day, f in web.periods] == [
        (dt.date(2025, 2, 3), (D("100.00"), D("20.00"), D("40.00"), D("60.00"), D("60.0"))),
        (dt.date(2025, 2, 20), (D("-10.00"), D("-2.00"), D("0.00"), D("-10.00"), D("100.0"))),
    ]
    assert _figures(web.total) == (D("90.00"), D("18.00"), D("40.00"), D("50.00"), D("55.6"))
    assert [(d, _figures(f)) for d, f in by_code["pos-paris"].periods] == [
        (FEB_28, (D("50.00"), D("10.00"), D("0.00"), D("50.00"), D("100.0")))
    ]
    assert _figures(report.total) == (D("160.00"), D("32.00"), D("40.00"), D("120.00"), D("75.0"))
    assert str(report.total.net_sales) == "160.00"


def test_sales_by_channel_per_month(books):
    report = sales_by_channel(
        actor=ACCOUNTANT,
        date_from=dt.date(2025, 1, 1),
        date_to=dt.date(2025, 3, 31),
        grouping="month",
    )
    rows = {
        (c.channel_code, day): (f.net_sales, f.vat, f.cogs)
        for c in report.channels
        for day, f in c.periods
    }
    assert rows == {
        ("web", dt.date(2025, 2, 1)): (D("90.00"), D("18.00"), D("40.00")),
        ("pos-paris", dt.date(2025, 2, 1)): (D("50.00"), D("10.00"), D("0.00")),
        ("pos-paris", dt.date(2025, 3, 1)): (D("25.00"), D("5.00"), D("0.00")),
        ("pos-paris-lyon", dt.date(2025, 2, 1)): (D("20.00"), D("4.00"), D("0.00")),
    }


def test_a_real_till_sale_in_the_reports(till_day):
    """A sale rung up at the till books cash, sales, VAT and its cost: the
    reports show it from the journal, to the cent."""
    today = timezone.localdate()
    report = trial_balance(actor=SYSTEM, date_from=today, date_to=today)
    assert _rows(report) == {
        "1000": (D("0.00"), D("74.90"), D("0.00"), D("74.90")),
        # The goods came in this morning at 10.00 each: 150.00, less the sale's cost.
        "1300": (D("0.00"), D("150.00"), D("30.00"), D("120.00")),
        "2050": (D("0.00"), D("0.00"), D("150.00"), D("-150.00")),
        "2100": (D("0.00"), D("0.00"), D("12.49"), D("-12.49")),
        "4000": (D("0.00"), D("0.00"), D("62.41"), D("-62.41")),
        "5000": (D("0.00"), D("30.00"), D("0.00"), D("30.00")),
    }
    assert report.ties
    sales = sales_by_channel(actor=SYSTEM, date_from=today, date_to=today)
    (channel,) = sales.channels
    assert channel.channel_code == "pos-paris"
    assert channel.periods[0][0] == today
    assert _figures(channel.total) == (
        D("62.41"),
        D("12.49"),
        D("30.00"),
        D("32.41"),
        Decimal("51.9"),
    )
