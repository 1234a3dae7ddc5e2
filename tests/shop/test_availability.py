"""The storefront reads a product's availability online and per store floor in
one statement; it must say exactly what inventory's selectors say."""

from __future__ import annotations

from decimal import Decimal

from omniretail.catalog.models import KitComponent, Variant
from omniretail.channels.shop.catalogue import availability
from omniretail.core.access import SYSTEM
from omniretail.inventory.models import ChannelLocation, Location
from omniretail.inventory.selectors import (
    kit_components,
    stock_available_by_location,
    stock_available_many,
)
from omniretail.inventory.services import ChannelLine, stock_reserve_for_channel
from tests.conftest import stock_up


def test_one_statement_says_what_inventorys_selectors_say(web_shop):
    shop, web = web_shop.shop, web_shop.web
    ChannelLocation.objects.filter(channel=web, location=shop.floor).update(safety_buffer=1)
    stock_up(shop, {shop.mug: 4, shop.shirt_l: 1})  # the Paris floor (mug: 10 in the warehouse)
    pair = Variant.objects.create(
        product=shop.mug.product, sku="MUG-PAIR", name="Pair", price=Decimal("22.00")
    )
    KitComponent.objects.create(kit=pair, component=shop.mug, quantity=2)
    stock_reserve_for_channel(
        lines=[ChannelLine(shop.mug.pk, 3)], channel_id=web.pk, demand_type="test",
        demand_id="t-1", actor=SYSTEM,
    )  # fmt: skip
    skus = [shop.shirt_m.pk, shop.shirt_l.pk, shop.mug.pk, shop.candle.pk, pair.pk]

    found = availability(channel_id=web.pk, sku_ids=skus, kits=kit_components(skus))

    assert found.online == stock_available_many(sku_ids=skus, channel_id=web.pk)
    # warehouse 10 - 3 held + floor 4 - buffer 1; a pair is 2 mugs; the candle: 3 - 1 on the floor
    assert found.online == {
        shop.shirt_m.pk: 5, shop.shirt_l.pk: 0, shop.mug.pk: 10, shop.candle.pk: 2, pair.pk: 5,
    }  # fmt: skip
    for sku in skus:
        expected = [
            (r.store_id, r.available)
            for r in stock_available_by_location(
                sku_id=sku, channel_id=web.pk, kinds=[Location.Kind.STORE]
            )
            if r.store_id is not None
        ]
        assert found.floors.get(sku, []) == expected
    assert found.floors[shop.mug.pk] == [(shop.store.pk, 3)]
