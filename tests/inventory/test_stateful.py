"""A store's stock, driven by random days: Hypothesis picks a sequence of
deliveries, holds (at a location and by channel), releases, expiries, sales
(fulfilled holds and POS sales), returns, transfers through transit and
counts, and after every step checks the promises of the stock ledger
against a plain model of what should be:

- every cached level equals the sum of its moves (verify_stock), and stock is
  conserved per SKU (physical levels + net flow to virtual locations = 0);
- `reserved` equals the active holds (verify_reservations), and at the online
  warehouse never exceeds what is on hand (there, transfers ship only free
  stock and a count never finds less than is held: the ledger itself does not
  protect held stock, the documents that call it must);
- the moving average replays from the ledger (verify_valuation);
- the selectors never report negative availability and agree with the model.

Each example runs in a savepoint rolled back in teardown, so examples do not
see each other's data. OMNI_STATEFUL_EXAMPLES runs more examples (e.g. nightly).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from omniretail.catalog.models import Product
from omniretail.core.access import SYSTEM
from omniretail.core.errors import Conflict
from omniretail.core.services import channel_create
from omniretail.inventory.models import (
    ChannelLocation,
    Location,
    Reservation,
    StockLevel,
    StockMove,
)
from omniretail.inventory.selectors import stock_available_by_location, stock_available_many
from omniretail.inventory.services import (
    ChannelLine,
    InsufficientStock,
    MoveSpec,
    ReserveLine,
    StockLine,
    location_transit,
    location_virtual,
    reservations_consume,
    reservations_expire,
    reservations_release,
    stock_moves_post,
    stock_receive,
    stock_reserve,
    stock_reserve_for_channel,
)
from omniretail.inventory.verify import verify_reservations, verify_stock, verify_valuation
from tests.conftest import build_shop

EXAMPLES = int(os.environ.get("OMNI_STATEFUL_EXAMPLES", "30"))
STEPS = 25
START = dt.datetime(2030, 3, 2, 9, 0, tzinfo=dt.UTC)  # the fake "now" of every example

SKU = st.integers(min_value=0, max_value=2)  # mug (refuse), candle (backorder), shirt M
SELLING = st.sampled_from(["warehouse", "floor"])
QUANTITY = st.integers(min_value=1, max_value=3)
EXPIRY = st.sampled_from([None, 5, 30, 120])  # minutes from the fake now
COST = st.sampled_from([Decimal("3.10"), Decimal("4.00"), Decimal("7.35"), Decimal("12.00")])
PICK = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=2)

# channel -> {location: (priority, safety buffer)}
CHANNELS = {
    "web": {"warehouse": (1, 0), "floor": (2, 1)},
    "market": {"floor": (1, 2), "warehouse": (3, 1)},
}


@dataclass
class Hold:
    """The model of one Reservation row."""

    sku_id: int
    location_id: int
    quantity: int
    status: str
    expires_at: dt.datetime | None


class StockDays(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        try:
            self._open_shop()
        except BaseException:
            self.teardown()
            raise

    def _open_shop(self) -> None:
        shop = build_shop()
        self.warehouse, self.floor = shop.warehouse, shop.floor
        self.transit = location_transit()
        self.customer = location_virtual(Location.Kind.CUSTOMER)
        self.adjustment = location_virtual(Location.Kind.ADJUSTMENT)
        self.places = {"warehouse": self.warehouse.pk, "floor": self.floor.pk}
        self.skus = [shop.mug.pk, shop.candle.pk, shop.shirt_m.pk]
        Product.objects.filter(pk=shop.candle.product_id).update(stock_policy="backorder")
        self.backorderable = {shop.candle.pk}
        self.channels: dict[str, int] = {}
        self.links: dict[int, dict[int, tuple[int, int]]] = {}
        for code, sources in CHANNELS.items():
            channel = channel_create(company=shop.company, code=code, name=code, kind="web")
            self.channels[code] = channel.pk
            self.links[channel.pk] = {}
            for place, (priority, buffer) in sources.items():
                ChannelLocation.objects.create(
                    channel=channel,
                    location_id=self.places[place],
                    priority=priority,
                    safety_buffer=buffer,
                )
                self.links[channel.pk][self.places[place]] = (priority, buffer)
        self.on_hand: dict[tuple[int, int], int] = defaultdict(int)
        self.holds: dict[int, Hold] = {}
        self.with_customers: dict[int, int] = defaultdict(int)
        self.now = START
        self.documents = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- the model -------------------------------------------------------
    def reserved(self, sku_id: int, location_id: int) -> int:
        return sum(
            h.quantity
            for h in self.holds.values()
            if h.status == "active" and (h.sku_id, h.location_id) == (sku_id, location_id)
        )

    def free(self, sku_id: int, location_id: int, buffer: int = 0) -> int:
        return self.on_hand[(sku_id, location_id)] - self.reserved(sku_id, location_id) - buffer

    def by_status(self, *statuses: str) -> list[int]:
        return sorted(pk for pk, h in self.holds.items() if h.status in statuses)

    def picked(self, indexes: list[int], pool: list[int]) -> list[int]:
        return sorted({pool[i % len(pool)] for i in indexes})

    def fill_backorders(self, sku_id: int, location_id: int) -> None:
        for pk in self.by_status("backordered"):  # oldest first
            hold = self.holds[pk]
            if (hold.sku_id, hold.location_id) != (sku_id, location_id):
                continue
            if self.free(sku_id, location_id) < hold.quantity:
                break
            hold.status = "active"
            event("deliver: filled a backorder")

    def reference(self, kind: str) -> str:
        self.documents += 1
        return f"{kind}-{self.documents}"

    def post(self, moves: list[MoveSpec], reference_type: str) -> None:
        with transaction.atomic():
            stock_moves_post(moves=moves, actor=SYSTEM, reference_type=reference_type)
        for m in moves:
            self.on_hand[(m.sku_id, m.from_location_id)] -= m.quantity
            self.on_hand[(m.sku_id, m.to_location_id)] += m.quantity

    # --- the day ---------------------------------------------------------
    @initialize(
        plenty=st.lists(st.integers(3, 12), min_size=4, max_size=4),
        candles=st.lists(st.integers(0, 3), min_size=2, max_size=2),
        cost=COST,
    )
    def open_with_stock(self, plenty: list[int], candles: list[int], cost: Decimal) -> None:
        """Mugs and shirts in both places; few candles, so orders for them wait."""
        mug, candle, shirt = self.skus
        for i, (place, location_id) in enumerate(self.places.items()):
            opening = {mug: plenty[2 * i], shirt: plenty[2 * i + 1], candle: candles[i]}
            lines = [StockLine(s, q, cost) for s, q in opening.items() if q]
            stock_receive(
                location=Location.objects.get(pk=location_id),
                lines=lines,
                actor=SYSTEM,
                reference=f"opening {place}",
            )
            for line in lines:
                self.on_hand[(line.sku_id, location_id)] += line.quantity

    @rule(sku=SKU, place=SELLING, quantity=st.integers(1, 6), cost=COST)
    def deliver(self, sku: int, place: str, quantity: int, cost: Decimal) -> None:
        sku_id, location_id = self.skus[sku], self.places[place]
        stock_receive(
            location=Location.objects.get(pk=location_id),
            lines=[StockLine(sku_id, quantity, cost)],
            actor=SYSTEM,
            reference=self.reference("DN"),
        )
        self.on_hand[(sku_id, location_id)] += quantity
        self.fill_backorders(sku_id, location_id)

    @rule(
        lines=st.lists(st.tuples(SKU, SELLING, QUANTITY), min_size=1, max_size=2),
        channel=st.sampled_from([None, "web", "market"]),
        expiry=EXPIRY,
    )
    def hold_at_location(
        self, lines: list[tuple[int, str, int]], channel: str | None, expiry: int | None
    ) -> None:
        channel_id = self.channels[channel] if channel else None
        totals: dict[tuple[int, int], int] = defaultdict(int)
        for sku, place, quantity in lines:
            totals[(self.skus[sku], self.places[place])] += quantity
        buffers = self.links[channel_id] if channel_id else {}
        fits = all(
            self.free(s, loc, buffers.get(loc, (0, 0))[1]) >= q for (s, loc), q in totals.items()
        )
        expires_at = self.now + dt.timedelta(minutes=expiry) if expiry else None
        try:
            made = stock_reserve(
                lines=[ReserveLine(self.skus[s], self.places[p], q) for s, p, q in lines],
                demand_type="cart",
                demand_id=self.reference("cart"),
                actor=SYSTEM,
                channel_id=channel_id,
                expires_at=expires_at,
            )
        except InsufficientStock:
            assert not fits, "refused although every line fits"
            event("hold at location: refused")
            return
        assert fits, "held although a line does not fit"
        assert [(r.sku_id, r.location_id, r.quantity) for r in made] == [
            (s, loc, q) for (s, loc), q in sorted(totals.items())
        ]
        for r in made:
            self.holds[r.pk] = Hold(r.sku_id, r.location_id, r.quantity, "active", expires_at)

    @rule(
        channel=st.sampled_from(list(CHANNELS)),
        lines=st.lists(st.tuples(SKU, QUANTITY), min_size=1, max_size=2),
        expiry=EXPIRY,
    )
    def hold_for_channel(
        self, channel: str, lines: list[tuple[int, int]], expiry: int | None
    ) -> None:
        channel_id = self.channels[channel]
        links = self.links[channel_id]
        wanted: dict[int, int] = defaultdict(int)
        for sku, quantity in lines:
            wanted[self.skus[sku]] += quantity
        expected: list[tuple[int, int, int, str]] = []
        waiting: list[tuple[int, int, int, str]] = []
        refused = False
        for sku_id, quantity in sorted(wanted.items()):
            by_priority = sorted(links, key=lambda loc: (links[loc][0], loc))
            free = {loc: max(self.free(sku_id, loc, links[loc][1]), 0) for loc in by_priority}
            short = quantity - min(quantity, sum(free.values()))
            if short and sku_id not in self.backorderable:
                refused = True
                continue
            remaining = quantity - short
            for loc in by_priority:
                take = min(free[loc], remaining)
                if take:
                    expected.append((sku_id, loc, take, "active"))
                    remaining -= take
            if short:
                waiting.append((sku_id, by_priority[0], short, "backordered"))
        expires_at = self.now + dt.timedelta(minutes=expiry) if expiry else None
        try:
            made = stock_reserve_for_channel(
                lines=[ChannelLine(self.skus[s], q) for s, q in lines],
                channel_id=channel_id,
                demand_type="order_line",
                demand_id=self.reference("order"),
                actor=SYSTEM,
                expires_at=expires_at,
            )
        except InsufficientStock:
            assert refused, "refused although the channel has the stock (or may backorder)"
            event("hold for channel: refused")
            return
        assert not refused, "held more than the channel has of a SKU that cannot wait"
        assert [(r.sku_id, r.location_id, r.quantity, r.status) for r in made] == sorted(
            expected
        ) + waiting
        if waiting:
            event("hold for channel: backordered")
        if len({loc for _, loc, _, _ in expected}) > 1:
            event("hold for channel: split over locations")
        for r in made:
            self.holds[r.pk] = Hold(
                r.sku_id,
                r.location_id,
                r.quantity,
                r.status,
                expires_at if r.status == "active" else None,
            )

    @rule(channel=st.sampled_from(list(CHANNELS)), quantity=st.integers(1, 4))
    def order_candles(self, channel: str, quantity: int) -> None:
        """Candles are sold on backorder: a short order waits for stock."""
        self.hold_for_channel(channel, [(1, quantity)], None)

    @rule(place=SELLING, quantity=QUANTITY, cost=COST)
    def deliver_candles(self, place: str, quantity: int, cost: Decimal) -> None:
        """Waiting candle orders are filled oldest first as candles arrive."""
        self.deliver(1, place, quantity, cost)

    @precondition(lambda self: self.holds)
    @rule(pick=PICK)
    def release(self, pick: list[int]) -> None:
        # Any holds, active, waiting or already ended: releasing twice is harmless.
        ids = self.picked(pick, sorted(self.holds))
        live = [pk for pk in ids if self.holds[pk].status in ("active", "backordered")]
        freed = sorted(
            {(self.holds[pk].sku_id, self.holds[pk].location_id) for pk in live}
            & {
                (self.holds[pk].sku_id, self.holds[pk].location_id)
                for pk in self.by_status("active")
                if pk in live
            }
        )
        assert reservations_release(reservation_ids=ids, actor=SYSTEM) == len(live)
        for pk in live:
            self.holds[pk].status = "released"
        for sku_id, location_id in freed:  # freed stock goes to whoever waits, oldest first
            self.fill_backorders(sku_id, location_id)

    @rule(minutes=st.sampled_from([1, 5, 30, 150]))
    def expire(self, minutes: int) -> None:
        self.now += dt.timedelta(minutes=minutes)
        due = [
            pk
            for pk in self.by_status("active")
            if self.holds[pk].expires_at is not None and self.holds[pk].expires_at <= self.now
        ]
        assert reservations_expire(now=self.now) == len(due)
        if due:
            event("expire: some holds expired")
        freed = sorted({(self.holds[pk].sku_id, self.holds[pk].location_id) for pk in due})
        for pk in due:
            self.holds[pk].status = "expired"
        for sku_id, location_id in freed:
            self.fill_backorders(sku_id, location_id)

    @precondition(lambda self: self.by_status("active"))
    @rule(pick=PICK)
    def fulfil(self, pick: list[int]) -> None:
        ids = self.picked(pick, self.by_status("active"))
        leaving: dict[tuple[int, int], int] = defaultdict(int)
        for pk in ids:
            leaving[(self.holds[pk].sku_id, self.holds[pk].location_id)] += self.holds[pk].quantity
        # A POS sale may have taken held goods off the floor: then it is refused.
        fits = all(self.on_hand[key] >= q for key, q in leaving.items())
        refusal: Conflict | None = None
        try:
            units = reservations_consume(
                reservation_ids=ids,
                actor=SYSTEM,
                reference_type="order",
                reference_id=self.reference("order"),
            )
        except Conflict as exc:
            refusal = exc
        assert (refusal is None) == fits, refusal
        if refusal is not None:
            assert refusal.code == "insufficient_stock"
            event("fulfil: refused, a till sold the held goods")
            return
        assert units == sum(leaving.values())
        for (sku_id, location_id), quantity in leaving.items():
            self.on_hand[(sku_id, location_id)] -= quantity
            self.with_customers[sku_id] += quantity
        for pk in ids:
            self.holds[pk].status = "consumed"

    @rule(sku=SKU, quantity=QUANTITY)
    def sell_at_the_till(self, sku: int, quantity: int) -> None:
        sku_id = self.skus[sku]
        fits = self.on_hand[(sku_id, self.floor.pk)] >= quantity
        refusal: Conflict | None = None
        try:
            self.post([MoveSpec(sku_id, self.floor.pk, self.customer.pk, quantity)], "sale")
        except Conflict as exc:
            refusal = exc
        assert (refusal is None) == fits, refusal
        if refusal is not None:
            assert refusal.code == "insufficient_stock"
            event("till: refused, not on the floor")
            return
        self.with_customers[sku_id] += quantity

    @rule(sku=SKU, quantity=QUANTITY)
    def take_back(self, sku: int, quantity: int) -> None:
        sku_id = self.skus[sku]
        quantity = min(quantity, self.with_customers[sku_id])
        if quantity:
            self.post([MoveSpec(sku_id, self.customer.pk, self.floor.pk, quantity)], "return")
            self.with_customers[sku_id] -= quantity

    @rule(sku=SKU, quantity=QUANTITY)
    def ship_to_store(self, sku: int, quantity: int) -> None:
        # Only free stock leaves the warehouse: held units stay for their orders.
        sku_id = self.skus[sku]
        quantity = min(quantity, self.free(sku_id, self.warehouse.pk))
        if quantity > 0:
            self.post([MoveSpec(sku_id, self.warehouse.pk, self.transit.pk, quantity)], "transfer")

    @rule(sku=SKU, quantity=QUANTITY)
    def arrive_at_store(self, sku: int, quantity: int) -> None:
        sku_id = self.skus[sku]
        quantity = min(quantity, self.on_hand[(sku_id, self.transit.pk)])
        if quantity:
            self.post([MoveSpec(sku_id, self.transit.pk, self.floor.pk, quantity)], "transfer")

    @rule(sku=SKU, place=SELLING, difference=st.integers(-3, 3))
    def count(self, sku: int, place: str, difference: int) -> None:
        sku_id, location_id = self.skus[sku], self.places[place]
        before = self.on_hand[(sku_id, location_id)]
        floor = self.reserved(sku_id, location_id) if place == "warehouse" else 0
        found = max(before + difference, floor, 0)
        if found > before:
            self.post([MoveSpec(sku_id, self.adjustment.pk, location_id, found - before)], "count")
        elif found < before:
            self.post([MoveSpec(sku_id, location_id, self.adjustment.pk, before - found)], "count")

    # --- after every step ------------------------------------------------
    @invariant()
    def ledger_checks_pass(self) -> None:
        for check in (verify_stock, verify_reservations, verify_valuation):
            problems, _ = check()
            assert problems == [], problems

    @invariant()
    def stock_is_conserved_per_sku(self) -> None:
        virtual = Location.objects.filter(kind__in=Location.VIRTUAL)
        for sku_id in self.skus:
            physical = (
                StockLevel.objects.filter(sku_id=sku_id).aggregate(q=Sum("on_hand"))["q"] or 0
            )
            moves = StockMove.objects.filter(sku_id=sku_id)
            into = moves.filter(to_location__in=virtual).aggregate(q=Sum("quantity"))["q"] or 0
            out = moves.filter(from_location__in=virtual).aggregate(q=Sum("quantity"))["q"] or 0
            assert physical + (into - out) == 0

    @invariant()
    def levels_and_holds_match_the_model(self) -> None:
        levels = {
            (s, loc): (on_hand, reserved)
            for s, loc, on_hand, reserved in StockLevel.objects.filter(
                sku_id__in=self.skus
            ).values_list("sku_id", "location_id", "on_hand", "reserved")
        }
        cached = {self.warehouse.pk, self.floor.pk, self.transit.pk}
        keys = {k for k in self.on_hand if k[1] in cached}
        keys |= {(h.sku_id, h.location_id) for h in self.holds.values()}
        expected = {k: (self.on_hand[k], self.reserved(*k)) for k in keys}
        assert {k: v for k, v in levels.items() if v != (0, 0)} == {
            k: v for k, v in expected.items() if v != (0, 0)
        }
        statuses = dict(Reservation.objects.values_list("pk", "status"))
        assert statuses == {pk: h.status for pk, h in self.holds.items()}
        for sku_id in self.skus:
            on_hand, reserved = levels.get((sku_id, self.warehouse.pk), (0, 0))
            assert reserved <= on_hand, "the online warehouse promised more than it holds"

    @invariant()
    def availability_is_never_negative_and_as_modelled(self) -> None:
        for channel_id, links in self.links.items():
            free = stock_available_many(sku_ids=self.skus, channel_id=channel_id)
            assert free == {
                s: sum(max(self.free(s, loc, buffer), 0) for loc, (_, buffer) in links.items())
                for s in self.skus
            }
        for sku_id in self.skus:
            for row in stock_available_by_location(sku_id=sku_id):
                assert row.available >= 0
                assert row.available == max(self.free(sku_id, row.location_id), 0)
                assert row.on_hand == self.on_hand[(sku_id, row.location_id)]


@pytest.mark.django_db
def test_random_days_of_stock_keep_the_ledger_promises():
    run_state_machine_as_test(
        StockDays,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,  # no .hypothesis/ folder in the repository
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
