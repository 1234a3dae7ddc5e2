"""Routing rules as pure functions: no database. Where an order is sent
from, and why, given what each location may give the channel."""

from __future__ import annotations

from omniretail.fulfilment.domain import (
    DEFAULT_RULES,
    Candidate,
    Need,
    Plan,
    route,
    rule_by_priority,
    rule_fewest_shipments,
    rule_pickup_store,
    rule_single_location,
)

MUG, CANDLE, SHIRT = 10, 20, 30

WAREHOUSE = Candidate(1, "wh-main", "warehouse", 1, {MUG: 1, CANDLE: 5})
PARIS = Candidate(2, "st-paris", "store", 2, {MUG: 3})
LYON = Candidate(3, "st-lyon", "store", 3, {MUG: 5, CANDLE: 5})


def test_a_pickup_comes_from_the_chosen_store_only():
    need = Need({MUG: 2}, pickup_location_id=PARIS.location_id)
    plan = rule_pickup_store(need, [WAREHOUSE, PARIS, LYON])
    assert plan == Plan("pickup_store", "pick-up at st-paris: it has everything", [(2, MUG, 2)])


def test_a_pickup_store_short_of_stock_says_by_how_much():
    need = Need({MUG: 2, CANDLE: 1}, pickup_location_id=PARIS.location_id)
    plan = rule_pickup_store(need, [WAREHOUSE, PARIS])
    assert plan == Plan(
        "pickup_store", "pick-up at st-paris: short of 1 unit(s)", [(2, MUG, 2)], {CANDLE: 1}
    )
    # the warehouse has candles, but a pick-up never takes them from there
    assert plan.locations == [2]


def test_a_pickup_store_the_channel_does_not_sell_from_gives_nothing():
    plan = rule_pickup_store(Need({MUG: 2}, pickup_location_id=9), [WAREHOUSE])
    assert plan == Plan("pickup_store", "pick-up at location #9: short of 2 unit(s)", [], {MUG: 2})


def test_no_pickup_passes_to_the_next_rule():
    assert rule_pickup_store(Need({MUG: 1}), [WAREHOUSE]) is None


def test_one_parcel_from_the_first_location_by_priority_that_has_everything():
    plan = rule_single_location(Need({MUG: 1, CANDLE: 1}), [LYON, PARIS, WAREHOUSE])
    assert plan == Plan(
        "single_location", "wh-main has everything (priority 1)", [(1, MUG, 1), (1, CANDLE, 1)]
    )


def test_the_single_location_reason_names_those_passed_over():
    plan = rule_single_location(Need({MUG: 3, CANDLE: 1}), [WAREHOUSE, PARIS, LYON])
    assert plan == Plan(
        "single_location",
        "wh-main, st-paris short; st-lyon has everything (priority 3)",
        [(3, MUG, 3), (3, CANDLE, 1)],
    )
    assert rule_single_location(Need({MUG: 3, CANDLE: 1}), [WAREHOUSE, PARIS]) is None


def test_a_split_takes_the_location_covering_most_first():
    plan = rule_fewest_shipments(Need({MUG: 3, CANDLE: 1}), [WAREHOUSE, PARIS])
    # Paris covers 3 of the 4 units, the warehouse 2: Paris first, then the candle
    assert plan == Plan(
        "fewest_shipments",
        "no single location has everything; split over wh-main, st-paris",
        [(2, MUG, 3), (1, CANDLE, 1)],
    )
    assert plan.locations == [1, 2]


def test_a_split_ties_by_priority():
    first = Candidate(5, "a", "store", 2, {MUG: 2})
    second = Candidate(6, "b", "store", 1, {MUG: 2})
    plan = rule_fewest_shipments(Need({MUG: 2}), [first, second])
    assert plan is not None
    assert plan.assignments == [(6, MUG, 2)]


def test_a_split_reports_what_nobody_has():
    plan = rule_fewest_shipments(Need({MUG: 6, CANDLE: 1}), [WAREHOUSE, PARIS])
    assert plan == Plan(
        "fewest_shipments",
        "no single location has everything; split over wh-main, st-paris; short of 2 unit(s)",
        [(2, MUG, 3), (1, MUG, 1), (1, CANDLE, 1)],
        {MUG: 2},
    )


def test_no_split_when_the_order_must_leave_in_one_parcel():
    assert rule_fewest_shipments(Need({MUG: 3}, allow_split=False), [WAREHOUSE, PARIS]) is None


def test_the_fallback_takes_strictly_by_priority():
    plan = rule_by_priority(Need({MUG: 4, CANDLE: 6}), [PARIS, WAREHOUSE])
    assert plan == Plan(
        "by_priority",
        "by channel priority",
        [(1, MUG, 1), (1, CANDLE, 5), (2, MUG, 3)],
        {CANDLE: 1},
    )


def test_route_runs_the_rules_in_order():
    rules = (rule_pickup_store, rule_single_location, rule_fewest_shipments, rule_by_priority)
    assert rules == DEFAULT_RULES
    candidates = [WAREHOUSE, PARIS, LYON]
    assert route(Need({MUG: 1}), candidates).rule == "single_location"
    assert route(Need({MUG: 9}), candidates).rule == "fewest_shipments"
    assert route(Need({MUG: 9}, allow_split=False), candidates).rule == "by_priority"
    # a pick-up is decided by its store, even when short
    assert route(Need({CANDLE: 1}, pickup_location_id=2), candidates).rule == "pickup_store"


def test_what_nobody_has_is_short_whatever_the_rule():
    # Splitting has nothing to split: the fallback reports the whole shortage.
    plan = route(Need({SHIRT: 2}), [WAREHOUSE, PARIS])
    assert plan == Plan("by_priority", "by channel priority", [], {SHIRT: 2})
    fallback = route(Need({SHIRT: 2}, allow_split=False), [WAREHOUSE, PARIS])
    assert fallback == Plan("by_priority", "by channel priority", [], {SHIRT: 2})


def test_without_rules_nothing_is_planned():
    assert route(Need({MUG: 1}), [WAREHOUSE], rules=()) == Plan(
        "none", "no rule applied", [], {MUG: 1}
    )
