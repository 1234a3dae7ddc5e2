"""The web shop in Chromium: a delivery order with a coupon, buy online and
pick up in store, two shoppers racing for the last unit, and an in-store
customer who signs up online. The card number never leaves the browser."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Browser, Page, Request, expect

from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM
from omniretail.customers.models import Customer
from omniretail.fulfilment.shipping import pickup_hand_over, pickup_ready, shipments_create
from omniretail.inventory.models import Reservation
from omniretail.inventory.services import reservations_expire
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import EarningRule, LoyaltyAccount, LoyaltyProgram
from omniretail.loyalty.services import points_earn
from omniretail.orders.models import Order
from omniretail.payments.models import GatewayTestCharge, Payment
from omniretail.pricing.models import Coupon, Promotion
from tests.browser.conftest import TIMEOUT_MS
from tests.conftest import stock_up
from tests.shop.conftest import WebShop, build_web_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def web_shop(db) -> WebShop:
    cache.clear()  # the shop caches its channel and category tree per process
    ws = build_web_shop()
    stock_up(ws.shop, {ws.shop.shirt_m: 5, ws.shop.mug: 10}, location=ws.shop.warehouse)
    stock_up(ws.shop, {ws.shop.candle: 3})  # only on the Paris floor
    return ws


@pytest.fixture
def posted(page: Page) -> list[str]:
    """The body of every form the page posted."""
    bodies: list[str] = []

    def keep(request: Request) -> None:
        if request.method == "POST":
            bodies.append(request.post_data or "")

    page.on("request", keep)
    return bodies


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Errors the page logged (a Content-Security-Policy violation is one)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def add_to_cart(page: Page, product_code: str, quantity: int = 1, variant: str = "") -> None:
    page.goto(f"/shop/p/{product_code}/")
    if variant:
        page.get_by_label(variant).check()
        expect(page.locator(".sku")).to_contain_text(variant)
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-feedback")).to_contain_text("Added")


def fill_customer(page: Page, email: str = "lea@example.com") -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("First name").fill("Léa")
    page.get_by_label("Last name").fill("Martin")


def pay(page: Page, card: str = "4242 4242 4242 4242") -> None:
    assert page.locator("#card-number").get_attribute("name") is None
    assert page.locator("#card-expiry").get_attribute("name") is None
    assert page.locator("#card-cvc").get_attribute("name") is None
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry (MM/YY)").fill("12/30")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Pay").click()


def test_buy_two_items_for_delivery_with_a_coupon(
    page: Page,
    web_shop: WebShop,
    posted: list[str],
    offsite_requests: list[str],
    console_errors: list[str],
):
    shop = web_shop.shop
    welcome = Promotion.objects.create(
        code="welcome", name="Welcome 10%", kind="percent_off", target="order",
        value=Decimal("10"), coupon_required=True,
    )  # fmt: skip
    Coupon.objects.create(code="WELCOME10", promotion=welcome, max_uses=100)

    add_to_cart(page, shop.shirt.code, variant="White / M")
    add_to_cart(page, shop.mug.product.code, quantity=2)
    expect(page.locator("#cart-count")).to_have_text("3")
    page.get_by_role("link", name="Cart (3)").click()
    page.get_by_label("Coupon code").fill("welcome10")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Coupon WELCOME10 applied.")).to_be_visible()
    expect(page.locator("#discount-total")).to_have_text("−7.49 EUR")
    expect(page.locator("#cart-total")).to_have_text("67.41 EUR")
    page.get_by_role("link", name="Checkout").click()

    fill_customer(page)
    page.get_by_label("Name on the parcel").fill("Léa Martin")
    page.get_by_label("Address", exact=True).fill("3 rue Oberkampf")
    page.get_by_label("Postcode").fill("75011")
    page.get_by_label("City").fill("Paris")
    page.get_by_label("Standard delivery — 4.90 EUR").check()
    pay(page)

    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    expect(page.locator("#order-total")).to_have_text("72.31 EUR")
    order = Order.objects.get(channel=web_shop.web)
    expect(page.locator("#order-reference")).to_have_text(order.external_id)
    assert (order.status, order.payment_status) == ("allocated", "authorized")
    held = sorted(
        Reservation.objects.filter(demand_type="order_line", status="active").values_list(
            "location__code", "sku__sku", "quantity"
        )
    )
    assert held == [("wh-main", "LS-M", 1), ("wh-main", "MUG-GR", 2)]
    assert Payment.objects.get(order=order).amount == Decimal("72.31")
    # No card number reached the server: only the token was posted.
    checkout_posts = [b for b in posted if "card_token" in b]
    assert len(checkout_posts) == 1
    assert "card_token=tok_visa" in checkout_posts[0]
    assert not any("4242" in body for body in posted)
    assert offsite_requests == []
    assert console_errors == []  # nothing blocked by the Content-Security-Policy


def test_buy_online_and_pick_up_in_a_store_that_has_it(page: Page, web_shop: WebShop):
    shop = web_shop.shop
    add_to_cart(page, shop.candle.product.code, quantity=2)
    page.goto("/shop/checkout/")
    fill_customer(page)
    page.get_by_label("Pick up in a store").check()
    expect(page.locator("#ship-fields")).to_be_hidden()
    store = page.get_by_label("Store (only stores that have every item)")
    assert store.locator("option").all_inner_texts() == [
        "Choose a store",
        "Paris Marais",
    ]
    store.select_option(label="Paris Marais")
    pay(page, "5555 5555 5555 4444")
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    expect(page.get_by_text("Pick it up at Paris Marais")).to_be_visible()

    # The store's side: pick, make ready, hand over with the customer's code.
    order = Order.objects.get(channel=web_shop.web)
    assert (order.fulfilment_method, order.pickup_store_id) == ("pickup", shop.store.pk)
    (shipment,) = shipments_create(order=order, actor=SYSTEM)
    assert shipment.location == shop.floor
    shipment = pickup_ready(shipment=shipment, actor=SYSTEM)
    pickup_hand_over(shipment=shipment, code=shipment.collection_code, actor=SYSTEM)
    order.refresh_from_db()
    assert order.status == "completed"
    assert Payment.objects.get(order=order).card_brand == "mastercard"


@pytest.fixture
def second_page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_two_shoppers_race_for_the_last_unit(page: Page, second_page: Page, web_shop: WebShop):
    shop = web_shop.shop
    stock_up(shop, {shop.shirt_l: 1}, location=shop.warehouse)
    ana, ben = page, second_page

    add_to_cart(ana, shop.shirt.code, variant="White / L")
    # Ben cannot even put it in his cart while Ana's cart holds it.
    ben.goto(f"/shop/p/{shop.shirt.code}/?sku=LS-L")
    expect(ben.locator("#availability")).to_have_text("Out of stock online")

    # Ana dawdles: her hold expires, Ben takes the unit and reaches checkout.
    reservations_expire(now=timezone.now() + dt.timedelta(minutes=31))
    add_to_cart(ben, shop.shirt.code, variant="White / L")
    ben.goto("/shop/checkout/")
    ana.goto("/shop/checkout/")
    for who in (ben, ana):
        fill_customer(who, email=f"{'ben' if who is ben else 'ana'}@example.com")
        who.get_by_label("Name on the parcel").fill("Someone")
        who.get_by_label("Address", exact=True).fill("1 rue de Rivoli")
        who.get_by_label("Postcode").fill("75001")
        who.get_by_label("City").fill("Paris")
    pay(ben)
    expect(ben.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    pay(ana)

    problem = ana.locator("#checkout-problem")
    expect(problem).to_contain_text(
        "Linen Shirt — White / L: you asked for 1, only 0 left. Lower the quantity or remove it; "
        "nothing was charged."
    )
    expect(problem).to_contain_text("Linen Shirt — White / L (SKU LS-L): you asked for 1, 0 left.")
    assert list(Order.objects.values_list("email", flat=True)) == ["ben@example.com"]
    assert GatewayTestCharge.objects.count() == 1
    assert Payment.objects.count() == 1


def test_an_in_store_customer_signs_up_and_sees_the_store_purchase_and_points(
    page: Page, web_shop: WebShop
):
    shop = web_shop.shop
    program = LoyaltyProgram.objects.create(
        code="club", name="Club", currency="EUR", point_value=Decimal("0.01"), expiry_days=365
    )
    EarningRule.objects.create(program=program, group=None, points_per_unit=Decimal("1"))
    lea = Customer.objects.create(first_name="Léa", last_name="Martin", email="lea@example.com")
    stock_up(shop, {shop.mug: 4})
    sale = pos_sale_record(
        terminal=shop.terminal, client_uuid=uuid.uuid4(), lines=[SaleLine(2, sku="MUG-GR")],
        tenders=[Tender("cash", Decimal("25.00"))], actor=SYSTEM, customer_id=lea.pk,
    ).order  # fmt: skip
    # The till earns the points itself when it does; once per sale either way.
    points_earn(
        customer=lea,
        net_amount=sale.total_net,
        currency="EUR",
        reference=Reference("order", str(sale.pk)),
    )
    points = LoyaltyAccount.objects.get(customer=lea).balance
    assert points == 20  # 20.83 net at 1 point per euro

    page.goto("/shop/account/signup/")
    page.get_by_label("E-mail").fill("LEA@example.com")
    page.get_by_label("First name").fill("Léa")
    page.get_by_label("Password", exact=True).fill("linen-and-figs")
    page.get_by_label("Password again").fill("linen-and-figs")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Hello Léa")).to_be_visible()
    expect(page.get_by_role("link", name=f"Store purchase #{sale.pk}")).to_be_visible()
    expect(page.get_by_text("In store: Paris Marais")).to_be_visible()
    expect(page.locator("#points-club")).to_have_text("20 points (worth 0.20 EUR)")
    page.get_by_role("link", name=f"Store purchase #{sale.pk}").click()
    expect(page.get_by_role("rowheader", name="Stoneware Mug Grey")).to_be_visible()
