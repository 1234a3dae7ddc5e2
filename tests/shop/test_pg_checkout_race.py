"""Shoppers checking out the last units at the same moment, on PostgreSQL
(SQLite serialises writers): exactly the stock there is gets sold, every
other shopper is told and charged nothing."""

from __future__ import annotations

import pytest

from omniretail.channels.shop.models import Cart
from omniretail.channels.shop.services import (
    CheckoutData,
    OutOfStock,
    cart_create,
    checkout_place,
)
from omniretail.inventory.models import StockLevel
from omniretail.orders.models import Order
from omniretail.payments.models import GatewayTestCharge, Payment
from omniretail.verify import verify_all
from tests.concurrency.test_pg_concurrency import in_threads
from tests.conftest import stock_up
from tests.shop.conftest import build_web_shop

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

SHOPPERS = 6


def test_six_shoppers_check_out_the_last_two_units_at_once():
    ws = build_web_shop()
    shirt = ws.shop.shirt_l
    stock_up(ws.shop, {shirt: 2}, location=ws.shop.warehouse)
    # Every shopper put a unit in their cart; their holds expired while they
    # dawdled (a line without a hold is what an expired cart looks like).
    carts = [cart_create(channel=ws.web) for _ in range(SHOPPERS)]
    for cart in carts:
        cart.lines.create(sku=shirt, quantity=1)

    def checkout(i: int) -> str:
        data = CheckoutData(
            email=f"shopper{i}@example.com", first_name=f"Shopper {i}", last_name="",
            fulfilment="ship", shipping_method="standard", card_token="tok_visa",
            address={"name": "S", "line1": "1 rue", "postcode": "75001", "city": "Paris",
                     "country": "FR"},
        )  # fmt: skip
        try:
            checkout_place(cart=Cart.objects.get(pk=carts[i].pk), data=data)
        except OutOfStock as exc:
            return exc.message
        return "ordered"

    results = in_threads(SHOPPERS, checkout)

    assert results.count("ordered") == 2
    told = [r for r in results if r != "ordered"]
    assert len(told) == SHOPPERS - 2
    assert all(r.startswith("Linen Shirt — White / L: you asked for 1, only 0 left.") for r in told)
    assert Order.objects.filter(status="allocated").count() == 2
    assert GatewayTestCharge.objects.count() == 2
    assert Payment.objects.count() == 2
    level = StockLevel.objects.get(sku=shirt, location=ws.shop.warehouse)
    assert (level.on_hand, level.reserved) == (2, 2)
    problems, _ = verify_all()
    assert problems == []
