"""The accountant in a real browser: signs in, opens the trial balance of the
day's till sales, and downloads the journal as CSV."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from omniretail.core.services import membership_grant
from tests.conftest import build_shop, stock_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "ledger-and-till-42"


def test_the_accountant_reads_the_trial_balance_and_downloads_the_journal(
    page: Page, offsite_requests: list[str]
):
    shop = build_shop()
    stock_up(shop, {shop.shirt_m: 5, shop.mug: 10})
    response = page.request.post(
        "/api/v1/pos/sales",
        data={
            "client_uuid": str(uuid.uuid4()),
            "lines": [{"sku": "LS-M", "quantity": 1}, {"sku": "MUG-GR", "quantity": 2}],
            "tenders": [{"type": "cash", "amount": "80.00"}],
        },
        headers={"Authorization": f"Bearer {shop.terminal_token}"},
    )
    assert response.status == 201, response.text()
    accountant = User.objects.create_user("claire", password=PASSWORD)
    membership_grant(user=accountant, role="accountant", store=None)

    page.goto("/admin/")
    page.get_by_label("Username").fill("claire")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text("claire")

    today = timezone.localdate().isoformat()
    page.goto("/backoffice/books/trial-balance/")
    page.get_by_label("From", exact=True).fill(today)
    page.get_by_label("To", exact=True).fill(today)
    page.get_by_role("button", name="Show").click()

    expect(page.locator("h1")).to_have_text("Trial balance")
    totals = page.locator("#trial-balance-totals")
    # 74.90 cash + 30.00 cost of the sale + 150.00 of goods received this morning
    expect(totals.locator(".debits")).to_have_text("254.90")
    expect(totals.locator(".credits")).to_have_text("254.90")
    sales = page.locator("tr[data-account='4000']")
    expect(sales.locator(".credits")).to_have_text("62.41")
    expect(page.locator("#books-not-tied")).to_have_count(0)

    with page.expect_download() as info:
        page.locator("#download-csv").click()
    download = info.value
    assert download.suggested_filename == f"journal_{today}_{today}.csv"
    with open(download.path(), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(io.StringIO(f.read(), newline="")))
    assert sorted((r["account_code"], r["debit"], r["credit"]) for r in rows) == [
        ("1000", "74.90", "0.00"),
        ("1300", "0.00", "30.00"),
        ("1300", "150.00", "0.00"),
        ("2050", "0.00", "150.00"),
        ("2100", "0.00", "12.49"),
        ("4000", "0.00", "62.41"),
        ("5000", "30.00", "0.00"),
    ]
    assert {r["description"] for r in rows} == {
        "Sale R-PT1-000001",
        "Goods received from suppliers: delivery DN-TEST",
    }
    assert sum(Decimal(r["debit"]) for r in rows) == sum(Decimal(r["credit"]) for r in rows)
    assert offsite_requests == []
