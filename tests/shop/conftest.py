"""A retailer with a web channel for the shop: the web shop sells from the
warehouse first (priority 1) and the Paris floor (priority 2), no units kept
back, with two shipping methods."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.cache import cache

from omniretail.channels.shop.models import ShippingMethod
from omniretail.core.models import Channel
from omniretail.core.services import channel_create
from omniretail.inventory.models import ChannelLocation
from tests.conftest import Shop, build_shop, stock_up


@dataclass
class WebShop:
    shop: Shop
    web: Channel
    standard: ShippingMethod
    express: ShippingMethod


def build_web_shop() -> WebShop:
    shop = build_shop()
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.warehouse, priority=1)
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=2)
    standard = ShippingMethod.objects.create(
        code="standard", name="Standard delivery", price=Decimal("4.90"), position=1
    )
    express = ShippingMethod.objects.create(
        code="express", name="Express delivery", price=Decimal("9.90"), position=2
    )
    return WebShop(shop, web, standard, express)


@pytest.fixture(autouse=True)
def fresh_cache():
    """The shop caches the category tree per process; each test has its own."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web_shop(db) -> WebShop:
    ws = build_web_shop()
    stock_up(ws.shop, {ws.shop.shirt_m: 5, ws.shop.mug: 10}, location=ws.shop.warehouse)
    stock_up(ws.shop, {ws.shop.candle: 3})  # only on the Paris floor
    return ws
