"""Pure rules: points arithmetic and gift card codes (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.loyalty.domain import (
    CODE_ALPHABET,
    fraction_add,
    giftcard_code_hash,
    giftcard_code_new,
    giftcard_code_normalise,
    points_due,
    points_for,
    points_needed,
    points_value,
    points_value_down,
)

CENT = Decimal("0.01")


def test_points_are_whole_and_never_negative():
    assert points_for(Decimal("49.90"), Decimal("1")) == 49
    assert points_for(Decimal("49.90"), Decimal("2")) == 99
    assert points_for(Decimal("-10"), Decimal("1")) == 0
    assert points_for(Decimal("10"), Decimal("0")) == 0


def test_point_values_and_points_needed():
    assert points_value(49, Decimal("0.01"), CENT) == Decimal("0.49")
    assert points_value(3, Decimal("0.005"), CENT) == Decimal("0.02")  # 0.015 half up
    assert points_value_down(3, Decimal("0.005"), CENT) == Decimal("0.01")
    assert points_needed(Decimal("2.50"), Decimal("0.01")) == 250
    assert points_needed(Decimal("0.01"), Decimal("0.003")) == 4  # 3.33 -> a whole point more


def test_three_thirds_reverse_every_point():
    third = Decimal(1) / 3
    done, reversed_points = Decimal(0), 0
    parts = []
    for _ in range(3):
        cumulative = fraction_add(done, third)
        assert cumulative is not None
        part = points_due(100, cumulative) - reversed_points
        parts.append(part)
        done, reversed_points = cumulative, reversed_points + part
    assert parts == [33, 34, 33]
    assert fraction_add(Decimal(1), Decimal("0.01")) is None
    assert fraction_add(Decimal("0.5"), Decimal("0.5000000001")) == Decimal(1)  # slack clamped


def test_a_new_code_has_17_symbols_in_groups_and_checks_itself():
    code = giftcard_code_new()
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4, 1]
    normalised = giftcard_code_normalise(code.lower().replace("-", " "))
    assert normalised == code.replace("-", "")
    assert set(normalised) <= set(CODE_ALPHABET)
    assert giftcard_code_hash(normalised) == giftcard_code_hash(giftcard_code_normalise(code))
    assert len({giftcard_code_new() for _ in range(200)}) == 200


def test_every_single_typo_and_adjacent_swap_is_caught():
    code = giftcard_code_new().replace("-", "")
    for i in range(len(code)):
        for other in CODE_ALPHABET:
            if other != code[i]:
                typo = code[:i] + other + code[i + 1 :]
                with pytest.raises(ValueError, match="not a valid gift card code"):
                    giftcard_code_normalise(typo)
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            with pytest.raises(ValueError):
                giftcard_code_normalise(swapped)


def test_codes_with_ambiguous_characters_or_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="17 characters"):
        giftcard_code_normalise("ABCD")
    with pytest.raises(ValueError, match="never contains 0, O"):
        giftcard_code_normalise("O0AAAAAAAAAAAAAAA")
