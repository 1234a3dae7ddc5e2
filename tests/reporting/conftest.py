"""A day of a retailer with two campaigns, built through the real services:
till sales priced by the one engine (promotions, a coupon, a staff
discount), a web order attributed by a source code, a marketplace order from
the intake, and a cancelled order.

Figures (VAT included: 20 % on mugs and shirts, 5.5 % on candles):

| order | where | lines | gross | net | discount | campaign (via) |
|---|---|---|---|---|---|---|
| P1 | Paris till | 2 mugs, 20 % off | 20.00 | 16.67 | 5.00 | SUMMER (promotion) |
| P2 | Paris till | 1 mug 20 % off, coupon WELCOME5: 5.00 off | 5.00 | 4.17 | 7.50 | SUMMER |
| P3 | Paris till | 1 mug, 1.00 by staff, then 20 % off 11.50 | 9.20 | 7.67 | 3.30 | SUMMER |
| P4 | Paris till | 1 candle, 10 % off | 16.20 | 15.36 | 1.80 | AUTUMN (promotion) |
| P5 | Paris till | 1 shirt | 49.90 | 41.58 | 0 | none |
| L1 | Lyon till | 1 mug, 20 % off | 10.00 | 8.33 | 2.50 | SUMMER (promotion) |
| W1 | web, source NEWS | 1 shirt + 1 mug 20 % off | 59.90 | 49.91 | 2.50 | SUMMER (source code) |
| W2 | web, source NEWS | 1 mug, then cancelled | — | — | — | left out |
| M1 | marketplace, pick-up Paris | 1 candle at 18.00 | 18.00 | 17.06 | 0 | none |
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from omniretail.channels.intake import IntakeCustomer, IntakeLine, IntakeOrder, order_intake
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM
from omniretail.core.models import Channel
from omniretail.core.services import channel_create, membership_grant
from omniretail.inventory.models import ChannelLocation
from omniretail.orders.models import Order
from omniretail.orders.services import NewLine, NewOrder, order_cancel, order_create
from omniretail.pricing.models import Campaign, Coupon, Promotion, SourceCode
from omniretail.pricing.selectors import QuoteItem, cart_price
from tests.conftest import Shop, build_shop, stock_up


@dataclass
class Day:
    paris: Shop
    lyon: Shop
    web: Channel
    marketplace: Channel
    orders: dict[str, Order]


def pos_sell(shop: Shop, lines: list[SaleLine], cash: str, **kw) -> Order:
    return pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=lines,
        tenders=[Tender("cash", Decimal(cash))],
        actor=SYSTEM,
        **kw,
    ).order


def web_order(web: Channel, external_id: str, items: list[tuple[int, int]], source: str) -> Order:
    """A web order priced by the engine with a source code (what the shop's
    checkout books, with the link's ?source=)."""
    priced = cart_price(
        channel_id=web.pk,
        items=[
            QuoteItem(quantity=q, variant_id=v, line_id=str(i)) for i, (v, q) in enumerate(items)
        ],
        source_code=source,
    )
    with transaction.atomic():  # order_create runs in its caller's transaction
        return _create(web, external_id, priced)


def _create(web: Channel, external_id: str, priced) -> Order:
    return order_create(
        new=NewOrder(
            channel=web,
            external_id=external_id,
            lines=[
                NewLine(
                    sku_id=p.variant_id,
                    quantity=p.quantity,
                    unit_price=p.unit_price,
                    tax_rate=p.tax_rate,
                )
                for p in priced.lines
            ],
            currency="EUR",
            prices_include_tax=True,
            pricing=priced,
        ),
        actor=SYSTEM,
    )


def user(username: str, *, role: str | None = None, store=None, superuser: bool = False):
    model = get_user_model()
    if superuser:
        return model.objects.create_superuser(username=username, password="pw")
    account = model.objects.create_user(username=username, password="pw", is_staff=True)
    if role:
        membership_grant(user=account, role=role, store=store)
    return account


def build_day() -> Day:
    paris = build_shop()
    lyon = build_shop("-lyon")
    stock_up(paris, {paris.mug: 20, paris.candle: 20, paris.shirt_m: 10})
    stock_up(paris, {paris.mug: 10, paris.shirt_m: 10}, location=paris.warehouse)
    stock_up(lyon, {lyon.mug: 10})
    web = channel_create(company=paris.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=web, location=paris.warehouse, priority=1)
    marketplace = channel_create(
        company=paris.company, code="market", name="Marketplace", kind="marketplace"
    )
    ChannelLocation.objects.create(channel=marketplace, location=paris.floor, priority=1)

    summer = Campaign.objects.create(code="summer", name="Summer sale")
    autumn = Campaign.objects.create(code="autumn", name="Autumn candles")
    SourceCode.objects.create(code="news", campaign=summer)
    mugs = Promotion.objects.create(
        code="mugs-20",
        name="Mugs 20% off",
        kind="percent_off",
        value=Decimal("20"),
        campaign=summer,
        priority=10,
    )
    mugs.variants.add(paris.mug, lyon.mug)
    welcome = Promotion.objects.create(
        code="welcome-5",
        name="Welcome 5 off",
        kind="amount_off",
        value=Decimal("5"),
        target="order",
        campaign=summer,
        coupon_required=True,
    )
    Coupon.objects.create(code="welcome5", promotion=welcome)
    candles = Promotion.objects.create(
        code="candles-10",
        name="Candles 10% off",
        kind="percent_off",
        value=Decimal("10"),
        campaign=autumn,
    )
    candles.variants.add(paris.candle)

    orders = {
        "P1": pos_sell(paris, [SaleLine(2, sku="MUG-GR")], "20.00"),
        "P2": pos_sell(paris, [SaleLine(1, sku="MUG-GR")], "5.00", coupon_codes=["WELCOME5"]),
        "P3": pos_sell(paris, [SaleLine(1, sku="MUG-GR", discount_amount=Decimal("1.00"))], "9.20"),
        "P4": pos_sell(paris, [SaleLine(1, sku="CAN-FIG")], "16.20"),
        "P5": pos_sell(paris, [SaleLine(1, sku="LS-M")], "50.00"),
        "L1": pos_sell(lyon, [SaleLine(1, sku="MUG-GR-lyon")], "10.00"),
        "W1": web_order(web, "W1", [(paris.shirt_m.pk, 1), (paris.mug.pk, 1)], "NEWS"),
        "W2": web_order(web, "W2", [(paris.mug.pk, 1)], "news"),
        "M1": order_intake(
            channel=marketplace,
            data=IntakeOrder(
                external_id="M1",
                lines=[IntakeLine(1, sku="CAN-FIG", unit_price=Decimal("18.00"))],
                customer=IntakeCustomer(email="lea@example.com", first_name="Léa"),
                fulfilment="pickup",
                pickup_store=paris.store.code,
                payment_status="paid",
            ),
            actor=SYSTEM,
        ).order,
    }
    orders["W2"] = order_cancel(order=orders["W2"], actor=SYSTEM, reason="customer changed mind")
    return Day(paris=paris, lyon=lyon, web=web, marketplace=marketplace, orders=orders)


@pytest.fixture
def day(db) -> Day:
    return build_day()
