"""Issue 7's proof, in Chromium against the live server: a sale with a
coupon paid by card and cash; three sales made offline (one on a gift card)
that survive a reload and reach the server exactly once, however often the
outbox is resent; a web shop order taken back at the counter as store credit.
Each test reads the server's books back with exact values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from omniretail.accounting.models import Receipt
from omniretail.channels.models import TerminalAllowance
from omniretail.channels.pos.offline import offline_hash_check
from omniretail.channels.shop.models import ShippingMethod
from omniretail.channels.shop.services import (
    CheckoutData,
    cart_create,
    cart_line_set,
    checkout_place,
)
from omniretail.channels.shop.services.account import account_sign_up
from omniretail.core.access import SYSTEM
from omniretail.core.fiscal import GENESIS_HASH, ChainLink, chain_verify
from omniretail.core.models import Channel
from omniretail.fulfilment.shipping import shipment_pack, shipment_ship, shipments_create
from omniretail.inventory.models import StockLevel
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import GiftCard, StoreCreditAccount, StoreCreditEntry
from omniretail.loyalty.services import giftcard_issue
from omniretail.orders.models import Order, Return
from omniretail.payments.models import Payment, Refund
from omniretail.pricing.models import Coupon, CouponRedemption, Promotion
from omniretail.verify import verify_all
from tests.browser.test_pos_till import scan
from tests.conftest import stock_up
from tests.pos.conftest import make_staff
from tests.pos.web_orders import web_channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 30_000  # a server round trip on a loaded machine


def on_hand(variant, location) -> int:
    return StockLevel.objects.get(sku=variant, location=location).on_hand


def chain_of(terminal) -> tuple[list[int], list]:
    """The terminal's receipt numbers and the fiscal chain's problems, checked
    against the series counter (a receipt missing at the end shows too)."""
    receipts = list(Receipt.objects.filter(terminal=terminal).order_by("number"))
    series = terminal.receipt_series
    series.refresh_from_db()
    links = [ChainLink(r.number, r.previous_hash, r.hash, r.hash_fields()) for r in receipts]
    problems = chain_verify(links, expected_next=series.next_number, head_hash=series.head_hash)
    return [r.number for r in receipts], problems


def open_till(page: Page, shop, staff) -> None:
    """test_pos_till's pairing and PIN sign-in, waiting up to SLOW for each
    server round trip (pairing syncs the catalog, prices and customers)."""
    page.goto("/pos/")
    page.fill("#pair-code", shop.terminal_token)
    page.click("#pair-go")
    expect(page.locator("#cashier option")).to_have_count(2, timeout=SLOW)
    page.select_option("#cashier", str(staff.cashier.pk))
    page.fill("#pin", "1234")
    page.click("#signin-go")
    expect(page.locator("#scan")).to_be_focused(timeout=SLOW)
    expect(page.locator("#who")).to_have_text("Camille (cashier)")
    expect(page.locator("#status")).to_have_text("online · 0 sales waiting", timeout=SLOW)


def complete(page: Page) -> None:
    expect(page.locator("#complete")).to_be_enabled()
    page.click("#complete")


def pay_cash_exact(page: Page) -> None:
    expect(page.locator("#pay")).to_be_enabled()  # the scanned line is on screen
    page.keyboard.press("F4")
    page.click("#tender-cash")
    complete(page)
    expect(page.locator("#receipt-number")).to_be_visible(timeout=SLOW)


def test_coupon_sale_paid_by_card_and_cash(page: Page, shop, live_server):
    staff = make_staff(shop)
    stock_up(shop, {shop.mug: 5, shop.shirt_m: 5, shop.candle: 5})
    promo = Promotion.objects.create(
        code="till10",
        name="10 off at the till",
        kind="amount_off",
        target="order",
        value=Decimal("10.00"),
        coupon_required=True,
    )
    promo.channels.add(shop.pos_channel)
    Coupon.objects.create(code="TILL10", promotion=promo, max_uses=5)

    open_till(page, shop, staff)  # paired, Camille signed in with her PIN
    scan(page, shop.mug.barcode)
    scan(page, shop.shirt_m.barcode)
    scan(page, shop.candle.sku)
    expect(page.locator("#lines tbody tr")).to_have_count(3)
    expect(page.locator("#total")).to_have_text("80.40")  # 12.50 + 49.90 + 18.00
    page.once("dialog", lambda d: d.accept("till10"))
    page.click("#act-coupon")
    expect(page.locator("#total")).to_have_text("70.40")
    expect(page.locator("#lines .reason")).to_have_count(3)
    expect(page.locator("#lines .reason").first).to_contain_text("coupon TILL10: −1.55")

    page.keyboard.press("F4")
    expect(page.locator("#pay-total")).to_have_text("70.40")
    page.fill("#tender-amount", "30.00")
    page.fill("#tender-ref", "tok_visa")  # the card terminal's gateway token
    page.click("#tender-card")
    expect(page.locator("#left")).to_have_text("40.40")
    page.fill("#tender-amount", "50")
    page.click("#tender-cash")
    expect(page.locator("#change")).to_have_text("9.60")
    complete(page)
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000001", timeout=SLOW)
    expect(page.locator("#receipt-total")).to_have_text("70.40")
    expect(page.locator("#receipt-change")).to_have_text("9.60")

    order = Order.objects.get(terminal=shop.terminal)
    assert (order.total_gross, order.discount_total, order.coupon_codes) == (
        Decimal("70.40"),
        Decimal("10.00"),
        ["TILL10"],
    )
    lines = list(order.lines.order_by("line_no").values_list("sku__sku", "quantity", "gross"))
    # 10.00 spread in proportion: 1.55 + 6.21 + 2.24.
    assert lines == [
        ("MUG-GR", 1, Decimal("10.95")),
        ("LS-M", 1, Decimal("43.69")),
        ("CAN-FIG", 1, Decimal("15.76")),
    ]
    assert Coupon.objects.get(code="TILL10").uses == 1
    [redemption] = CouponRedemption.objects.all()
    assert (redemption.order_type, redemption.order_id) == ("order", str(order.pk))
    payments = sorted(
        Payment.objects.filter(order=order).values_list("tender", "amount", "tendered", "change")
    )
    assert payments == [
        ("card", Decimal("30.00"), Decimal("30.00"), Decimal("0.00")),
        ("cash", Decimal("40.40"), Decimal("50.00"), Decimal("9.60")),
    ]
    card = Payment.objects.get(order=order, tender="card")
    assert (card.gateway, card.status, card.captured_amount) == (
        "test",
        "captured",
        Decimal("30.00"),
    )
    assert sum(p.amount for p in order.payments.all()) == order.total_gross
    receipt = Receipt.objects.get(order=order)
    assert (receipt.full_number, receipt.total_gross, receipt.previous_hash) == (
        "R-PT1-000001",
        Decimal("70.40"),
        GENESIS_HASH,
    )
    assert [on_hand(v, shop.floor) for v in (shop.mug, shop.shirt_m, shop.candle)] == [4, 4, 4]
    assert chain_of(shop.terminal) == ([1], [])
    problems, _ = verify_all()
    assert problems == []


def test_three_offline_sales_reach_the_server_exactly_once(page: Page, shop, live_server):
    staff = make_staff(shop)
    stock_up(shop, {shop.mug: 5, shop.shirt_m: 5, shop.candle: 5})
    TerminalAllowance.objects.create(
        terminal=shop.terminal, gift_card_amount=Decimal("20.00"), points=0
    )
    card, code = giftcard_issue(
        amount=Decimal("50.00"),
        currency="EUR",
        reference=Reference("test", "gc-proof"),
        actor=SYSTEM,
        sold=False,
        store_id=shop.store.pk,
        reason="test card",
    )
    open_till(page, shop, staff)
    # The service worker has cached the app shell before the network goes.
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=SLOW)
    page.context.set_offline(True)
    expect(page.locator("#status")).to_have_text("offline · 0 sales waiting", timeout=SLOW)

    scan(page, shop.mug.barcode)  # 12.50 in cash, exact
    pay_cash_exact(page)
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000001", timeout=SLOW)
    page.click("#new-sale")

    scan(page, shop.candle.barcode)  # 18.00 on the gift card: within the 20.00 allowance
    expect(page.locator("#pay")).to_be_enabled()
    page.keyboard.press("F4")
    page.fill("#tender-ref", code)
    page.click("#tender-gift_card")
    expect(page.locator("#left")).to_have_text("0.00")
    complete(page)
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000002", timeout=SLOW)
    page.click("#new-sale")

    scan(page, shop.shirt_m.barcode)  # 49.90, paid with a 50 note
    expect(page.locator("#pay")).to_be_enabled()
    page.keyboard.press("F4")
    page.fill("#tender-amount", "50")
    page.click("#tender-cash")
    expect(page.locator("#change")).to_have_text("0.10")
    complete(page)
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000003", timeout=SLOW)
    expect(page.locator("#receipt-change")).to_have_text("0.10")
    expect(page.locator("#status")).to_have_text("offline · 3 sales waiting")
    assert not Order.objects.filter(terminal=shop.terminal).exists()

    # Reloaded without a network, the app comes from the service worker's cache.
    response = page.reload(timeout=SLOW)
    assert response is not None
    assert response.from_service_worker
    expect(page.locator("#scan")).to_be_visible(timeout=SLOW)
    expect(page.locator("#status")).to_have_text("offline · 3 sales waiting", timeout=SLOW)
    worker = page.context.service_workers[0]
    assert worker.evaluate("fetch('/pos/').then(() => 'reached', () => 'no network')") == (
        "no network"
    )
    assert not Order.objects.filter(terminal=shop.terminal).exists()

    # Back online: the till sends its outbox by itself.
    page.context.set_offline(False)
    expect(page.locator("#status")).to_have_text("online · 0 sales waiting", timeout=SLOW)

    def server_state() -> dict:
        orders = list(Order.objects.filter(terminal=shop.terminal).order_by("receipt__number"))
        return {
            "orders": [(o.receipt.full_number, o.total_gross) for o in orders],
            "payments": sorted(
                Payment.objects.filter(order__in=orders).values_list("tender", "amount", "change")
            ),
            "gift_card": GiftCard.objects.get(pk=card.pk).balance,
            "stock": [on_hand(v, shop.floor) for v in (shop.mug, shop.candle, shop.shirt_m)],
            "chain": chain_of(shop.terminal),
        }

    expected = {
        "orders": [
            ("R-PT1-000001", Decimal("12.50")),
            ("R-PT1-000002", Decimal("18.00")),
            ("R-PT1-000003", Decimal("49.90")),
        ],
        "payments": [
            ("cash", Decimal("12.50"), Decimal("0.00")),
            ("cash", Decimal("49.90"), Decimal("0.10")),
            ("gift_card", Decimal("18.00"), Decimal("0.00")),
        ],
        "gift_card": Decimal("32.00"),  # 50.00 − 18.00
        "stock": [4, 4, 4],
        "chain": ([1, 2, 3], []),
    }
    assert server_state() == expected
    orders = Order.objects.filter(terminal=shop.terminal)
    # Nothing to review but the fact that each was sold offline: numbers and
    # device hashes all check out.
    assert [[f for f in o.review_flags if not f.startswith("sold offline at")] for o in orders] == [
        [],
        [],
        [],
    ]
    sent = sorted(
        (s["body"] for s in page.evaluate("window.posDebug.sent()")),
        key=lambda b: b["offline"]["receipt_number"],
    )
    assert [b["offline"]["receipt_number"] for b in sent] == [1, 2, 3]
    assert sent[0]["offline"]["previous_hash"] == GENESIS_HASH
    for body, previous in zip(sent[1:], sent, strict=False):
        assert body["offline"]["previous_hash"] == previous["offline"]["hash"]
    for body in sent:
        number = body["offline"]["receipt_number"]
        assert offline_hash_check(body, terminal="pt1", full_number=f"R-PT1-{number:06d}") is None
    problems, _ = verify_all()
    assert problems == []

    # The same sales sent again, straight to the API: each returns the first.
    replies = page.evaluate("window.posDebug.resendSent()")
    assert sorted((r["receipt_number"], r["replayed"]) for r in replies) == [
        ("R-PT1-000001", True),
        ("R-PT1-000002", True),
        ("R-PT1-000003", True),
    ]
    # And the same outbox put back and flushed by the till's own sync.
    page.evaluate(
        """async () => {
            const src = document.querySelector("script[type=module]").src;
            const db = await import(new URL("db.js", src).href);
            for (const item of await db.all("sent")) await db.put("outbox", item.body);
            await window.posDebug.flush();
        }"""
    )
    expect(page.locator("#status")).to_have_text("online · 0 sales waiting", timeout=SLOW)
    assert page.evaluate("window.posDebug.outbox()") == []
    assert page.evaluate("window.posDebug.rejected()") == []
    assert sorted(
        (s["result"]["receipt_number"], s["result"]["replayed"])
        for s in page.evaluate("window.posDebug.sent()")
    ) == [("R-PT1-000001", True), ("R-PT1-000002", True), ("R-PT1-000003", True)]
    assert server_state() == expected
    assert Receipt.objects.filter(terminal=shop.terminal).count() == 3


def test_a_web_shop_order_returned_at_the_counter_as_store_credit(page: Page, shop, live_server):
    staff = make_staff(shop)
    web_channel(shop)  # the web shop sells from the warehouse
    web = Channel.objects.get(code="web")
    ShippingMethod.objects.create(
        code="standard", name="Standard delivery", price=Decimal("4.90"), position=1
    )
    stock_up(shop, {shop.mug: 5}, location=shop.warehouse)
    stock_up(shop, {shop.mug: 1})
    lea = account_sign_up(
        email="lea@example.com", password="linen-and-figs", first_name="Léa", last_name="Martin"
    ).customer

    # Léa, signed in on the web shop, buys two mugs, delivered.
    cart = cart_create(channel=web, customer_id=lea.pk)
    cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=2)
    order = checkout_place(
        cart=cart,
        data=CheckoutData(
            email="lea@example.com",
            first_name="Léa",
            last_name="Martin",
            fulfilment="ship",
            card_token="tok_visa",
            address={
                "name": "Léa Martin",
                "line1": "5 rue de la Paix",
                "postcode": "75002",
                "city": "Paris",
                "country": "FR",
            },
            shipping_method="standard",
        ),
        customer_id=lea.pk,
    )
    assert (order.channel_id, order.customer_id, order.total_gross) == (
        web.pk,
        lea.pk,
        Decimal("29.90"),  # 2 × 12.50 + 4.90 delivery
    )
    for parcel in shipments_create(order=order, actor=SYSTEM):
        shipment_pack(shipment=parcel, actor=SYSTEM)
        shipment_ship(shipment=parcel, carrier="La Poste", tracking_number="6A999", actor=SYSTEM)
    order.refresh_from_db()
    assert order.status == "fulfilled"
    [mugs] = order.lines.all()
    [web_card] = Payment.objects.filter(order=order)

    # She brings one mug to the Paris store.
    open_till(page, shop, staff)
    page.click("#act-returns")
    page.fill("#find", "lea@example.com")  # found by the customer
    page.press("#find", "Enter")
    sale = page.locator("fieldset.order")
    expect(sale).to_have_count(1, timeout=SLOW)
    expect(sale.locator("legend")).to_contain_text("web · ")
    expect(sale.locator("legend")).to_contain_text("Léa Martin · 29.90 EUR · paid by card")
    page.fill(f"input.ret-qty[data-line='{mugs.pk}']", "1")
    sale.locator(".ret-method").select_option("store_credit")
    sale.locator(".ret-go").click()
    expect(page.locator("#return-number")).to_have_text("RET-000001", timeout=SLOW)
    expect(page.locator("#return-done")).to_have_text(
        "Return RET-000001: 12.50 EUR refunded as store credit."
    )

    ret = Return.objects.get()
    assert (
        ret.number,
        ret.order_id,
        ret.channel_id,
        ret.store_id,
        ret.location_id,
        ret.refund_method,
        ret.refund_amount,
    ) == (
        "RET-000001",
        order.pk,
        shop.pos_channel.pk,
        shop.store.pk,
        shop.floor.pk,
        "store_credit",
        Decimal("12.50"),
    )
    assert list(ret.lines.values_list("order_line_id", "quantity", "refund_amount")) == [
        (mugs.pk, 1, Decimal("12.50"))
    ]
    mugs.refresh_from_db()
    assert mugs.quantity_returned == 1
    account = StoreCreditAccount.objects.get(customer=lea)
    assert (account.currency, account.balance) == ("EUR", Decimal("12.50"))
    assert list(StoreCreditEntry.objects.filter(account=account).values_list("amount")) == [
        (Decimal("12.50"),)
    ]
    # Store credit, not the card: nothing went back through the gateway.
    web_card.refresh_from_db()
    assert web_card.refunded_amount == Decimal("0.00")
    assert not Refund.objects.exists()
    assert on_hand(shop.mug, shop.floor) == 2  # back on the Paris shelf
    assert on_hand(shop.mug, shop.warehouse) == 3
    problems, _ = verify_all()
    assert problems == []
