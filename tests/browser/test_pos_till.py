"""The till in Chromium: pair, sign in by PIN, scan, pay, print; sell on
while offline and sync every sale exactly once; close the drawer short."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from omniretail.accounting.models import Receipt
from omniretail.channels.pos.offline import offline_hash_check
from omniretail.core.fiscal import ChainLink, chain_verify
from omniretail.orders.models import Order
from tests.conftest import stock_up
from tests.pos.conftest import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_till(page: Page, shop, staff) -> None:
    page.goto("/pos/")
    page.fill("#pair-code", shop.terminal_token)
    page.click("#pair-go")
    expect(page.locator("#signin-go")).to_be_visible()
    expect(page.locator("#cashier option")).to_have_count(2)
    page.select_option("#cashier", str(staff.cashier.pk))
    page.fill("#pin", "1234")
    page.click("#signin-go")
    expect(page.locator("#scan")).to_be_focused()
    expect(page.locator("#status")).to_have_text("online · 0 sales waiting")


def scan(page: Page, code: str) -> None:
    page.fill("#scan", code)
    page.press("#scan", "Enter")


def pay_cash_exact(page: Page) -> None:
    expect(page.locator("#pay")).to_be_enabled()  # the scanned line is on screen
    page.keyboard.press("F4")
    page.click("#tender-cash")
    page.click("#complete")
    expect(page.locator("#receipt-number")).to_be_visible()


def test_scan_three_items_pay_cash_and_print(page: Page, shop, live_server):
    staff = make_staff(shop)
    stock_up(shop, {shop.mug: 5, shop.shirt_m: 5, shop.candle: 5})
    open_till(page, shop, staff)
    scan(page, shop.mug.barcode)
    scan(page, shop.shirt_m.barcode)
    scan(page, shop.candle.sku)
    expect(page.locator("#lines tbody tr")).to_have_count(3)
    expect(page.locator("#total")).to_have_text("80.40")  # 12.50 + 49.90 + 18.00
    page.keyboard.press("F4")
    page.fill("#tender-amount", "100")
    page.click("#tender-cash")
    expect(page.locator("#change")).to_have_text("19.60")
    page.click("#complete")
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000001")
    expect(page.locator("#receipt-total")).to_have_text("80.40")
    expect(page.locator("#receipt-change")).to_have_text("19.60")
    page.emulate_media(media="print")
    expect(page.locator("header")).to_be_hidden()
    expect(page.locator("#receipt-paper")).to_be_visible()
    page.emulate_media(media="screen")
    order = Order.objects.get(terminal=shop.terminal)
    assert order.total_gross == order.receipt.total_gross
    assert str(order.total_gross) == "80.40"
    assert Receipt.objects.get(order=order).full_number == "R-PT1-000001"


def test_discount_and_split_cash_and_card(page: Page, shop, live_server):
    staff = make_staff(shop)
    stock_up(shop, {shop.mug: 5, shop.shirt_m: 5, shop.candle: 5})
    open_till(page, shop, staff)
    for code in (shop.mug.barcode, shop.shirt_m.barcode, shop.candle.barcode):
        scan(page, code)
    page.once("dialog", lambda d: d.accept("10"))
    page.click("#act-order-discount")
    expect(page.locator("#total")).to_have_text("72.36")  # 80.40 − 8.04
    page.keyboard.press("F4")
    page.fill("#tender-amount", "50.00")
    page.fill("#tender-ref", "tok_visa")
    page.click("#tender-card")
    page.fill("#tender-amount", "30")
    page.click("#tender-cash")
    expect(page.locator("#change")).to_have_text("7.64")
    page.click("#complete")
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000001")
    order = Order.objects.get(terminal=shop.terminal)
    assert str(order.total_gross) == "72.36"
    assert sorted(p.tender for p in order.payments.all()) == ["card", "cash"]


def test_offline_sales_sync_exactly_once(page: Page, shop, live_server):
    staff = make_staff(shop)
    stock_up(shop, {shop.mug: 2})  # five mugs will be sold: stock goes negative
    open_till(page, shop, staff)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null || true")
    # one online sale first: the device learns the series head from it
    scan(page, shop.candle.barcode)
    pay_cash_exact(page)
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000001")
    page.click("#new-sale")

    page.context.set_offline(True)
    for i in range(5):
        scan(page, shop.mug.barcode)
        pay_cash_exact(page)
        expect(page.locator("#receipt-number")).to_have_text(f"R-PT1-{i + 2:06d}")
        page.click("#new-sale")
    expect(page.locator("#status")).to_have_text("offline · 5 sales waiting")
    assert Order.objects.filter(terminal=shop.terminal).count() == 1

    page.reload()  # the app still loads without the network
    expect(page.locator("#scan")).to_be_visible()
    expect(page.locator("#status")).to_have_text(re.compile(r"offline · 5 sales waiting"))

    page.context.set_offline(False)
    page.evaluate("window.posDebug.flush()")
    expect(page.locator("#status")).to_have_text("online · 0 sales waiting")

    orders = Order.objects.filter(terminal=shop.terminal)
    assert orders.count() == 6
    receipts = list(Receipt.objects.filter(terminal=shop.terminal).order_by("number"))
    assert [r.number for r in receipts] == [1, 2, 3, 4, 5, 6]
    links = [ChainLink(r.number, r.previous_hash, r.hash, r.hash_fields()) for r in receipts]
    assert chain_verify(links) == []
    sent = page.evaluate("window.posDebug.sent()")
    offline = sorted((s["body"] for s in sent), key=lambda b: b["offline"]["receipt_number"])
    assert [b["offline"]["receipt_number"] for b in offline] == [2, 3, 4, 5, 6]
    for body, previous in zip(offline[1:], offline, strict=False):
        assert body["offline"]["previous_hash"] == previous["offline"]["hash"]
    assert offline[0]["offline"]["previous_hash"] == receipts[0].hash
    for body in offline:
        number = body["offline"]["receipt_number"]
        assert offline_hash_check(body, terminal="pt1", full_number=f"R-PT1-{number:06d}") is None
    assert all(b["cashier_id"] == staff.cashier.pk for b in offline)
    # The server recomputed every device hash: none was altered on the way.
    assert not [f for o in orders for f in o.review_flags if "hash does not match" in f]

    replies = page.evaluate("window.posDebug.resendSent()")
    assert len(replies) == 5
    assert all(r["replayed"] for r in replies)
    assert Order.objects.filter(terminal=shop.terminal).count() == 6
    assert Receipt.objects.filter(terminal=shop.terminal).count() == 6


def test_close_the_drawer_short_and_read_the_z_report(page: Page, shop, live_server):
    staff = make_staff(shop)
    stock_up(shop, {shop.mug: 2})
    open_till(page, shop, staff)
    scan(page, shop.mug.barcode)
    pay_cash_exact(page)  # 12.50 cash in: expected 112.50 with the 100.00 float
    page.click("#new-sale")
    page.click("#act-drawer")
    page.click("#x-go")
    expect(page.locator("#x-report")).to_contain_text('"expected_cash": "112.50"')
    page.fill("input[data-denom='50']", "2")
    page.fill("input[data-denom='10']", "1")
    page.fill("input[data-denom='2']", "1")  # counted 112.00: 0.50 short
    page.click("#close-go")
    expect(page.locator("#z-over-short")).to_have_text("-0.50")
    expect(page.locator("#z-counted")).to_have_text("112.00")
