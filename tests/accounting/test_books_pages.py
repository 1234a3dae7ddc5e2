"""The books pages: trial balance and sales by channel for a date range,
and the journal downloads (accountants and admins only). Store managers see
their stores' figures; bad dates are refused with the field named."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from omniretail.core.models import AuditLog
from tests.accounting.conftest import PASSWORD, D, staff
from tests.accounting.test_export import parse_iif

pytestmark = pytest.mark.django_db


TB = "/backoffice/books/trial-balance/"
SALES = "/backoffice/books/sales-by-channel/"
CSV = "/backoffice/books/export.csv"
IIF = "/backoffice/books/export.iif"
FEB = {"from": "2025-02-01", "to": "2025-02-28"}


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def accountant(books):
    return signed_in(staff("claire", "accountant"))


@pytest.fixture
def manager(books):
    return signed_in(staff("anna", "store_manager", books.paris.store))


def test_the_accountant_reads_the_trial_balance(accountant):
    r = accountant.get(TB, FEB)
    assert r.status_code == 200
    report = r.context["report"]
    assert (report.debits, report.credits) == (D("256.00"), D("256.00"))
    html = r.content.decode()
    assert 'data-account="4100"' in html
    assert "Sales discounts and refunds" in html
    assert '<td class="num debits">256.00</td>' in html
    assert f'href="{CSV}?from=2025-02-01&amp;to=2025-02-28"' in html
    assert f'href="{IIF}?from=2025-02-01&amp;to=2025-02-28"' in html


def test_without_dates_the_page_shows_this_month(accountant):
    r = accountant.get(TB)
    assert r.status_code == 200
    report = r.context["report"]
    assert report.date_from.day == 1
    # the fixture's books are in 2025: this month, every account only has its opening
    assert {(row.code, row.opening, row.debits, row.credits) for row in report.rows} >= {
        ("1000", D("214.00"), D("0.00"), D("0.00")),
        ("3000", D("-100.00"), D("0.00"), D("0.00")),
    }
    assert (report.debits, report.credits, report.opening) == (D("0.00"),) * 3
    assert '<td class="num opening">214.00</td>' in r.content.decode()


def test_bad_dates_are_refused_naming_the_field(accountant):
    r = accountant.get(TB, {"from": "2025-02-30", "to": "2025-02-28"})
    assert r.status_code == 422
    assert r.context["report"] is None
    assert (
        "From: &#x27;2025-02-30&#x27; is not a date; enter it as YYYY-MM-DD" in r.content.decode()
    )
    r = accountant.get(SALES, {"from": "2025-02-10", "to": "2025-02-01"})
    assert r.status_code == 422
    assert "To: the end date is before the start date; swap them." in r.content.decode()
    r = accountant.get(SALES, {**FEB, "group": "week"})
    assert r.status_code == 422
    assert "Per: choose day or month." in r.content.decode()
    r = accountant.get(TB, {"from": "", "to": "2025-02-28"})
    assert "From: enter a date as YYYY-MM-DD." in r.content.decode()


def test_sales_by_channel_page_per_month(accountant):
    r = accountant.get(SALES, {**FEB, "group": "month"})
    assert r.status_code == 200
    report = r.context["report"]
    assert [c.channel_code for c in report.channels] == ["pos-paris", "pos-paris-lyon", "web"]
    assert report.total.net_sales == D("160.00")
    html = r.content.decode()
    assert '<tbody data-channel="web">' in html
    assert "<td>2025-02</td>" in html
    assert '<td class="num net-sales">90.00</td>' in html


def test_a_store_manager_sees_their_store_and_cannot_download(manager, books):
    r = manager.get(TB, FEB)
    assert r.status_code == 200
    report = r.context["report"]
    assert (report.debits, report.credits) == (D("60.00"), D("60.00"))
    assert list(r.context["form"].fields["store"].queryset) == [books.paris.store]
    assert r.context["export_links"] == {}
    assert "download-csv" not in r.content.decode()
    sales = manager.get(SALES, FEB).context["report"]
    assert [c.channel_code for c in sales.channels] == ["pos-paris"]
    r = manager.get(TB, {**FEB, "store": books.lyon.store.pk})
    assert r.status_code == 422
    assert "Store: not one of your stores" in r.content.decode()
    assert manager.get(CSV, FEB).status_code == 403
    assert manager.get(IIF, FEB).status_code == 403


def test_other_roles_and_strangers_are_kept_out(books):
    cashier = signed_in(staff("cam", "cashier", books.paris.store))
    assert cashier.get(TB, FEB).status_code == 403
    assert cashier.get(SALES, FEB).status_code == 403
    assert cashier.get(CSV, FEB).status_code == 403
    r = Client().get(CSV, FEB)
    assert r.status_code == 302
    assert "/admin/login/" in r["Location"]


def test_the_accountant_downloads_the_csv(accountant, books):
    r = accountant.get(CSV, FEB)
    assert r.status_code == 200
    assert r.streaming
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"] == 'attachment; filename="journal_2025-02-01_2025-02-28.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode(), newline="")))
    assert len(rows) == 14
    assert sum(Decimal(row["debit"]) for row in rows) == D("256.00")
    assert sum(Decimal(row["credit"]) for row in rows) == D("256.00")
    log = AuditLog.objects.get(action="books.export")
    assert (log.actor_label, log.data["format"]) == ("user:claire", "csv")


def test_the_accountant_downloads_one_store_as_iif(accountant, books):
    r = accountant.get(IIF, {**FEB, "store": books.paris.store.pk})
    assert r.status_code == 200
    assert r["Content-Disposition"] == (
        'attachment; filename="journal_2025-02-01_2025-02-28_paris.iif"'
    )
    (t,) = parse_iif(b"".join(r.streaming_content).decode("cp1252"))
    assert t["trns"]["DOCNUM"] == str(books.entries["paris-sale"].pk)
    assert t["trns"]["DATE"] == "02/28/2025"
    assert sum(Decimal(x["AMOUNT"]) for x in [t["trns"], *t["spl"]]) == 0


def test_a_download_with_bad_dates_says_which_field(accountant):
    r = accountant.get(CSV, {"from": "01/02/2025", "to": "2025-02-28"})
    assert r.status_code == 422
    assert r.content.decode() == (
        "From: '01/02/2025' is not a date; enter it as YYYY-MM-DD (for example 2025-03-31).\n"
    )
    assert not AuditLog.objects.filter(action="books.export").exists()
