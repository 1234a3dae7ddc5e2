"""Gapless numbered series: the counter row is taken inside the document's
transaction, and a rollback gives the number back."""

from __future__ import annotations

import pytest
from django.db import transaction

from omniretail.core.errors import NotFound
from omniretail.core.fiscal import GENESIS_HASH, chain_hash
from omniretail.core.models import NumberSeries
from omniretail.core.series import Numbered, series_get_or_create, series_take


def document_fields(number: int, full_number: str, previous_hash: str) -> dict:
    return {"number": number, "full_number": full_number, "total": "10.00"}


def take(series: NumberSeries) -> Numbered:
    with transaction.atomic():
        return series_take(series_id=series.pk, fields_for=document_fields)


class Rollback(Exception):
    pass


@pytest.mark.django_db
def test_numbers_are_1_2_3_and_each_hash_chains_on_the_one_before():
    series = series_get_or_create(code="receipt-t1", prefix="R-T1-", padding=4)

    first, second, third = take(series), take(series), take(series)

    assert [n.number for n in (first, second, third)] == [1, 2, 3]
    assert [n.full_number for n in (first, second, third)] == [
        "R-T1-0001",
        "R-T1-0002",
        "R-T1-0003",
    ]
    assert first.previous_hash == GENESIS_HASH
    assert first.hash == chain_hash(GENESIS_HASH, document_fields(1, "R-T1-0001", GENESIS_HASH))
    assert second.previous_hash == first.hash
    assert third.previous_hash == second.hash
    assert third.hash == chain_hash(second.hash, document_fields(3, "R-T1-0003", second.hash))
    assert {n.series_id for n in (first, second, third)} == {series.pk}
    series.refresh_from_db()
    assert (series.next_number, series.head_hash) == (4, third.hash)


@pytest.mark.django_db
def test_the_builder_receives_number_full_number_and_previous_hash():
    series = series_get_or_create(code="invoice-2025", prefix="F2025-")  # default padding 6
    seen = []

    def fields_for(number, full_number, previous_hash):
        seen.append((number, full_number, previous_hash))
        return {"number": number}

    with transaction.atomic():
        first = series_take(series_id=series.pk, fields_for=fields_for)
        second = series_take(series_id=series.pk, fields_for=fields_for)
    assert seen == [(1, "F2025-000001", GENESIS_HASH), (2, "F2025-000002", first.hash)]
    assert second.hash == chain_hash(first.hash, {"number": 2})


@pytest.mark.django_db
def test_a_rolled_back_document_gives_its_number_back():
    series = series_get_or_create(code="receipt-t2", prefix="R-T2-")
    first = take(series)

    taken: list[Numbered] = []

    def document_that_fails_after_numbering() -> None:
        with transaction.atomic():
            taken.append(series_take(series_id=series.pk, fields_for=document_fields))
            raise Rollback  # e.g. the sale failed after the number was taken

    with pytest.raises(Rollback):
        document_that_fails_after_numbering()
    (lost,) = taken
    assert lost.number == 2

    series.refresh_from_db()
    assert (series.next_number, series.head_hash) == (2, first.hash)
    again = take(series)
    assert again.number == 2
    assert again.full_number == "R-T2-000002"
    assert again.previous_hash == first.hash
    assert again.hash == lost.hash  # the same document content chains to the same hash


@pytest.mark.django_db
def test_series_are_independent():
    a = series_get_or_create(code="receipt-a", prefix="A-")
    b = series_get_or_create(code="receipt-b", prefix="B-")
    assert [take(a).number, take(a).number, take(b).number, take(a).number] == [1, 2, 1, 3]


@pytest.mark.django_db
def test_series_get_or_create_keeps_the_existing_counter():
    series = series_get_or_create(code="receipt-t3", prefix="R-T3-")
    take(series)
    same = series_get_or_create(code="receipt-t3", prefix="IGNORED-", padding=2)
    assert same.pk == series.pk
    assert (same.prefix, same.padding, same.next_number) == ("R-T3-", 6, 2)


@pytest.mark.django_db
def test_an_unknown_series_is_not_found():
    with pytest.raises(NotFound) as exc, transaction.atomic():
        series_take(series_id=987654, fields_for=document_fields)
    assert exc.value.field == "series"
    assert exc.value.http_status == 404
    assert exc.value.message == "number series #987654 does not exist"


@pytest.mark.django_db(transaction=True)
def test_series_take_refuses_to_run_outside_a_transaction():
    series = series_get_or_create(code="receipt-t4", prefix="R-T4-")
    with pytest.raises(RuntimeError, match="must run inside the document's transaction"):
        series_take(series_id=series.pk, fields_for=document_fields)
    series.refresh_from_db()
    assert (series.next_number, series.head_hash) == (1, GENESIS_HASH)
