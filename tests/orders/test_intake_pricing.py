"""Every channel prices with the one engine: an order sent without prices is
priced by the channel's price lists and promotions; a marketplace that sets
its own prices sends them on every line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.orders.models import Order
from omniretail.pricing.models import Promotion
from tests.conftest import stock_up
from tests.orders.test_intake import _order, _post

pytestmark = pytest.mark.django_db


def test_an_order_without_prices_gets_the_engines_price_and_promotion(client, shop, web, web_key):
    stock_up(shop, {shop.mug: 10}, location=shop.warehouse)
    promo = Promotion.objects.create(
        code="mug-10", name="Mugs 10% off", kind="percent_off", value=Decimal("10")
    )
    promo.variants.add(shop.mug)
    r = _post(client, web_key, _order("W-1"))
    assert r.status_code == 201, r.content
    order = Order.objects.get(external_id="W-1")
    # 2 × 12.50 = 25.00 − 10 % = 22.50, plus 4.90 shipping.
    assert (order.total_gross, order.discount_total) == (Decimal("27.40"), Decimal("2.50"))
    assert order.promotions[0]["code"] == "mug-10"
    line = order.lines.get()
    assert (line.list_price, line.discount, line.gross) == (
        Decimal("12.50"),
        Decimal("2.50"),
        Decimal("22.50"),
    )


def test_a_channels_own_prices_are_kept_and_must_be_on_every_line(client, shop, web, web_key):
    stock_up(shop, {shop.mug: 10, shop.candle: 10}, location=shop.warehouse)
    mixed = _order(
        "W-2",
        lines=[
            {"sku": "MUG-GR", "quantity": 1, "unit_price": "11.00"},
            {"sku": "CAN-FIG", "quantity": 1},
        ],
    )
    r = _post(client, web_key, mixed)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "lines[1].unit_price"
    assert not Order.objects.exists()
    own = _order("W-3", lines=[{"sku": "MUG-GR", "quantity": 2, "unit_price": "11.00"}])
    assert _post(client, web_key, own).status_code == 201
    assert Order.objects.get(external_id="W-3").lines.get().gross == Decimal("22.00")
