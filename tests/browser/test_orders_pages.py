"""The back-office order pages in a real browser: a store manager finds an
order by its status, opens it and puts it on hold with a reason, and the
timeline shows who did it and why."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
from omniretail.core.access import SYSTEM
from omniretail.core.services import channel_create, membership_grant
from omniretail.inventory.models import ChannelLocation
from tests.conftest import build_shop, stock_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "counter-top-42"


@pytest.fixture(autouse=True)
def page_urls(settings):
    settings.ROOT_URLCONF = "tests.orders.urls_for_tests"


def pickup_order(channel, store, external_id: str, *, paid: bool):
    return order_intake(
        channel=channel,
        data=IntakeOrder(
            external_id=external_id,
            lines=[IntakeLine(1, sku="MUG-GR")],
            customer=IntakeCustomer(email="lea@example.com", first_name="Léa", last_name="Martin"),
            fulfilment="pickup",
            pickup_store=store.code,
            shipping_price=Decimal(0),
            payment_status="paid" if paid else "unpaid",
        ),
        actor=SYSTEM,
    ).order


def test_a_manager_puts_an_order_on_hold_from_the_order_list(
    page: Page, offsite_requests: list[str]
):
    shop = build_shop()
    stock_up(shop, {shop.mug: 10})
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=1)
    waiting = pickup_order(web, shop.store, "W-1", paid=False)
    ready = pickup_order(web, shop.store, "W-2", paid=True)
    manager = User.objects.create_user("anna", password=PASSWORD)
    membership_grant(user=manager, role="store_manager", store=shop.store)

    page.goto("/admin/")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text("anna")

    page.goto("/backoffice/orders/")
    expect(page.locator("#order_list tbody tr")).to_have_count(2)
    page.locator("#id_status").select_option("allocated")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#order_list tbody tr")).to_have_count(1)
    expect(page.locator("#order_list .order-status")).to_have_text(["Allocated"])
    expect(page.locator("#order_list")).not_to_contain_text(f"#{waiting.pk}")

    page.get_by_role("link", name=f"#{ready.pk}", exact=True).click()
    expect(page.locator("h1")).to_have_text(f"Order #{ready.pk}")
    expect(page.locator("#lines")).to_contain_text("Stoneware Mug Grey")
    expect(page.locator("#timeline")).to_contain_text("pick-up at st-paris: it has everything")

    page.locator("#hold-reason").fill("customer asked to wait")
    page.get_by_role("button", name="Put on hold").click()
    expect(page.locator(".messagelist")).to_contain_text(f"Order #{ready.pk} is on hold.")
    expect(page.locator("#order-status")).to_have_text("On hold")
    entry = page.locator("#timeline li").last
    expect(entry).to_contain_text("allocated → on hold: customer asked to wait")
    expect(entry).to_contain_text("user:anna")
    expect(page.get_by_role("button", name="Release hold")).to_be_visible()
    assert offsite_requests == []
