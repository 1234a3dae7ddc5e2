"""Routing plans from a read; the hold is the conditional update. When
another channel takes the planned stock in between, the hold is refused
and routing plans again in the same transaction (each attempt in its own
savepoint, which also releases any row a refused hold locked)."""

from __future__ import annotations

import pytest
from django.db import transaction

from omniretail.core.access import SYSTEM
from omniretail.fulfilment import services as fulfilment
from omniretail.fulfilment.models import RoutingDecision
from omniretail.inventory.models import Reservation, StockLevel
from omniretail.inventory.services import ReserveLine, stock_reserve
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


def test_stock_taken_between_plan_and_hold_is_routed_again(shop, place, monkeypatch):
    stock_up(shop, {shop.mug: 2}, location=shop.warehouse)
    stock_up(shop, {shop.mug: 5}, location=shop.floor)
    real = fulfilment._candidates
    planned = []

    def plan_then_lose_the_warehouse(*args, **kwargs):
        places = real(*args, **kwargs)  # the plan sees 2 mugs at the warehouse
        if not planned:
            # The till sells them before the hold: a real hold, same transaction.
            stock_reserve(
                lines=[ReserveLine(shop.mug.pk, shop.warehouse.pk, 2)],
                demand_type="cart",
                demand_id="till",
                actor=SYSTEM,
            )
        planned.append(places)
        return places

    monkeypatch.setattr(fulfilment, "_candidates", plan_then_lose_the_warehouse)
    with transaction.atomic():
        order = place([(shop.mug, 2)])
    assert len(planned) == 2  # planned, refused, planned again
    line = order.lines.get()
    assert list(
        Reservation.objects.filter(demand_type="order_line", demand_id=str(line.pk)).values_list(
            "location__code", "quantity", "status"
        )
    ) == [(shop.floor.code, 2, "active")]
    levels = dict(StockLevel.objects.filter(sku=shop.mug).values_list("location__code", "reserved"))
    assert levels == {shop.warehouse.code: 2, shop.floor.code: 2}
    decision = RoutingDecision.objects.get(order=order)
    assert [p["location"] for p in decision.plan] == [shop.floor.code]
    assert order.status == "allocated"
