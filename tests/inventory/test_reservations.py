"""Holds on stock: conditional, all-or-nothing, buffered per channel,
backordered by policy, released, expired and consumed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omniretail.catalog.models import KitComponent, Product
from omniretail.catalog.services import VariantSpec, product_create
from omniretail.core.access import SYSTEM
from omniretail.core.errors import ValidationFailed
from omniretail.core.models import OutboxEvent
from omniretail.core.services import channel_create
from omniretail.inventory.models import ChannelLocation, Reservation, StockLevel
from omniretail.inventory.selectors import (
    stock_available,
    stock_available_by_location,
    stock_available_many,
)
from omniretail.inventory.services import (
    ChannelLine,
    InsufficientStock,
    ReserveLine,
    reservations_consume,
    reservations_expire,
    reservations_release,
    stock_receive,
    stock_reserve,
    stock_reserve_for_channel,
)
from omniretail.inventory.services.ledger import StockLine
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(shop):
    channel = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=channel, location=shop.warehouse, priority=1)
    ChannelLocation.objects.create(
        channel=channel, location=shop.floor, priority=2, safety_buffer=2
    )
    return channel


def _level(variant, location):
    return StockLevel.objects.get(sku=variant, location=location)


def test_reserve_is_all_or_nothing(shop):
    stock_up(shop, {shop.mug: 3, shop.candle: 1})
    with pytest.raises(InsufficientStock) as refused:
        stock_reserve(
            lines=[
                ReserveLine(shop.mug.pk, shop.floor.pk, 2),
                ReserveLine(shop.candle.pk, shop.floor.pk, 2),
            ],
            demand_type="cart",
            demand_id="c1",
            actor=SYSTEM,
        )
    assert refused.value.http_status == 409
    assert refused.value.extra["short"] == [
        {"sku": "CAN-FIG", "location": "st-paris", "requested": 2}
    ]
    assert _level(shop.mug, shop.floor).reserved == 0
    assert Reservation.objects.count() == 0


def test_lines_of_one_demand_are_summed_before_the_check(shop):
    stock_up(shop, {shop.mug: 3})
    with pytest.raises(InsufficientStock):
        stock_reserve(
            lines=[ReserveLine(shop.mug.pk, shop.floor.pk, 2)] * 2,
            demand_type="cart",
            demand_id="c1",
            actor=SYSTEM,
        )
    held = stock_reserve(
        lines=[ReserveLine(shop.mug.pk, shop.floor.pk, 1)] * 3,
        demand_type="cart",
        demand_id="c2",
        actor=SYSTEM,
    )
    assert [r.quantity for r in held] == [3]
    assert _level(shop.mug, shop.floor).reserved == 3


def test_channel_availability_keeps_the_store_buffer(shop, web):
    stock_up(shop, {shop.mug: 5})
    stock_up(shop, {shop.mug: 4}, location=shop.warehouse)
    # warehouse 4 + store 5 - buffer 2
    assert stock_available(sku_id=shop.mug.pk, channel_id=web.pk) == 7
    held = stock_reserve_for_channel(
        lines=[ChannelLine(shop.mug.pk, 6)],
        channel_id=web.pk,
        demand_type="order_line",
        demand_id="o1",
        actor=SYSTEM,
    )
    assert sorted((r.location_id, r.quantity) for r in held) == [
        (shop.warehouse.pk, 4),
        (shop.floor.pk, 2),
    ]
    assert stock_available(sku_id=shop.mug.pk, channel_id=web.pk) == 1
    with pytest.raises(InsufficientStock) as refused:
        stock_reserve_for_channel(
            lines=[ChannelLine(shop.mug.pk, 2)],
            channel_id=web.pk,
            demand_type="order_line",
            demand_id="o2",
            actor=SYSTEM,
        )
    assert "Only 1 of MUG-GR available" in refused.value.message
    stores = {a.code: a.available for a in stock_available_by_location(sku_id=shop.mug.pk)}
    assert stores == {"st-paris": 3, "wh-main": 0}


def test_backorder_policy_waits_and_fills_oldest_first(shop, web):
    Product.objects.filter(pk=shop.mug.product_id).update(stock_policy="backorder")
    stock_up(shop, {shop.mug: 1}, location=shop.warehouse)
    first = stock_reserve_for_channel(
        lines=[ChannelLine(shop.mug.pk, 3)],
        channel_id=web.pk,
        demand_type="order_line",
        demand_id="o1",
        actor=SYSTEM,
    )
    assert sorted((r.status, r.quantity) for r in first) == [("active", 1), ("backordered", 2)]
    second = stock_reserve_for_channel(
        lines=[ChannelLine(shop.mug.pk, 1)],
        channel_id=web.pk,
        demand_type="order_line",
        demand_id="o2",
        actor=SYSTEM,
    )
    assert [r.status for r in second] == ["backordered"]
    stock_receive(
        location=shop.warehouse,
        lines=[StockLine(shop.mug.pk, 2, Decimal("4.00"))],
        actor=SYSTEM,
    )
    statuses = dict(
        Reservation.objects.filter(status__in=["active", "backordered"])
        .values_list("demand_id", "status")
        .order_by("pk")
    )
    # o1's waiting 2 are filled; o2 still waits (2 arrived, not 3)
    assert list(Reservation.objects.filter(demand_id="o1").values_list("status", flat=True)) == [
        "active",
        "active",
    ]
    assert statuses["o2"] == "backordered"
    assert _level(shop.mug, shop.warehouse).reserved == 3
    assert verify_all()[0] == []


def test_release_expire_and_consume(shop):
    stock_up(shop, {shop.mug: 5})
    soon = timezone.now() + dt.timedelta(minutes=15)
    cart = stock_reserve(
        lines=[ReserveLine(shop.mug.pk, shop.floor.pk, 2)],
        demand_type="cart",
        demand_id="c1",
        actor=SYSTEM,
        expires_at=soon,
    )
    order = stock_reserve(
        lines=[ReserveLine(shop.mug.pk, shop.floor.pk, 1)],
        demand_type="order_line",
        demand_id="o1",
        actor=SYSTEM,
    )
    other = stock_reserve(
        lines=[ReserveLine(shop.mug.pk, shop.floor.pk, 1)],
        demand_type="cart",
        demand_id="c2",
        actor=SYSTEM,
    )
    assert _level(shop.mug, shop.floor).reserved == 4
    assert reservations_expire(now=soon - dt.timedelta(seconds=1)) == 0
    assert reservations_expire(now=soon) == 1
    assert reservations_release(reservation_ids=[other[0].pk], actor=SYSTEM) == 1
    assert reservations_release(reservation_ids=[other[0].pk], actor=SYSTEM) == 0
    assert (
        reservations_consume(
            reservation_ids=[order[0].pk], actor=SYSTEM, reference_type="order", reference_id="1"
        )
        == 1
    )
    level = _level(shop.mug, shop.floor)
    assert (level.on_hand, level.reserved) == (4, 0)
    assert Reservation.objects.get(pk=cart[0].pk).status == "expired"
    with pytest.raises(Exception, match="not active"):
        reservations_consume(
            reservation_ids=[order[0].pk], actor=SYSTEM, reference_type="order", reference_id="1"
        )
    assert OutboxEvent.objects.filter(name="stock.changed").count() >= 5
    assert verify_all()[0] == []


def test_a_kit_holds_its_components_and_is_as_available_as_its_scarcest(shop, web):
    product_create(
        code="gift-set",
        name="Gift set",
        tax_class=shop.standard,
        variants=[VariantSpec("GIFT-SET", "Mug + candle", Decimal("28.00"))],
    )
    kit = shop.mug.__class__.objects.get(sku="GIFT-SET")
    KitComponent.objects.create(kit=kit, component=shop.mug, quantity=2)
    KitComponent.objects.create(kit=kit, component=shop.candle, quantity=1)
    stock_up(shop, {shop.mug: 5, shop.candle: 3}, location=shop.warehouse)
    assert stock_available_many(sku_ids=[kit.pk], channel_id=web.pk) == {kit.pk: 2}
    stock_reserve_for_channel(
        lines=[ChannelLine(kit.pk, 2)],
        channel_id=web.pk,
        demand_type="order_line",
        demand_id="o1",
        actor=SYSTEM,
    )
    assert _level(shop.mug, shop.warehouse).reserved == 4
    assert _level(shop.candle, shop.warehouse).reserved == 2
    assert stock_available(sku_id=kit.pk, channel_id=web.pk) == 0


def test_a_kit_holds_no_stock_of_its_own(shop):
    product_create(
        code="duo",
        name="Mug duo",
        tax_class=shop.standard,
        variants=[VariantSpec("MUG-DUO", "2 mugs", Decimal("22.00"))],
    )
    kit = shop.mug.__class__.objects.get(sku="MUG-DUO")
    KitComponent.objects.create(kit=kit, component=shop.mug, quantity=2)
    with pytest.raises(Exception, match="receive, count or return its components") as refused:
        stock_receive(location=shop.floor, lines=[StockLine(kit.pk, 3, Decimal("9"))], actor=SYSTEM)
    assert refused.value.field == "sku"
    assert not StockLevel.objects.filter(sku=kit).exists()


def _gift_set(shop):
    product_create(
        code="gift-set",
        name="Gift set",
        tax_class=shop.standard,
        variants=[VariantSpec("GIFT-SET", "Mug + candle", Decimal("28.00"))],
    )
    kit = shop.mug.__class__.objects.get(sku="GIFT-SET")
    KitComponent.objects.create(kit=kit, component=shop.mug, quantity=2)
    KitComponent.objects.create(kit=kit, component=shop.candle, quantity=1)
    return kit


def test_a_kit_named_beside_other_lines_holds_its_components_at_a_location(shop):
    # The hold first assumes no kit; the kit's line is refused, found to be
    # a kit, and the whole hold runs again with it expanded.
    kit = _gift_set(shop)
    stock_up(shop, {shop.mug: 10, shop.candle: 4, shop.shirt_m: 3})
    held = stock_reserve(
        lines=[
            ReserveLine(shop.shirt_m.pk, shop.floor.pk, 1),
            ReserveLine(kit.pk, shop.floor.pk, 3),
            ReserveLine(shop.mug.pk, shop.floor.pk, 1),
        ],
        demand_type="order_line",
        demand_id="o7",
        actor=SYSTEM,
    )
    assert sorted((r.sku_id, r.quantity) for r in held) == sorted(
        [(shop.shirt_m.pk, 1), (shop.mug.pk, 7), (shop.candle.pk, 3)]
    )
    assert all(r.pk for r in held)
    assert _level(shop.mug, shop.floor).reserved == 7
    assert _level(shop.candle, shop.floor).reserved == 3
    assert _level(shop.shirt_m, shop.floor).reserved == 1
    assert Reservation.objects.filter(demand_id="o7").count() == 3


def test_a_kit_too_big_for_its_components_is_refused_and_holds_nothing(shop):
    kit = _gift_set(shop)
    stock_up(shop, {shop.mug: 10, shop.candle: 1, shop.shirt_m: 3})
    with pytest.raises(InsufficientStock) as refused:
        stock_reserve(
            lines=[
                ReserveLine(shop.shirt_m.pk, shop.floor.pk, 1),
                ReserveLine(kit.pk, shop.floor.pk, 2),
            ],
            demand_type="order_line",
            demand_id="o8",
            actor=SYSTEM,
        )
    assert refused.value.extra["short"] == [
        {"sku": shop.candle.sku, "location": shop.floor.code, "requested": 2}
    ]
    assert StockLevel.objects.filter(location=shop.floor, reserved__gt=0).count() == 0
    assert not Reservation.objects.filter(demand_id="o8").exists()


def test_a_kit_with_a_stock_row_left_from_before_is_never_held_as_itself(shop):
    kit = _gift_set(shop)
    KitComponent.objects.filter(kit=kit).delete()
    stock_up(shop, {kit: 5, shop.mug: 4, shop.candle: 2})  # stocked while not a kit
    KitComponent.objects.create(kit=kit, component=shop.mug, quantity=2)
    KitComponent.objects.create(kit=kit, component=shop.candle, quantity=1)
    stock_reserve(
        lines=[ReserveLine(kit.pk, shop.floor.pk, 2)],
        demand_type="order_line",
        demand_id="o9",
        actor=SYSTEM,
    )
    assert _level(kit, shop.floor).reserved == 0
    assert _level(shop.mug, shop.floor).reserved == 4
    assert _level(shop.candle, shop.floor).reserved == 2


def test_an_unknown_location_is_named_whoever_holds(shop):
    stock_up(shop, {shop.mug: 3})
    with pytest.raises(ValidationFailed) as refused:
        stock_reserve(
            lines=[ReserveLine(shop.mug.pk, 999_999, 1)],
            demand_type="order_line",
            demand_id="o10",
            actor=SYSTEM,
        )
    assert refused.value.field == "lines[0].location"
    assert "location #999999 does not exist" in str(refused.value)


def test_a_hold_sends_the_same_few_statements_for_one_line_or_five(shop, django_assert_num_queries):
    stock_up(shop, {shop.mug: 9, shop.candle: 9, shop.shirt_m: 9, shop.shirt_l: 9})
    skus = [shop.mug, shop.candle, shop.shirt_m, shop.shirt_l]
    # Savepoint, hold, reservations, outbox event, release.
    with django_assert_num_queries(5):
        stock_reserve(
            lines=[ReserveLine(shop.mug.pk, shop.floor.pk, 1)],
            demand_type="order_line",
            demand_id="q1",
            actor=SYSTEM,
        )
    with django_assert_num_queries(5):  # still one hold statement
        held = stock_reserve(
            lines=[ReserveLine(v.pk, shop.floor.pk, 2) for v in skus]
            + [ReserveLine(shop.mug.pk, shop.floor.pk, 1)],
            demand_type="order_line",
            demand_id="q5",
            actor=SYSTEM,
        )
    assert sorted(r.quantity for r in held) == [2, 2, 2, 3]
    assert [_level(v, shop.floor).reserved for v in skus] == [4, 2, 2, 2]


def test_a_refused_hold_that_held_nothing_is_explained_in_its_own_statement(shop):
    # A sold-out SKU refuses most requests: on PostgreSQL the hold statement
    # itself returns the codes the refusal names; SQLite reads them after.
    stock_up(shop, {shop.mug: 1})
    with CaptureQueriesContext(connection) as ran, pytest.raises(InsufficientStock) as refused:
        stock_reserve(
            lines=[ReserveLine(shop.mug.pk, shop.floor.pk, 2)],
            demand_type="order_line",
            demand_id="r1",
            actor=SYSTEM,
        )
    assert refused.value.extra["short"] == [
        {"sku": shop.mug.sku, "location": shop.floor.code, "requested": 2}
    ]
    statements = [q["sql"] for q in ran.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == (1 if connection.vendor == "postgresql" else 2)


def test_a_refused_hold_that_held_nothing_leaves_its_block_without_a_rollback(shop):
    # A rollback, even to a savepoint, makes psycopg drop the statements it
    # prepared on the connection; a refusal that held nothing has nothing to
    # undo, so its savepoint is released instead.
    stock_up(shop, {shop.mug: 1, shop.candle: 5})
    sent: list[str] = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    def hold(lines, demand_id):
        with transaction.atomic(), connection.execute_wrapper(record):
            with pytest.raises(InsufficientStock):
                stock_reserve(
                    lines=lines, demand_type="order_line", demand_id=demand_id, actor=SYSTEM
                )
            assert not connection.needs_rollback

    hold([ReserveLine(shop.mug.pk, shop.floor.pk, 2)], "r2")
    assert not [sql for sql in sent if sql.startswith("ROLLBACK")]
    assert any(sql.startswith("RELEASE SAVEPOINT") for sql in sent)
    # One line held, another refused: that hold is undone.
    sent.clear()
    hold(
        [ReserveLine(shop.candle.pk, shop.floor.pk, 1), ReserveLine(shop.mug.pk, shop.floor.pk, 2)],
        "r3",
    )
    assert [sql for sql in sent if sql.startswith("ROLLBACK TO SAVEPOINT")]
    assert _level(shop.candle, shop.floor).reserved == 0
    # Two lines, both refused: the statement locked both rows; the rollback
    # releases them, so a retry in this transaction locks rows in order again.
    sent.clear()
    hold(
        [ReserveLine(shop.candle.pk, shop.floor.pk, 9), ReserveLine(shop.mug.pk, shop.floor.pk, 2)],
        "r4",
    )
    assert [sql for sql in sent if sql.startswith("ROLLBACK TO SAVEPOINT")]
    assert not Reservation.objects.filter(demand_id__in=["r2", "r3", "r4"]).exists()
