"""Holds under contention, on PostgreSQL (SQLite serialises writers, so these
only run with DATABASE_URL=postgres://...).

Promise 2 of ARCHITECTURE.md: a hold is one conditional UPDATE, so however
many carts, orders and channels race for the last units, exactly those units
are held and none more. Every worker thread has its own database connection
and closes it when done, so the test database can be flushed afterwards."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import F, Sum

from omniretail.catalog.models import Product
from omniretail.core.access import SYSTEM
from omniretail.core.services import channel_create
from omniretail.inventory.models import (
    ChannelLocation,
    Location,
    Reservation,
    SkuValuation,
    StockLevel,
    StockMove,
)
from omniretail.inventory.selectors import stock_available
from omniretail.inventory.services import (
    ChannelLine,
    InsufficientStock,
    MoveSpec,
    ReserveLine,
    StockLine,
    location_virtual,
    reservations_consume,
    reservations_release,
    stock_moves_post,
    stock_receive,
    stock_reserve,
    stock_reserve_for_channel,
)
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def drain(threads: int, items: Sequence[Any], work: Callable[[Any], Any]) -> list[Any]:
    """Run work(item) for every item on a pool of `threads` threads released
    together (each thread one connection); re-raise the first error."""
    todo: queue.Queue[Any] = queue.Queue()
    for item in items:
        todo.put(item)
    barrier = threading.Barrier(threads, timeout=30)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            while not errors:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                result = work(item)
                with lock:
                    results.append(result)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in pool), "a thread is stuck (deadlock?)"
    if errors:
        raise errors[0]
    return results


def channels_sharing_the_floor(shop) -> tuple[Any, Any]:
    """The web shop sells from the warehouse first, then the store floor; a
    marketplace sells from the floor only and keeps 2 units back for walk-ins."""
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    market = channel_create(
        company=shop.company, code="market", name="Marketplace", kind="marketplace"
    )
    ChannelLocation.objects.create(channel=web, location=shop.warehouse, priority=1)
    ChannelLocation.objects.create(channel=web, location=shop.floor, priority=2)
    ChannelLocation.objects.create(channel=market, location=shop.floor, priority=1, safety_buffer=2)
    return web, market


@dataclass(frozen=True)
class Attempt:
    index: int
    route: str  # "cart" (at the floor), "web" or "market" (by channel)
    quantity: int


LAST_UNITS, ATTEMPTS, THREADS = 5, 200, 24
MARKET_BUFFER = 2


def test_two_hundred_holds_racing_for_the_last_five_units_hold_exactly_five(shop):
    web, market = channels_sharing_the_floor(shop)
    # The warehouse's 2 mugs are already promised: the web shop's first
    # source has nothing free, so its orders fall through to the floor.
    stock_up(shop, {shop.mug: 2}, location=shop.warehouse)
    (promised,) = stock_reserve(
        lines=[ReserveLine(shop.mug.pk, shop.warehouse.pk, 2)],
        demand_type="order_line",
        demand_id="before",
        actor=SYSTEM,
    )
    stock_up(shop, {shop.mug: LAST_UNITS})

    rng = random.Random(20250501)
    # At least LAST_UNITS single-unit carts with no buffer: whatever the
    # interleaving, the last unit is always taken by someone.
    attempts = [Attempt(i, "cart", 1) for i in range(10)] + [
        Attempt(i, rng.choice(["cart", "web", "market"]), rng.randint(1, 2))
        for i in range(10, ATTEMPTS)
    ]
    rng.shuffle(attempts)
    channel_ids = {"web": web.pk, "market": market.pk}

    def hold(attempt: Attempt) -> tuple[Attempt, int]:
        try:
            if attempt.route == "cart":
                held = stock_reserve(
                    lines=[ReserveLine(shop.mug.pk, shop.floor.pk, attempt.quantity)],
                    demand_type="cart",
                    demand_id=f"c{attempt.index}",
                    actor=SYSTEM,
                )
            else:
                held = stock_reserve_for_channel(
                    lines=[ChannelLine(shop.mug.pk, attempt.quantity)],
                    channel_id=channel_ids[attempt.route],
                    demand_type="order_line",
                    demand_id=f"o{attempt.index}",
                    actor=SYSTEM,
                )
        except InsufficientStock:
            return attempt, 0
        return attempt, sum(r.quantity for r in held)

    outcomes = drain(THREADS, attempts, hold)

    assert len(outcomes) == ATTEMPTS
    held = [(a, q) for a, q in outcomes if q]
    assert all(q == a.quantity for a, q in held), "a hold is all or nothing"
    assert sum(q for _, q in held) == LAST_UNITS
    by_route = Counter()
    for attempt, quantity in held:
        by_route[attempt.route] += quantity
    # The marketplace never dips into the floor's walk-in buffer.
    assert by_route["market"] <= LAST_UNITS - MARKET_BUFFER

    race = Reservation.objects.exclude(pk=promised.pk)
    assert race.filter(status="active").count() == len(held)
    assert set(race.values_list("location_id", flat=True)) == {shop.floor.pk}
    assert race.aggregate(q=Sum("quantity"))["q"] == LAST_UNITS
    assert dict(race.values_list("demand_id", "quantity")) == {
        (f"c{a.index}" if a.route == "cart" else f"o{a.index}"): q for a, q in held
    }
    levels = {
        lv.location_id: (lv.on_hand, lv.reserved) for lv in StockLevel.objects.filter(sku=shop.mug)
    }
    assert levels == {shop.floor.pk: (LAST_UNITS, LAST_UNITS), shop.warehouse.pk: (2, 2)}
    assert not StockLevel.objects.filter(reserved__gt=F("on_hand")).exists()
    assert stock_available(sku_id=shop.mug.pk, channel_id=web.pk) == 0
    assert stock_available(sku_id=shop.mug.pk, channel_id=market.pk) == 0
    problems, _ = verify_all()
    assert problems == []


@dataclass
class Tally:
    """What one worker did, to be checked against the ledger afterwards."""

    received: Counter
    consumed: Counter
    released: list[int]
    fulfilled: list[int]
    done: Counter


WORKERS, STEPS = 8, 30
COSTS = [Decimal("4.00"), Decimal("4.50"), Decimal("5.25")]


def test_reserve_release_consume_and_receive_at_once_keep_every_promise(shop):
    web, _market = channels_sharing_the_floor(shop)
    Product.objects.filter(pk=shop.candle.product_id).update(stock_policy="backorder")
    skus = [shop.mug, shop.candle, shop.shirt_m]
    locations = [shop.floor, shop.warehouse]
    # Few candles (sold on backorder): orders for them wait and deliveries fill them.
    stock_up(shop, {shop.mug: 12, shop.candle: 1, shop.shirt_m: 8})
    stock_up(shop, {shop.mug: 12, shop.shirt_m: 8}, location=shop.warehouse)
    initial = {shop.mug: 24, shop.candle: 1, shop.shirt_m: 16}

    def worker(number: int) -> Tally:
        rng = random.Random(number)
        tally = Tally(Counter(), Counter(), [], [], Counter())
        mine: list[Reservation] = []  # active when made: only this worker ends them
        waiting: list[int] = []
        for step in range(STEPS):
            roll = rng.random()
            try:
                if roll < 0.30:
                    # Lines in random SKU order: the service sorts them, so no deadlock.
                    chosen = rng.sample(skus, rng.randint(1, 2))
                    where = rng.choice(locations)
                    mine += stock_reserve(
                        lines=[ReserveLine(v.pk, where.pk, rng.randint(1, 3)) for v in chosen],
                        demand_type="cart",
                        demand_id=f"w{number}-{step}",
                        actor=SYSTEM,
                    )
                    tally.done["reserve"] += 1
                elif roll < 0.50:
                    chosen = rng.sample(skus, rng.randint(1, 2))
                    made = stock_reserve_for_channel(
                        lines=[ChannelLine(v.pk, rng.randint(1, 3)) for v in chosen],
                        channel_id=web.pk,
                        demand_type="order_line",
                        demand_id=f"w{number}-{step}",
                        actor=SYSTEM,
                    )
                    mine += [r for r in made if r.status == "active"]
                    waiting += [r.pk for r in made if r.status == "backordered"]
                    tally.done["reserve_for_channel"] += 1
                    tally.done["backorder"] += any(r.status == "backordered" for r in made)
                elif roll < 0.65 and (mine or waiting):
                    # Active and waiting holds together, while deliveries fill
                    # waiting ones: the lock order must hold (no deadlock).
                    rng.shuffle(mine)
                    cut = rng.randint(0, 1) if waiting else 0
                    ids = [r.pk for r in mine[:2]] + waiting[:cut]
                    mine, waiting = mine[2:], waiting[cut:]
                    assert reservations_release(reservation_ids=ids, actor=SYSTEM) == len(ids)
                    tally.released += ids
                    tally.done["release"] += 1
                elif roll < 0.85 and mine:
                    rng.shuffle(mine)
                    ending, mine = mine[:2], mine[2:]
                    units = reservations_consume(
                        reservation_ids=[r.pk for r in ending],
                        actor=SYSTEM,
                        reference_type="order",
                        reference_id=f"w{number}-{step}",
                    )
                    assert units == sum(r.quantity for r in ending)
                    tally.fulfilled += [r.pk for r in ending]
                    tally.done["consume"] += 1
                    for r in ending:
                        tally.consumed[r.sku_id] += r.quantity
                else:
                    where = rng.choice(locations)
                    chosen = rng.sample(skus, rng.randint(1, 2))
                    lines = [StockLine(v.pk, rng.randint(1, 3), rng.choice(COSTS)) for v in chosen]
                    stock_receive(location=where, lines=lines, actor=SYSTEM, reference="DN")
                    for line in lines:
                        tally.received[line.sku_id] += line.quantity
                    tally.done["receive"] += 1
            except InsufficientStock:
                tally.done["refused"] += 1
        return tally

    tallies = drain(WORKERS, range(WORKERS), worker)

    done = sum((t.done for t in tallies), Counter())
    kinds = ("reserve", "reserve_for_channel", "backorder", "release", "consume", "receive")
    assert all(done[kind] >= 3 for kind in (*kinds, "refused")), done
    received = sum((t.received for t in tallies), Counter())
    consumed = sum((t.consumed for t in tallies), Counter())
    physical = Location.objects.filter(kind__in=Location.PHYSICAL)
    for variant in skus:
        on_hand = StockLevel.objects.filter(sku=variant, location__in=physical).aggregate(
            q=Sum("on_hand")
        )["q"]
        assert on_hand == initial[variant] + received[variant.pk] - consumed[variant.pk]
        sold = StockMove.objects.filter(sku=variant, to_location__kind="customer").aggregate(
            q=Sum("quantity")
        )["q"]
        assert (sold or 0) == consumed[variant.pk]
    fulfilled = [pk for t in tallies for pk in t.fulfilled]
    released = [pk for t in tallies for pk in t.released]
    assert len(fulfilled) + len(released) == len(set(fulfilled) | set(released))
    assert set(Reservation.objects.filter(pk__in=fulfilled).values_list("status", flat=True)) <= {
        "consumed"
    }
    assert set(Reservation.objects.filter(pk__in=released).values_list("status", flat=True)) <= {
        "released"
    }
    assert Reservation.objects.filter(status="consumed").count() == len(fulfilled)
    assert not StockLevel.objects.filter(reserved__gt=F("on_hand")).exists()
    assert not StockLevel.objects.filter(on_hand__lt=0).exists()
    problems, _ = verify_all()
    assert problems == []


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def wait_until_blocked(pid: int, thread: threading.Thread | None = None) -> None:
    """Poll until backend `pid` waits for a lock (or `thread` has finished)."""
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            if thread is not None and not thread.is_alive():
                return
            # Inside a transaction pg_stat_activity is a snapshot: refresh it.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for a lock")


def in_thread(
    work: Callable[[], Any], errors: list[BaseException], pids: queue.Queue
) -> threading.Thread:
    def run() -> None:
        try:
            pids.put(backend_pid())
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_releasing_an_order_with_a_waiting_hold_while_stock_arrives(shop):
    """Regression: the release locked holds then levels, receiving levels then
    waiting holds; forced into the bad interleaving, PostgreSQL aborted one."""
    web, _market = channels_sharing_the_floor(shop)
    Product.objects.filter(pk=shop.candle.product_id).update(stock_policy="backorder")
    stock_up(shop, {shop.candle: 1}, location=shop.warehouse)
    held = stock_reserve_for_channel(
        lines=[ChannelLine(shop.candle.pk, 3)],
        channel_id=web.pk,
        demand_type="order_line",
        demand_id="o1",
        actor=SYSTEM,
    )
    assert sorted((r.status, r.quantity) for r in held) == [("active", 1), ("backordered", 2)]
    errors: list[BaseException] = []
    pids: queue.Queue[int] = queue.Queue()
    # A third transaction holds the warehouse's candle level so that the
    # delivery queues for it first and the release second; when it lets go,
    # both run into each other exactly as two requests can in production.
    with transaction.atomic():
        StockLevel.objects.select_for_update().get(sku=shop.candle, location=shop.warehouse)
        delivery = in_thread(
            lambda: stock_receive(
                location=shop.warehouse,
                lines=[StockLine(shop.candle.pk, 2, Decimal("4.00"))],
                actor=SYSTEM,
            ),
            errors,
            pids,
        )
        wait_until_blocked(pids.get(timeout=10))
        cancel = in_thread(
            lambda: reservations_release(reservation_ids=[r.pk for r in held], actor=SYSTEM),
            errors,
            pids,
        )
        wait_until_blocked(pids.get(timeout=10))
    for thread in (delivery, cancel):
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    level = StockLevel.objects.get(sku=shop.candle, location=shop.warehouse)
    assert (level.on_hand, level.reserved) == (3, 0)
    assert set(Reservation.objects.values_list("status", flat=True)) == {"released"}
    assert verify_all()[0] == []


def test_a_receipt_while_a_sale_is_in_flight_is_valued_as_the_ledger_replays(shop):
    """Regression: the receipt averaged over stock read without locks, so a sale
    numbered before it but committed after it was left out of the average."""
    stock_up(shop, {shop.mug: 10})
    stock_up(shop, {shop.mug: 10}, location=shop.warehouse)  # 20 at 10.00
    customer = location_virtual(Location.Kind.CUSTOMER)
    sold, commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    pids: queue.Queue[int] = queue.Queue()

    def sale() -> None:
        with transaction.atomic():
            stock_moves_post(
                moves=[MoveSpec(shop.mug.pk, shop.floor.pk, customer.pk, 5)],
                actor=SYSTEM,
                reference_type="sale",
            )
            sold.set()
            commit.wait(timeout=10)

    till = in_thread(sale, errors, pids)
    pids.get(timeout=10)
    assert sold.wait(timeout=10)
    # The delivery is booked while the sale is still open: it either waits
    # for the sale (and counts it) or finishes first (and must not count it).
    delivery = in_thread(
        lambda: stock_receive(
            location=shop.warehouse,
            lines=[StockLine(shop.mug.pk, 10, Decimal("20.00"))],
            actor=SYSTEM,
        ),
        errors,
        pids,
    )
    wait_until_blocked(pids.get(timeout=10), delivery)
    commit.set()
    for thread in (till, delivery):
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    # In move order: 20 at 10.00, 5 sold, 10 received at 20.00 -> (150 + 200) / 25
    assert SkuValuation.objects.get(sku=shop.mug).average_cost == Decimal("14.0000")
    assert verify_all()[0] == []
