"""Tenders while the server is unreachable, in Chromium: a card taken on the
terminal is stored to be captured later; gift cards pay only within the
terminal's offline allowance, the till refusing beyond it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from omniretail.channels.models import TerminalAllowance
from omniretail.core.access import SYSTEM
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import LoyaltyProgram
from omniretail.loyalty.services import giftcard_issue
from omniretail.orders.models import Order
from omniretail.payments.models import Payment
from tests.browser.test_pos_till import open_till, scan
from tests.conftest import stock_up
from tests.pos.conftest import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 30_000


def complete(page: Page) -> None:
    expect(page.locator("#complete")).to_be_enabled()
    page.click("#complete")


def test_card_offline_and_gift_cards_within_the_allowance(page: Page, shop, live_server):
    staff = make_staff(shop)
    stock_up(shop, {shop.mug: 5, shop.shirt_m: 5})
    TerminalAllowance.objects.create(
        terminal=shop.terminal, gift_card_amount=Decimal("20.00"), points=100
    )
    card, code = giftcard_issue(
        amount=Decimal("50.00"),
        currency="EUR",
        reference=Reference("test", "gc-offline"),
        actor=SYSTEM,
        sold=False,
        store_id=shop.store.pk,
        reason="test card",
    )
    LoyaltyProgram.objects.create(
        code="club", name="Club", currency="EUR", point_value=Decimal("0.01")
    )
    open_till(page, shop, staff)
    # Points offline: counted at the programme's value (1 point = 0.01), within 100.
    app = "document.querySelector('pos-app')"
    assert page.evaluate(f"{app}.pointsFor('0.995')") == 100
    check = f"(a) => {app}.offlineAllowanceCheck([{{type: 'loyalty', amount: a}}])"
    assert page.evaluate(check, "1.00") == {"gift_card_amount": "0", "points": 100}
    refused = page.evaluate(f"(a) => ({check})(a).then(() => 'ok', (e) => e.message)", "1.01")
    assert refused == (
        "Offline, points may pay up to 100 points in all (100 left); take another tender."
    )
    page.context.set_offline(True)
    expect(page.locator("#status")).to_have_text("offline · 0 sales waiting", timeout=SLOW)

    # A card on the terminal: to be captured when the server is back.
    scan(page, shop.mug.barcode)
    expect(page.locator("#pay")).to_be_enabled()
    page.keyboard.press("F4")
    expect(page.locator("#offline-allowance")).to_contain_text("20.00 / 100 points")
    page.click("#tender-card")
    complete(page)
    expect(page.locator("#receipt-paper")).to_contain_text("card (to capture)", timeout=SLOW)
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000001")
    page.click("#new-sale")

    # A gift card over the allowance is refused; within it, accepted.
    scan(page, shop.shirt_m.barcode)
    expect(page.locator("#pay")).to_be_enabled()
    page.keyboard.press("F4")
    page.fill("#tender-ref", code)
    page.click("#tender-gift_card")  # 49.90 on the gift card
    complete(page)
    expect(page.locator("#error")).to_have_text(
        "Offline, gift cards may pay up to 20.00 in all (20.00 left); take another tender.",
        timeout=SLOW,
    )
    expect(page.locator("#status")).to_have_text("offline · 1 sale waiting")
    page.click("button[data-action='drop-tender']")
    page.fill("#tender-amount", "15.00")
    page.fill("#tender-ref", code)
    page.click("#tender-gift_card")
    expect(page.locator("#left")).to_have_text("34.90")
    page.click("#tender-cash")
    complete(page)
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000002", timeout=SLOW)
    page.click("#new-sale")

    # 15.00 of the 20.00 used: a second gift card payment of 12.50 is refused.
    scan(page, shop.mug.barcode)
    expect(page.locator("#pay")).to_be_enabled()
    page.keyboard.press("F4")
    page.fill("#tender-ref", code)
    page.click("#tender-gift_card")
    complete(page)
    expect(page.locator("#error")).to_contain_text("(5.00 left)", timeout=SLOW)
    page.click("button[data-action='drop-tender']")
    page.click("#tender-cash")
    complete(page)
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000003", timeout=SLOW)
    expect(page.locator("#status")).to_have_text("offline · 3 sales waiting")
    assert not Order.objects.filter(terminal=shop.terminal).exists()

    page.context.set_offline(False)
    page.evaluate("window.posDebug.flush()")
    expect(page.locator("#status")).to_have_text("online · 0 sales waiting", timeout=SLOW)
    assert page.evaluate("window.posDebug.offlineUsed()") is None  # a fresh allowance

    orders = list(Order.objects.filter(terminal=shop.terminal).order_by("receipt__number"))
    assert [o.receipt.full_number for o in orders] == [
        "R-PT1-000001",
        "R-PT1-000002",
        "R-PT1-000003",
    ]
    [card_payment] = Payment.objects.filter(order=orders[0])
    assert (
        card_payment.tender,
        card_payment.status,
        card_payment.gateway,
        card_payment.amount,
    ) == ("card", "authorised", "offline", Decimal("12.50"))
    assert sorted(Payment.objects.filter(order=orders[1]).values_list("tender", "amount")) == [
        ("cash", Decimal("34.90")),
        ("gift_card", Decimal("15.00")),
    ]
    card.refresh_from_db()
    assert card.balance == Decimal("35.00")
    assert not [f for o in orders for f in o.review_flags if "hash does not match" in f]
