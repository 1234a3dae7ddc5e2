"""Closings: a day's documents summed by tender and tax rate, perpetual grand
totals, once per period, months made of their days, the nightly job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from omniretail.accounting.closings import closing_run, closings_yesterday
from omniretail.accounting.invoicing import credit_note_issue
from omniretail.accounting.models import Closing, Invoice
from omniretail.accounting.taxes import CreditRequest
from omniretail.core.access import SYSTEM
from omniretail.core.errors import Conflict, PermissionDenied
from omniretail.fulfilment.shipping import shipment_pack, shipment_ship, shipments_create
from omniretail.verify import verify_all
from tests.accounting.conftest import PASSWORD, actor, staff, till_sale
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db
D = Decimal


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def two_days(shop, place, walter, monkeypatch):
    """Two days ago a till sale (74.90 cash); yesterday a web invoice (43.00)
    and a credit note of one mug (12.50)."""
    today = timezone.localdate()
    before, yesterday = today - dt.timedelta(days=2), today - dt.timedelta(days=1)
    stock_up(shop, {shop.shirt_m: 5, shop.mug: 10})
    stock_up(shop, {shop.mug: 5, shop.candle: 4}, location=shop.warehouse)
    monkeypatch.setattr(timezone, "now", lambda: at(before, 10))
    till_sale(shop, [("LS-M", 1), ("MUG-GR", 2)], "80.00")
    monkeypatch.setattr(timezone, "now", lambda: at(yesterday, 11))
    order = place([(shop.mug, 2), (shop.candle, 1)])
    [shipment] = shipments_create(order=order, actor=walter)
    shipment_pack(shipment=shipment, actor=walter)
    shipment_ship(shipment=shipment, carrier="DHL", tracking_number="JD1", actor=walter)
    credit_note_issue(
        document=Invoice.objects.get(order=order),
        lines=[CreditRequest(1, quantity=1)],
        reason="broken",
        actor=SYSTEM,
    )
    monkeypatch.undo()
    return before, yesterday


def test_a_day_is_closed_with_its_totals_and_a_perpetual_grand_total(two_days):
    before, yesterday = two_days
    closing = closing_run(period="day", date=yesterday)
    assert (closing.full_number, closing.scope, closing.period_start) == (
        "CLOSE-DAY-000001",
        "company",
        yesterday,
    )
    assert closing.documents == {"credit_notes": 1, "invoices": 1, "receipts": 0}
    assert closing.by_tender == {"credit_notes": "-12.50", "invoiced": "43.00"}
    assert closing.by_tax_rate == [
        {"rate": "0.0550", "base": "17.06", "tax": "0.94", "gross": "18.00"},
        {"rate": "0.2000", "base": "10.41", "tax": "2.09", "gross": "12.50"},
    ]
    assert (closing.total_gross, closing.grand_total) == (D("30.50"), D("30.50"))
    earlier = closing_run(period="day", date=before)
    assert earlier.full_number == "CLOSE-DAY-000002"
    assert earlier.by_tender == {"cash": "74.90"}
    assert (earlier.total_gross, earlier.grand_total) == (D("74.90"), D("105.40"))
    # Idempotent: the same period again is the same closing, never a second one.
    assert closing_run(period="day", date=yesterday).pk == closing.pk
    assert Closing.objects.filter(period="day").count() == 2
    problems, summaries = verify_all()
    assert problems == []
    assert "closings: 2 documents in 1 series gapless, chains intact" in summaries


def test_a_store_is_closed_on_its_own_chain(two_days, shop):
    before, _ = two_days
    paris = closing_run(period="day", date=before, store=shop.store)
    assert paris.full_number == "CLOSE-DAY-PARIS-000001"
    assert (paris.scope, paris.total_gross) == ("store:paris", D("74.90"))


def test_a_period_not_over_is_refused_and_accountants_close(shop):
    with pytest.raises(Conflict) as err:
        closing_run(period="day", date=timezone.localdate())
    assert err.value.field == "date"
    with pytest.raises(Conflict):
        closing_run(period="month", date=timezone.localdate())
    with pytest.raises(PermissionDenied):
        closing_run(
            period="day",
            date=timezone.localdate() - dt.timedelta(days=1),
            actor=actor("store_manager", shop.store.pk),
        )
    assert not Closing.objects.exists()


def test_a_month_closes_its_missing_days_first_and_sums_them(two_days):
    _, _yesterday = two_days
    last_month = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    days_in_month = last_month.day
    month = closing_run(period="month", date=last_month)
    days = Closing.objects.filter(period="day", period_start__month=last_month.month)
    assert days.count() == days_in_month
    assert month.period_start == last_month.replace(day=1)
    assert month.period_end == last_month
    assert month.total_gross == sum((d.total_gross for d in days), D(0))
    assert month.full_number == "CLOSE-MONTH-000001"
    assert verify_all()[0] == []


def test_the_nightly_job_closes_yesterday_once(two_days, shop):
    first = closings_yesterday()
    assert first >= 2  # the company and Paris (and the month / year when yesterday ended them)
    assert Closing.objects.filter(period="day", period_start=two_days[1]).count() == 2
    assert closings_yesterday() == 0


def test_the_closings_page(two_days):
    closing_run(period="day", date=two_days[1])
    client = Client()
    staff("claire", "accountant")
    assert client.login(username="claire", password=PASSWORD)
    r = client.get("/backoffice/books/closings/")
    assert r.status_code == 200
    assert "CLOSE-DAY-000001" in r.content.decode()
    assert "30.50" in r.content.decode()
