"""A store manager in a real browser: signs in, opens the dashboard (the back
office's home for managers), then the campaign report for today, and
downloads it as CSV — seeing only the Paris store's orders."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from omniretail.core.services import membership_grant
from tests.reporting.conftest import build_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "campaigns-and-tills-42"


def test_the_store_manager_reads_the_dashboard_and_the_campaign_report(
    page: Page, offsite_requests: list[str]
):
    day = build_day()
    manager = User.objects.create_user("mona", password=PASSWORD, is_staff=True)
    membership_grant(user=manager, role="store_manager", store=day.paris.store)

    page.goto("/admin/")
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text("mona")

    page.goto("/backoffice/reports/")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#dashboard-scope")).to_contain_text("your stores only")
    # Paris today: the five till sales (100.30) and the marketplace pick-up (18.00).
    total = page.locator("#sales-total")
    expect(total.locator(".today-gross")).to_have_text("118.30")
    expect(total.locator(".today-orders")).to_have_text("6")
    expect(page.locator("#sales-by-store tr[data-store='paris-lyon']")).to_have_count(0)
    expect(page.locator("#waiting-pickup-to-prepare strong")).to_have_text("1")
    expect(page.locator("#tile-drawers tr.drawer-open")).to_have_count(1)

    page.locator("#reports-nav").get_by_role("link", name="Campaign report").click()
    expect(page.locator("h1")).to_have_text("Campaign report")
    today = timezone.localdate().isoformat()
    page.get_by_label("From", exact=True).fill(today)
    page.get_by_label("To", exact=True).fill(today)
    page.get_by_role("button", name="Show").click()

    summer = page.locator("tbody[data-campaign='summer']")
    paris = summer.locator("tr.channel-row[data-channel='pos-paris']")
    expect(paris.locator(".orders")).to_have_text("3")
    expect(paris.locator(".revenue-gross")).to_have_text("34.20")
    expect(paris.locator(".discount")).to_have_text("15.80")
    expect(paris.locator(".coupons")).to_have_text("1")
    expect(paris.locator("li[data-promotion='mugs-20'] .amount")).to_have_text("9.80")
    expect(summer.locator("tr[data-channel='web']")).to_have_count(0)
    expect(summer.locator("tr[data-channel='pos-paris-lyon']")).to_have_count(0)

    # A date picker never sends a bad date; a hand-edited link can.
    page.goto(f"/backoffice/reports/campaigns/?from=2025-02-30&to={today}")
    expect(page.locator("#reports-errors")).to_contain_text("From: '2025-02-30' is not a date")
    expect(page.locator("#campaign-report")).to_have_count(0)

    page.get_by_label("From", exact=True).fill(today)
    page.get_by_role("button", name="Show").click()
    with page.expect_download() as info:
        page.locator("#download-csv").click()
    download = info.value
    assert download.suggested_filename == f"campaigns_{today}_{today}.csv"
    with open(download.path(), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(io.StringIO(f.read(), newline="")))
    assert [
        (r["campaign_code"], r["channel_code"], r["orders"], r["revenue_gross"]) for r in rows
    ] == [
        ("autumn", "pos-paris", "1", "16.20"),
        ("summer", "pos-paris", "3", "34.20"),
        ("", "market", "1", "18.00"),
        ("", "pos-paris", "1", "49.90"),
    ]
    assert offsite_requests == []
