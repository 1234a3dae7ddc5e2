"""The golden vectors: every cart in src/omniretail/pricing/vectors gives exactly
its expected result (and its hand-worked figures); inputs and results survive
a JSON round trip. No database."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from omniretail.core.errors import ValidationFailed
from omniretail.pricing.engine import price_cart
from omniretail.pricing.engine_types import PricingInput, PricingResult, from_dict, to_dict
from omniretail.pricing.vectors_tool import hand_mismatches, vector_load, vector_paths, vector_run

PATHS = vector_paths()


def test_there_are_at_least_forty_vectors_with_hand_figures():
    assert len(PATHS) >= 40
    hand_checked = [p for p in PATHS if vector_load(p).get("hand")]
    assert len(hand_checked) == len(PATHS)


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_vector(path):
    vector = vector_load(path)
    assert vector["name"] == path.stem
    result = vector_run(vector)
    assert hand_mismatches(vector, result) == []
    assert result == vector["expected"]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_input_and_result_round_trip_through_json(path):
    data = from_dict(PricingInput, vector_load(path)["input"])
    assert from_dict(PricingInput, json.loads(json.dumps(to_dict(data)))) == data
    result = price_cart(data)
    assert from_dict(PricingResult, json.loads(json.dumps(to_dict(result)))) == result


def test_a_changed_rule_changes_the_result():
    """The vectors can fail: a 10 % promotion turned into 11 % no longer matches."""
    path = next(p for p in PATHS if p.stem == "percent_off_item")
    vector = copy.deepcopy(vector_load(path))
    vector["input"]["rules"]["promotions"][0]["value"] = "11"
    result = vector_run(vector)
    assert result != vector["expected"]
    assert result["lines"][0]["discount_total"] == "10.98"


def _minimal() -> dict:
    return {
        "lines": [
            {
                "line_id": "1",
                "sku": "MUG",
                "variant_id": 3,
                "product_id": 20,
                "tax_class": "standard",
                "base_price": "12.50",
                "quantity": 1,
            }
        ],
        "context": {"channel": "web", "currency": "eur", "now": "2025-06-06T12:00:00Z"},
        "rules": {"tax_mode": "included", "tax_rates": {"standard": "0.20"}},
    }


def test_currency_is_upper_cased_and_z_offsets_are_accepted():
    result = price_cart(from_dict(PricingInput, _minimal()))
    assert result.currency == "EUR"
    assert result.totals.gross == Decimal("12.50")
    assert result.totals.tax == Decimal("2.08")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d["lines"][0].update(quantity=0), "lines[0].quantity", "above 0"),
        (lambda d: d["lines"][0].update(quantity="2"), "lines[0].quantity", "whole number"),
        (lambda d: d["lines"][0].update(base_price=12.5), "lines[0].base_price", "not floats"),
        (lambda d: d["lines"][0].update(tax_class="zero"), "lines[0].tax_class", "tax_rates"),
        (lambda d: d["lines"][0].update(colour="red"), "lines[0].colour", "unknown field"),
        (lambda d: d["context"].update(now="2025-06-06T12:00:00"), "context.now", "UTC offset"),
        (lambda d: d["rules"].update(tax_mode="both"), "rules.tax_mode", "not one of"),
        (
            lambda d: d["lines"][0].update(manual_discount="0.005"),
            "lines[0].manual_discount",
            "0.01",
        ),
        (lambda d: d["context"].pop("channel"), "context.channel", "required"),
    ],
)
def test_bad_input_names_the_field(change, field, words):
    data = _minimal()
    change(data)
    with pytest.raises(ValidationFailed) as caught:
        price_cart(from_dict(PricingInput, data))
    assert caught.value.field == field
    assert words in caught.value.message
