"""The cart holds stock for the web channel, renews its holds on activity
and loses them when abandoned."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from omniretail.channels.shop.models import CartLine
from omniretail.channels.shop.selectors import cart_view
from omniretail.channels.shop.services import (
    cart_coupon_add,
    cart_create,
    cart_holds_renew,
    cart_line_set,
)
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.inventory.models import Reservation, StockLevel
from omniretail.inventory.services import reservations_expire
from omniretail.pricing.models import Coupon, Promotion


def holds(cart):
    return sorted(
        Reservation.objects.filter(demand_type="cart", status="active").values_list(
            "demand_id", "location__code", "quantity"
        )
    )


def reserved(variant, location) -> int:
    return StockLevel.objects.get(sku=variant, location=location).reserved


def test_adding_holds_the_stock_at_the_channels_first_location_for_30_minutes(web_shop):
    shop = web_shop.shop
    cart = cart_create(channel=web_shop.web)
    before = timezone.now()
    assert cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=2, add=True) == 2
    assert cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=1, add=True) == 3
    assert holds(cart) == [(f"{cart.pk}:{shop.mug.pk}", "wh-main", 3)]
    assert reserved(shop.mug, shop.warehouse) == 3
    hold = Reservation.objects.get(demand_type="cart", status="active")
    assert (
        before + dt.timedelta(minutes=29)
        < hold.expires_at
        <= timezone.now() + dt.timedelta(minutes=30)
    )
    # Setting a lower quantity gives the rest back; 0 removes the line.
    cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=1)
    assert reserved(shop.mug, shop.warehouse) == 1
    cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=0)
    assert reserved(shop.mug, shop.warehouse) == 0
    assert not CartLine.objects.filter(cart=cart).exists()


def test_more_than_the_channel_has_is_refused_and_changes_nothing(web_shop):
    shop = web_shop.shop
    cart = cart_create(channel=web_shop.web)
    cart_line_set(cart=cart, sku_id=shop.shirt_m.pk, quantity=4)
    with pytest.raises(Conflict) as refused:
        cart_line_set(cart=cart, sku_id=shop.shirt_m.pk, quantity=2, add=True)
    assert refused.value.message == (
        "Linen Shirt — White / M: only 5 available online; you asked for 6. Lower the quantity."
    )
    assert CartLine.objects.get(cart=cart).quantity == 4
    assert reserved(shop.shirt_m, shop.warehouse) == 4
    with pytest.raises(ValidationFailed) as bad:
        cart_line_set(cart=cart, sku_id=shop.shirt_m.pk, quantity=-1)
    assert bad.value.field == "quantity"


def test_an_abandoned_cart_loses_its_holds_and_gets_them_back_on_return(web_shop):
    shop = web_shop.shop
    cart = cart_create(channel=web_shop.web)
    cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=2)
    assert reservations_expire(now=timezone.now() + dt.timedelta(minutes=31)) == 1
    assert reserved(shop.mug, shop.warehouse) == 0
    cart.refresh_from_db()
    cart.holds_expire_at = timezone.now() - dt.timedelta(minutes=1)
    cart.save()
    assert cart_holds_renew(cart=cart) == []
    assert reserved(shop.mug, shop.warehouse) == 2
    assert holds(cart) == [(f"{cart.pk}:{shop.mug.pk}", "wh-main", 2)]


def test_the_cart_is_priced_by_the_engine_with_each_discount_and_its_reason(web_shop):
    shop = web_shop.shop
    promo = Promotion.objects.create(
        code="mugs-20", name="Mugs 20% off", kind="percent_off", value=Decimal("20")
    )
    promo.variants.add(shop.mug)
    welcome = Promotion.objects.create(
        code="welcome", name="Welcome 5 off", kind="amount_off", target="order",
        value=Decimal("5"), coupon_required=True,
    )  # fmt: skip
    Coupon.objects.create(code="HELLO5", promotion=welcome, max_uses=10)
    cart = cart_create(channel=web_shop.web)
    cart_line_set(cart=cart, sku_id=shop.mug.pk, quantity=2)
    cart_line_set(cart=cart, sku_id=shop.shirt_m.pk, quantity=1)
    with pytest.raises(ValidationFailed) as unknown:
        cart_coupon_add(cart=cart, code="NOPE")
    assert unknown.value.field == "coupon"
    assert cart_coupon_add(cart=cart, code=" hello5 ") == "HELLO5"
    cart.refresh_from_db()
    view = cart_view(cart=cart)
    mug = next(line for line in view.lines if line.sku == "MUG-GR")
    # 2 × 12.50 = 25.00; 20 % off = 5.00; then the order's 5.00 split by what is left
    # (20.00 of 69.90): 1.43 on the mugs.
    assert [(d.reason, d.amount) for d in mug.discounts] == [
        ("Mugs 20% off: 20% off", Decimal("5.00")),
        (
            "Welcome 5 off: 5.00 EUR off the order (this line's share), coupon HELLO5",
            Decimal("1.43"),
        ),
    ]
    assert view.subtotal == Decimal("74.90")
    assert view.discount_total == Decimal("10.00")
    assert view.gross == Decimal("64.90")
    assert view.coupons_applied == ("HELLO5",)
