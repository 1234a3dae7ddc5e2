"""Checkout: the cart's holds become the order's (routed like any channel's
order), the card is authorised after the stock is secured, and a shortage
or a refused card charges nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from omniretail.channels.shop.models import Cart
from omniretail.channels.shop.selectors import pickup_stores
from omniretail.channels.shop.services import (
    CheckoutData,
    OutOfStock,
    PaymentRefused,
    cart_coupon_add,
    cart_create,
    cart_line_set,
    checkout_place,
)
from omniretail.core.access import SYSTEM
from omniretail.core.errors import ValidationFailed
from omniretail.fulfilment.models import Shipment
from omniretail.fulfilment.shipping import pickup_hand_over, pickup_ready, shipments_create
from omniretail.inventory.models import Reservation, StockLevel
from omniretail.inventory.services import reservations_expire
from omniretail.orders.models import Order
from omniretail.payments.models import GatewayTestCharge, Payment
from omniretail.pricing.models import Coupon, CouponRedemption, Promotion

ADDRESS = {"name": "Léa Martin", "line1": "3 rue Oberkampf", "postcode": "75011",
           "city": "Paris", "country": "FR"}  # fmt: skip


def delivery(token: str = "tok_visa", **kw) -> CheckoutData:
    return CheckoutData(
        email=kw.pop("email", "lea@example.com"),
        first_name="Léa",
        last_name="Martin",
        fulfilment="ship",
        address=ADDRESS,
        shipping_method="standard",
        card_token=token,
        **kw,
    )


def active(demand_type: str) -> list[tuple[str, int]]:
    return sorted(
        Reservation.objects.filter(demand_type=demand_type, status="active").values_list(
            "location__code", "quantity"
        )
    )


def test_two_items_delivered_with_a_coupon(
    web_shop, mailoutbox, django_capture_on_commit_callbacks
):
    shop = web_shop.shop
    welcome = Promotion.objects.create(
        code="welcome", name="Welcome 10%", kind="percent_off", target="order",
        value=Decimal("10"), coupon_required=True,
    )  # fmt: skip
    Coupon.objects.create(code="WELCOME10", promotion=welcome, max_uses=100)
    cart = cart_create(channel=web_shop.web)
    cart_line_set(cart=cart, sku_id=shop.shirt_m.pk, quantity=1)
    cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=2)
    cart_coupon_add(cart=cart, code="welcome10")

    with django_capture_on_commit_callbacks(execute=True):
        order = checkout_place(cart=cart, data=delivery())

    # 49.90 + 2 × 12.50 = 74.90, 10 % off = 7.49 → 67.41, + 4.90 delivery = 72.31
    assert order.channel == web_shop.web
    assert (order.status, order.payment_status) == ("allocated", "authorized")
    assert (order.total_gross, order.shipping_gross, order.discount_total) == (
        Decimal("72.31"), Decimal("4.90"), Decimal("7.49"),
    )  # fmt: skip
    assert order.external_id == f"WEB-{cart.pk:06d}-1"
    assert order.customer.email == "lea@example.com"
    assert order.shipping_address == ADDRESS
    assert active("order_line") == [("wh-main", 1), ("wh-main", 2)]
    assert active("cart") == []  # the cart's holds became the order's
    assert StockLevel.objects.get(sku=shop.mug, location=shop.warehouse).reserved == 2
    payment = Payment.objects.get(order=order)
    assert (payment.tender, payment.status, payment.amount) == (
        "card", "authorised", Decimal("72.31"),
    )  # fmt: skip
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    assert Coupon.objects.get(code="WELCOME10").uses == 1
    assert CouponRedemption.objects.filter(order_id=str(order.pk)).count() == 1
    assert Cart.objects.get(pk=cart.pk).status == "ordered"
    assert [m.subject for m in mailoutbox] == [
        f"Acme Home & Apparel: your order {order.external_id} is confirmed"
    ]


def test_stock_gone_between_cart_and_payment_names_the_line_and_charges_nothing(web_shop):
    shop = web_shop.shop
    slow = cart_create(channel=web_shop.web)
    cart_line_set(cart=slow, sku_id=shop.mug.pk, quantity=1)
    cart_line_set(cart=slow, sku_id=shop.shirt_m.pk, quantity=4)
    # The slow shopper's holds expire; someone else takes 3 shirts and pays.
    reservations_expire(now=timezone.now() + dt.timedelta(minutes=31))
    fast = cart_create(channel=web_shop.web)
    cart_line_set(cart=fast, sku_id=shop.shirt_m.pk, quantity=3)
    checkout_place(cart=fast, data=delivery(email="sam@example.com"))
    charges = GatewayTestCharge.objects.count()

    with pytest.raises(OutOfStock) as short:
        checkout_place(cart=slow, data=delivery())

    assert short.value.message == (
        "Linen Shirt — White / M: you asked for 4, only 2 left. Lower the quantity or remove "
        "it; nothing was charged."
    )
    assert short.value.extra["short"] == [
        {"name": "Linen Shirt — White / M", "sku": "LS-M", "requested": 4, "available": 2}
    ]
    assert GatewayTestCharge.objects.count() == charges
    assert Order.objects.filter(customer__email="lea@example.com").count() == 0
    assert Cart.objects.get(pk=slow.pk).status == "open"


def test_a_declined_card_cancels_the_order_and_gives_the_cart_back_held(web_shop):
    shop = web_shop.shop
    cart = cart_create(channel=web_shop.web)
    cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=2)

    with pytest.raises(PaymentRefused) as refused:
        checkout_place(cart=cart, data=delivery("tok_chargeDeclined"))

    assert "declined" in refused.value.message
    assert "Nothing was charged" in refused.value.message
    order = Order.objects.get(channel=web_shop.web)
    assert (order.status, order.payment_status) == ("cancelled", "unpaid")
    assert not Payment.objects.filter(order=order).exists()
    assert GatewayTestCharge.objects.get().status == "declined"
    assert active("order_line") == []
    assert active("cart") == [("wh-main", 2)]
    assert StockLevel.objects.get(sku=shop.mug, location=shop.warehouse).reserved == 2
    again = checkout_place(cart=Cart.objects.get(pk=cart.pk), data=delivery())
    assert again.external_id == f"WEB-{cart.pk:06d}-2"
    assert again.status == "allocated"


def test_a_card_number_is_refused_as_a_token_before_anything_happens(web_shop):
    cart = cart_create(channel=web_shop.web)
    cart_line_set(cart=cart, sku_id=web_shop.shop.mug.pk, quantity=1)
    with pytest.raises(ValidationFailed) as bad:
        checkout_place(cart=cart, data=delivery("4242424242424242"))
    assert bad.value.field == "card_token"
    assert not Order.objects.exists()
    assert GatewayTestCharge.objects.count() == 0


def test_pick_up_in_a_store_that_has_it_and_hand_over_with_the_code(web_shop, mailoutbox):
    shop = web_shop.shop
    cart = cart_create(channel=web_shop.web)
    cart_line_set(cart=cart, sku_id=shop.candle.pk, quantity=2)
    assert [s.code for s in pickup_stores(cart=cart)] == ["paris"]
    cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=1)  # only in the warehouse
    assert pickup_stores(cart=cart) == []
    cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=0)

    data = CheckoutData(
        email="lea@example.com", first_name="Léa", last_name="Martin",
        fulfilment="pickup", pickup_store="paris", card_token="tok_mastercard",
    )  # fmt: skip
    order = checkout_place(cart=cart, data=data)

    assert (order.status, order.fulfilment_method, order.pickup_store) == (
        "allocated", "pickup", shop.store,
    )  # fmt: skip
    assert order.total_gross == Decimal("36.00")
    assert active("order_line") == [("st-paris", 2)]
    (shipment,) = shipments_create(order=order, actor=SYSTEM)
    shipment = pickup_ready(shipment=shipment, actor=SYSTEM)
    pickup_hand_over(shipment=shipment, code=shipment.collection_code, actor=SYSTEM)
    assert Shipment.objects.get(pk=shipment.pk).status == "collected"
    assert StockLevel.objects.get(sku=shop.candle, location=shop.floor).on_hand == 1


def test_a_pick_up_store_without_the_goods_is_refused(web_shop):
    cart = cart_create(channel=web_shop.web)
    cart_line_set(cart=cart, sku_id=web_shop.shop.mug.pk, quantity=1)
    data = CheckoutData(
        email="lea@example.com", first_name="Léa", last_name="",
        fulfilment="pickup", pickup_store="paris", card_token="tok_visa",
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as bad:
        checkout_place(cart=cart, data=data)
    assert bad.value.field == "pickup_store"
    assert not Order.objects.exists()
