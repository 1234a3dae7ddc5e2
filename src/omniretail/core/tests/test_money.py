"""Money: exact Decimal amounts with their currency, rounded at named points.

Pure domain tests: no database."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omniretail.core.money import (
    Money,
    allocate,
    minor_units,
    quantum,
    tax_from_gross,
    tax_on_net,
    to_decimal,
)


def eur(value: str) -> Money:
    return Money(Decimal(value), "EUR")


# --- construction -------------------------------------------------------------


def test_amounts_are_parsed_from_strings_ints_and_decimals():
    assert Money("12.50", "EUR").amount == Decimal("12.50")
    assert Money(" 12.50 ", "EUR").amount == Decimal("12.50")
    assert Money(12, "EUR").amount == Decimal(12)
    assert Money.of("0.10", "eur") == Money(Decimal("0.10"), "EUR")
    assert Money.zero("chf") == Money(Decimal(0), "CHF")
    assert Money.zero("EUR").is_zero()
    assert not eur("0.01").is_zero()


def test_the_currency_is_upper_cased_and_must_be_an_iso_code():
    assert Money("1", "eur").currency == "EUR"
    for bad in ("EU", "EURO", "E1R", ""):
        with pytest.raises(ValueError, match="is not an ISO 4217 code like 'EUR'"):
            Money("1", bad)


@pytest.mark.parametrize("value", [12.5, 0.1, float("nan")])
def test_floats_are_refused_everywhere(value):
    with pytest.raises(ValueError, match="send amounts as strings or integers, not floats"):
        Money(value, "EUR")
    with pytest.raises(ValueError, match="not floats"):
        Money.of(value, "EUR")
    with pytest.raises(ValueError, match="not floats"):
        to_decimal(value, field="tenders[0].amount")


def test_to_decimal_names_the_field_and_the_fix():
    with pytest.raises(ValueError) as exc:
        to_decimal(1.5, field="tenders[0].amount")
    assert str(exc.value) == (
        "tenders[0].amount: send amounts as strings or integers, not floats (1.5)"
    )
    with pytest.raises(ValueError) as exc:
        to_decimal("12,50", field="price")
    assert str(exc.value) == "price: '12,50' is not a number; send e.g. \"12.50\""
    with pytest.raises(ValueError, match=r"price: None is not an amount"):
        to_decimal(None, field="price")
    with pytest.raises(ValueError, match="not floats"):
        to_decimal(True)  # a bool is an int to Python, never an amount


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", Decimal("NaN")])
def test_to_decimal_refuses_non_finite_amounts(value):
    with pytest.raises(ValueError, match="is not a finite amount"):
        to_decimal(value)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_money_refuses_a_non_finite_decimal(value):
    with pytest.raises(ValueError, match="is not a finite amount"):
        Money(value, "EUR")


# --- arithmetic ---------------------------------------------------------------


def test_add_subtract_negate_and_multiply_are_exact():
    assert eur("0.10") + eur("0.20") == eur("0.30")
    assert eur("10.00") - eur("0.01") == eur("9.99")
    assert -eur("5.10") == eur("-5.10")
    assert eur("12.50") * 3 == eur("37.50")
    assert 3 * eur("12.50") == eur("37.50")
    assert eur("49.90") * Decimal("0.5") == eur("24.950")
    assert sum([eur("0.10")] * 10, Money.zero("EUR")) == eur("1.00")


def test_comparisons_within_one_currency():
    assert eur("1.00") < eur("1.01")
    assert eur("1.00") <= eur("1.00")
    assert eur("2") > eur("1.99")
    assert eur("2") >= eur("2.00")
    assert eur("10.5") == eur("10.50")  # same amount, different scale


def test_currencies_never_mix():
    usd = Money("1.00", "USD")
    for combine in (
        lambda: eur("1.00") + usd,
        lambda: eur("1.00") - usd,
        lambda: eur("1.00") < usd,
        lambda: eur("1.00") <= usd,
        lambda: eur("1.00") > usd,
        lambda: eur("1.00") >= usd,
    ):
        with pytest.raises(ValueError, match="currency mismatch: EUR and USD"):
            combine()
    assert eur("1.00") != Money("1.00", "USD")


def test_money_does_not_combine_with_plain_numbers_or_floats():
    with pytest.raises(TypeError, match="cannot combine Money with Decimal"):
        eur("1.00") + Decimal("1.00")
    with pytest.raises(TypeError, match="cannot combine Money with int"):
        eur("1.00") - 1
    with pytest.raises(TypeError, match="never float"):
        eur("1.00") * 1.1
    with pytest.raises(TypeError, match="never float"):
        1.1 * eur("1.00")


def test_money_is_immutable():
    m = eur("1.00")
    with pytest.raises(AttributeError):
        m.amount = Decimal("2.00")  # type: ignore[misc]


# --- rounding points ----------------------------------------------------------


def test_minor_units_per_currency():
    assert (minor_units("EUR"), minor_units("jpy"), minor_units("BHD")) == (2, 0, 3)
    assert quantum("EUR") == Decimal("0.01")
    assert quantum("JPY") == Decimal("1")
    assert quantum("KWD") == Decimal("0.001")


@pytest.mark.parametrize(
    ("amount", "line", "tax", "total"),
    [
        ("2.345", "2.35", "2.34", "2.35"),  # half: up for line/total, to even for tax
        ("2.355", "2.36", "2.36", "2.36"),
        ("2.3450001", "2.35", "2.35", "2.35"),  # above half: up everywhere
        ("2.344", "2.34", "2.34", "2.34"),
        ("-2.345", "-2.35", "-2.34", "-2.35"),  # half-up rounds away from zero
        ("0.005", "0.01", "0.00", "0.01"),
        ("12.5", "12.50", "12.50", "12.50"),
    ],
)
def test_rounding_points(amount, line, tax, total):
    m = eur(amount)
    assert m.round("line").amount == Decimal(line)
    assert m.round("tax").amount == Decimal(tax)
    assert m.round("total").amount == Decimal(total)
    assert str(m.round("line").amount) == line  # quantized to cents, not merely equal


def test_rounding_follows_the_currencys_minor_units():
    assert Money("100.5", "JPY").round("total") == Money("101", "JPY")
    assert Money("100.5", "JPY").round("tax") == Money("100", "JPY")
    assert str(Money("1.2345", "BHD").round("line").amount) == "1.235"
    assert str(Money("1.2345", "BHD").round("tax").amount) == "1.234"


def test_str_shows_the_rounded_total_and_currency():
    assert str(eur("12.5")) == "12.50 EUR"
    assert str(eur("2.345")) == "2.35 EUR"
    assert str(Money("1999.6", "JPY")) == "2000 JPY"


# --- cash rounding ------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "paid"),
    [
        ("10.00", "10.00"),
        ("10.02", "10.00"),
        ("10.024", "10.00"),
        ("10.025", "10.05"),  # exactly half a step rounds up
        ("10.03", "10.05"),
        ("10.07", "10.05"),
        ("10.075", "10.10"),
        ("10.08", "10.10"),
        ("0.02", "0.00"),
        ("-10.03", "-10.05"),
    ],
)
def test_round_to_step_five_cents(due, paid):
    rounded = eur(due).round_to_step(Decimal("0.05"))
    assert rounded == eur(paid)
    assert str(rounded.amount) == paid


def test_round_to_step_ten_cents_and_whole_units():
    assert eur("4.95").round_to_step(Decimal("0.10")) == eur("5.00")
    assert eur("4.94").round_to_step(Decimal("0.10")) == eur("4.90")
    assert eur("4.50").round_to_step(Decimal("1")) == eur("5.00")


@pytest.mark.parametrize("step", [Decimal(0), Decimal("-0.05")])
def test_no_cash_rounding_step_rounds_to_cents_only(step):
    assert str(eur("10.024").round_to_step(step).amount) == "10.02"
    assert str(eur("10.025").round_to_step(step).amount) == "10.03"


# --- tax --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross", "rate", "tax"),
    [
        ("49.90", "0.20", "8.32"),  # 8.31666...
        ("25.00", "0.20", "4.17"),  # 4.16666...
        ("12.00", "0.20", "2.00"),
        ("18.00", "0.055", "0.94"),  # 0.93838...
        ("0.225", "0.25", "0.04"),  # exactly 0.045: half to even
        ("0.275", "0.25", "0.06"),  # exactly 0.055: half to even
        ("0.00", "0.20", "0.00"),
    ],
)
def test_tax_from_gross(gross, rate, tax):
    result = tax_from_gross(eur(gross), Decimal(rate))
    assert result == eur(tax)
    assert str(result.amount) == tax
    assert result.currency == "EUR"


@pytest.mark.parametrize(
    ("net", "rate", "tax"),
    [
        ("41.58", "0.20", "8.32"),  # 8.316
        ("10.00", "0.20", "2.00"),
        ("0.25", "0.10", "0.02"),  # exactly 0.025: half to even, not 0.03
        ("0.35", "0.10", "0.04"),  # exactly 0.035: half to even is up here
        ("100.00", "0.0825", "8.25"),
        ("99.99", "0.0825", "8.25"),  # 8.249175
    ],
)
def test_tax_on_net(net, rate, tax):
    result = tax_on_net(eur(net), Decimal(rate))
    assert result == eur(tax)
    assert str(result.amount) == tax


def test_tax_keeps_the_currency():
    assert tax_on_net(Money("1000", "JPY"), Decimal("0.10")) == Money("100", "JPY")
    assert tax_from_gross(Money("1100", "JPY"), Decimal("0.10")) == Money("100", "JPY")


# --- allocation -----------------------------------------------------------------


def test_allocate_even_split_gives_the_odd_cent_to_the_first_share():
    assert allocate(eur("10.00"), [Decimal(1)] * 3) == [eur("3.34"), eur("3.33"), eur("3.33")]


def test_allocate_gives_the_rounding_difference_to_the_largest_remainders():
    # exact shares 0.0125 and 0.0375: the cent goes to the larger remainder
    assert allocate(eur("0.05"), [Decimal(1), Decimal(3)]) == [eur("0.01"), eur("0.04")]
    # a 5.00 discount over lines of 49.90, 12.50, 18.00 (exact: 3.1032.., 0.7773.., 1.1194..)
    assert allocate(eur("5.00"), [Decimal("49.90"), Decimal("12.50"), Decimal("18.00")]) == [
        eur("3.10"),
        eur("0.78"),
        eur("1.12"),
    ]


def test_allocate_edge_cases():
    assert allocate(eur("10.00"), []) == []
    assert allocate(eur("10.00"), [Decimal(5)]) == [eur("10.00")]
    # all-zero weights: an even split rather than a division by zero
    assert allocate(eur("1.00"), [Decimal(0)] * 3) == [eur("0.34"), eur("0.33"), eur("0.33")]
    assert allocate(eur("0.00"), [Decimal(1), Decimal(2)]) == [eur("0.00"), eur("0.00")]
    assert allocate(Money("100", "JPY"), [Decimal(1)] * 3) == [
        Money("34", "JPY"),
        Money("33", "JPY"),
        Money("33", "JPY"),
    ]
    assert allocate(eur("-10.00"), [Decimal(1)] * 3) == [eur("-3.34"), eur("-3.33"), eur("-3.33")]


def test_allocate_of_a_negative_total_mirrors_the_positive_one():
    weights = [Decimal(1), Decimal(3)]
    assert allocate(eur("-0.05"), weights) == [-m for m in allocate(eur("0.05"), weights)]
    zero_weight_first = [Decimal(0), Decimal(1), Decimal(1)]
    assert allocate(eur("-0.01"), zero_weight_first) == [eur("0.00"), eur("-0.01"), eur("0.00")]


def test_allocate_of_an_unrounded_total_terminates():
    # In a child process so that the infinite loop cannot hang the test run.
    program = textwrap.dedent(
        """
        from decimal import Decimal
        from omniretail.core.money import Money, allocate
        try:
            parts = allocate(Money("10.005", "EUR"), [Decimal(1), Decimal(1)])
        except ValueError:
            print("ValueError")
        else:
            print(sum(p.amount for p in parts))
        """
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, timeout=3
        )
    except subprocess.TimeoutExpired:
        pytest.fail("allocate(10.005 EUR, [1, 1]) did not finish within 3 s")
    assert done.stdout.strip() in ("ValueError", "10.01"), done.stderr


currencies = st.sampled_from(["EUR", "JPY", "BHD"])
weights_lists = st.lists(
    st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(
    minor=st.integers(min_value=-(10**11), max_value=10**11),
    currency=currencies,
    weights=weights_lists,
)
def test_allocate_parts_always_sum_to_the_total(minor, currency, weights):
    total = Money(Decimal(minor).scaleb(-minor_units(currency)), currency)
    parts = allocate(total, weights)

    assert len(parts) == len(weights)
    assert sum((p.amount for p in parts), Decimal(0)) == total.amount
    q = quantum(currency)
    weight_sum = sum(weights, Decimal(0))
    for part, weight in zip(parts, weights, strict=True):
        assert part.currency == currency
        assert part.amount == part.amount.quantize(q)  # whole minor units
        exact = total.amount * weight / weight_sum if weight_sum else total.amount / len(weights)
        assert abs(part.amount - exact) < q  # never a minor unit or more off its share
