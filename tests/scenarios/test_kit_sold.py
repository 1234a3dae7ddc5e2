"""A gift set (kit) is sold at the till: its components leave the shelf, the
web shop sees fewer kits, and the books carry the components' cost."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.accounting.models import JournalLine
from omniretail.catalog.models import KitComponent, Variant
from omniretail.catalog.services import VariantSpec, product_create
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM
from omniretail.core.services import channel_create
from omniretail.inventory.models import ChannelLocation, StockLevel, StockMove
from omniretail.inventory.selectors import stock_available
from omniretail.inventory.services import StockLine, stock_receive
from omniretail.verify import verify_all

pytestmark = pytest.mark.django_db


def test_a_gift_set_sold_at_the_till(shop):
    product_create(
        code="gift-set",
        name="Cosy Evening Gift Set",
        tax_class=shop.standard,
        variants=[VariantSpec("GIFT-COSY", "Mug x2 + fig candle", Decimal("39.00"))],
    )
    kit = Variant.objects.get(sku="GIFT-COSY")
    KitComponent.objects.bulk_create(
        [
            KitComponent(kit=kit, component=shop.mug, quantity=2),
            KitComponent(kit=kit, component=shop.candle, quantity=1),
        ]
    )
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=1)
    stock_receive(
        location=shop.floor,
        lines=[
            StockLine(shop.mug.pk, 5, Decimal("4.00")),
            StockLine(shop.candle.pk, 3, Decimal("7.50")),
        ],
        actor=SYSTEM,
    )
    assert stock_available(sku_id=kit.pk, channel_id=web.pk) == 2  # 5 mugs // 2

    sale = pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(1, sku="GIFT-COSY")],
        tenders=[Tender("cash", Decimal("40"))],
        actor=SYSTEM,
    )
    assert (sale.order.total_gross, sale.change.amount) == (Decimal("39.00"), Decimal("1.00"))
    on_hand = dict(
        StockLevel.objects.filter(location=shop.floor).values_list("sku__sku", "on_hand")
    )
    assert on_hand == {"MUG-GR": 3, "CAN-FIG": 2}
    assert not StockLevel.objects.filter(sku=kit).exists()  # a kit holds no stock
    moved = sorted(
        StockMove.objects.filter(reference_type="order").values_list(
            "sku__sku", "quantity", "unit_cost"
        )
    )
    assert moved == [("CAN-FIG", 1, Decimal("7.5000")), ("MUG-GR", 2, Decimal("4.0000"))]
    assert stock_available(sku_id=kit.pk, channel_id=web.pk) == 1

    cogs = JournalLine.objects.get(entry__reference_id=str(sale.order.pk), account__code="5000")
    assert cogs.debit == Decimal("15.50")  # 2 x 4.00 + 7.50
    assert verify_all()[0] == []
