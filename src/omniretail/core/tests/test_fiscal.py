"""The fiscal hash chain: canonical JSON, chained hashes and the chain check.

Pure domain tests: no database."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from omniretail.core.fiscal import (
    GENESIS_HASH,
    ChainLink,
    ChainProblem,
    canonical_json,
    chain_hash,
    chain_verify,
)

PARIS = ZoneInfo("Europe/Paris")
PREVIOUS = "previous hash does not match the document before it"
ALTERED = "hash does not match its fields: altered after posting"


def receipt_fields(number: int) -> dict:
    return {
        "number": number,
        "full_number": f"R-T1-{number:06d}",
        "issued_at": dt.datetime(2025, 3, 1, 9, number, tzinfo=PARIS),
        "total_gross": Decimal(number) * Decimal("12.50"),
        "lines": [{"sku": "MUG-GR", "quantity": number, "gross": str(Decimal("12.50") * number)}],
    }


def build_chain(numbers: list[int]) -> list[ChainLink]:
    """Links chained correctly, whatever their numbers."""
    links, previous = [], GENESIS_HASH
    for number in numbers:
        fields = receipt_fields(number)
        digest = chain_hash(previous, fields)
        links.append(ChainLink(number, previous, digest, fields))
        previous = digest
    return links


# --- canonical JSON ---------------------------------------------------------------


def test_canonical_json_sorts_keys_at_every_level_and_has_no_spaces():
    a = {"b": 1, "a": {"z": 1, "y": [{"d": 2, "c": 3}]}}
    b = {"a": {"y": [{"c": 3, "d": 2}], "z": 1}, "b": 1}
    assert canonical_json(a) == canonical_json(b) == '{"a":{"y":[{"c":3,"d":2}],"z":1},"b":1}'


def test_canonical_json_writes_decimals_as_normalised_strings():
    assert canonical_json({"x": Decimal("10.50")}) == canonical_json({"x": Decimal("10.5")})
    assert canonical_json({"x": Decimal("10.50")}) == '{"x":"10.5"}'
    assert canonical_json({"x": Decimal("100")}) == '{"x":"100"}'  # not "1E+2"
    assert canonical_json({"x": Decimal("100.00")}) == '{"x":"100"}'
    assert canonical_json({"x": Decimal("0.00")}) == '{"x":"0"}'
    assert canonical_json({"x": Decimal("-0.00")}) == '{"x":"0"}'
    assert canonical_json({"x": Decimal("-3.10")}) == '{"x":"-3.1"}'
    assert canonical_json({"x": Decimal("0.000001")}) == '{"x":"0.000001"}'


def test_canonical_json_writes_datetimes_in_utc_with_microseconds():
    paris = dt.datetime(2025, 7, 14, 10, 30, tzinfo=PARIS)  # summer time: UTC+2
    utc = dt.datetime(2025, 7, 14, 8, 30, tzinfo=dt.UTC)
    assert canonical_json({"at": paris}) == canonical_json({"at": utc})
    assert canonical_json({"at": paris}) == '{"at":"2025-07-14T08:30:00.000000+00:00"}'
    assert canonical_json({"day": dt.date(2025, 7, 14)}) == '{"day":"2025-07-14"}'


def test_canonical_json_writes_uuids_and_keeps_unicode():
    uid = UUID("12345678-1234-5678-1234-567812345678")
    assert canonical_json({"id": uid}) == '{"id":"12345678-1234-5678-1234-567812345678"}'
    assert canonical_json({"d": "Bougie figue – crème"}) == '{"d":"Bougie figue – crème"}'


def test_canonical_json_refuses_what_a_fiscal_document_cannot_hold():
    with pytest.raises(TypeError, match="cannot put set in a fiscal document"):
        canonical_json({"x": {1, 2}})
    with pytest.raises(TypeError, match="cannot put object in a fiscal document"):
        canonical_json({"x": object()})


# --- chain hash -----------------------------------------------------------------------


def test_chain_hash_is_sha256_of_previous_hash_and_canonical_json():
    fields = {"number": 1, "total": Decimal("10.50")}
    expected = hashlib.sha256((GENESIS_HASH + '{"number":1,"total":"10.5"}').encode()).hexdigest()
    assert chain_hash(GENESIS_HASH, fields) == expected
    assert chain_hash(GENESIS_HASH, {"total": Decimal("10.5"), "number": 1}) == expected
    assert len(expected) == 64
    assert GENESIS_HASH == "0" * 64


def test_chain_hash_depends_on_the_previous_hash_and_on_every_field():
    fields = receipt_fields(1)
    digest = chain_hash(GENESIS_HASH, fields)
    assert chain_hash("1" * 64, fields) != digest
    assert chain_hash(GENESIS_HASH, {**fields, "total_gross": Decimal("12.51")}) != digest
    assert chain_hash(GENESIS_HASH, {**fields, "extra": None}) != digest


# --- chain verify ------------------------------------------------------------------------


def test_an_intact_chain_has_no_problems():
    links = build_chain([1, 2, 3, 4, 5])
    assert chain_verify(links) == []
    assert chain_verify(links, expected_next=6, head_hash=links[-1].hash) == []
    assert chain_verify([], expected_next=1, head_hash=GENESIS_HASH) == []


def test_a_gap_is_found():
    links = build_chain([1, 2, 4, 5])  # chained without number 3: it was never issued
    assert chain_verify(links, expected_next=6, head_hash=links[-1].hash) == [
        ChainProblem(4, "gap: number(s) 3 missing")
    ]
    links = build_chain([1, 2, 6])
    assert chain_verify(links) == [ChainProblem(6, "gap: number(s) 3-5 missing")]
    assert chain_verify(build_chain([2, 3])) == [ChainProblem(2, "gap: number(s) 1 missing")]


def test_a_document_deleted_from_the_middle_breaks_numbering_and_chain():
    links = build_chain([1, 2, 3, 4, 5])
    del links[2]
    assert chain_verify(links, expected_next=6, head_hash=links[-1].hash) == [
        ChainProblem(4, "gap: number(s) 3 missing"),
        ChainProblem(4, PREVIOUS),
    ]


def test_a_duplicate_number_is_found():
    links = build_chain([1, 2, 3, 3])
    assert chain_verify(links) == [ChainProblem(3, "number 3 is duplicated")]


def test_a_duplicate_number_in_the_middle_names_only_the_duplicate():
    links = build_chain([1, 2, 2, 3])
    assert chain_verify(links, expected_next=4, head_hash=links[-1].hash) == [
        ChainProblem(2, "number 2 is duplicated")
    ]


def test_an_altered_field_is_found_on_that_document_only():
    links = build_chain([1, 2, 3, 4])
    links[2] = replace(links[2], fields={**links[2].fields, "total_gross": Decimal("1.00")})
    assert chain_verify(links, expected_next=5, head_hash=links[-1].hash) == [
        ChainProblem(3, ALTERED)
    ]


def test_a_changed_scale_is_not_an_alteration():
    # The database may give back 37.5 where 37.50 was hashed: same amount, same hash.
    links = build_chain([1, 2, 3])
    assert links[2].fields["total_gross"] == Decimal("37.50")
    links[2] = replace(links[2], fields={**links[2].fields, "total_gross": Decimal("37.5")})
    assert chain_verify(links) == []


def test_a_swapped_pair_is_found():
    # Someone swaps the numbers of documents 2 and 3; read back in number order.
    one, two, three, four = build_chain([1, 2, 3, 4])
    two_as_three = replace(two, number=3, fields={**two.fields, "number": 3})
    three_as_two = replace(three, number=2, fields={**three.fields, "number": 2})
    links = [one, three_as_two, two_as_three, four]
    assert chain_verify(links, expected_next=5, head_hash=four.hash) == [
        ChainProblem(2, PREVIOUS),
        ChainProblem(2, ALTERED),
        ChainProblem(3, PREVIOUS),
        ChainProblem(3, ALTERED),
        ChainProblem(4, PREVIOUS),
    ]


def test_a_broken_previous_hash_is_found():
    links = build_chain([1, 2, 3, 4])
    links[2] = replace(links[2], previous_hash="f" * 64)
    assert chain_verify(links) == [ChainProblem(3, PREVIOUS), ChainProblem(3, ALTERED)]


def test_a_forged_document_rehashed_on_a_wrong_previous_hash_is_found():
    # The forger recomputes the document's own hash, but cannot fix its neighbours.
    links = build_chain([1, 2, 3, 4])
    forged_fields = {**links[2].fields, "total_gross": Decimal("0.01")}
    links[2] = ChainLink(3, "f" * 64, chain_hash("f" * 64, forged_fields), forged_fields)
    assert chain_verify(links) == [ChainProblem(3, PREVIOUS), ChainProblem(4, PREVIOUS)]


def test_a_deleted_last_document_is_found_only_through_the_series_counter():
    links = build_chain([1, 2, 3, 4, 5])
    head = links[-1].hash
    del links[-1]
    assert chain_verify(links) == []  # the chain alone cannot see it
    assert chain_verify(links, expected_next=6, head_hash=head) == [
        ChainProblem(None, "series counter expects next number 6 but the documents end at 4"),
        ChainProblem(None, "series head hash does not match the last document's hash"),
    ]
    # Every document deleted: the counter still remembers.
    assert chain_verify([], expected_next=6, head_hash=head) == [
        ChainProblem(None, "series counter expects next number 6 but the documents end at 0"),
        ChainProblem(None, "series head hash does not match the last document's hash"),
    ]
