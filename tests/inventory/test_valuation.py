"""Stock value per location: on hand at the moving average cost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.core.access import SYSTEM
from omniretail.inventory.selectors import stock_value_by_location
from omniretail.inventory.services import StockLine, stock_receive

pytestmark = pytest.mark.django_db


def test_stock_value_per_location_at_the_moving_average(shop):
    stock_receive(
        location=shop.floor,
        lines=[
            StockLine(shop.mug.pk, 10, Decimal("4.00")),
            StockLine(shop.candle.pk, 4, Decimal("7.50")),
        ],
        actor=SYSTEM,
    )
    # 10 more mugs at 5.00 into the warehouse: the average is 4.50 everywhere.
    stock_receive(
        location=shop.warehouse, lines=[StockLine(shop.mug.pk, 10, Decimal("5.00"))], actor=SYSTEM
    )
    assert stock_value_by_location() == {
        shop.floor.pk: Decimal("75.00"),  # 10 x 4.50 + 4 x 7.50
        shop.warehouse.pk: Decimal("45.00"),
    }
    assert stock_value_by_location(location_ids=[shop.warehouse.pk]) == {
        shop.warehouse.pk: Decimal("45.00")
    }
