"""The back-office customer pages in a real browser: a store manager types
Léa's phone number the way she says it, opens her record and sees her
purchases from the till and the web shop in one list."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM
from omniretail.core.services import channel_create, membership_grant
from omniretail.customers.services import customer_match_or_create
from omniretail.inventory.models import ChannelLocation
from tests.conftest import build_shop, stock_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "counter-top-42"


def test_a_manager_searches_a_customer_and_opens_her_history(
    page: Page, offsite_requests: list[str]
):
    shop = build_shop()
    stock_up(shop, {shop.mug: 10, shop.candle: 5})
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=1)
    lea = customer_match_or_create(
        email="lea@example.com",
        phone="+33 6 12 34 56 78",
        first_name="Léa",
        last_name="Martin",
        actor=SYSTEM,
    ).customer
    pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(2, "MUG-GR", None)],
        tenders=[Tender("cash", Decimal("30.00"))],
        customer_id=lea.pk,
        actor=SYSTEM,
    )
    order_intake(
        channel=web,
        data=IntakeOrder(
            external_id="W-1",
            lines=[IntakeLine(1, sku="CAN-FIG")],
            customer=IntakeCustomer(email="LEA@example.com"),
            fulfilment="pickup",
            pickup_store=shop.store.code,
            payment_status="paid",
        ),
        actor=SYSTEM,
    )
    manager = User.objects.create_user("anna", password=PASSWORD)
    membership_grant(user=manager, role="store_manager", store=None)

    page.goto("/admin/")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text("anna")

    page.goto("/backoffice/customers/")
    page.locator("#customer-q").fill("06 12 34 56 78")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#customer_list tbody tr")).to_have_count(1)
    expect(page.locator("#customer_list")).to_contain_text("+33 6 12 34 56 78")

    page.get_by_role("link", name="Léa Martin").click()
    expect(page.locator("#profile-email")).to_have_text("lea@example.com")
    expect(page.locator("#history_table tbody tr")).to_have_count(2)
    expect(page.locator("#history_table .history-channel")).to_contain_text(
        ["Web shop", "POS Paris"]
    )
    expect(page.locator("#history_table .history-total")).to_contain_text(
        ["18.00 EUR", "25.00 EUR"]
    )
    page.locator("#history_table .history-number a").last.click()
    expect(page.locator("h1")).to_contain_text("Order #")
    assert offsite_requests == []
