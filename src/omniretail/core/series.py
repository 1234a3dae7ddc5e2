"""Gapless numbered series: a counter row locked until the document commits.

Never a database sequence: a sequence hands out numbers that a rollback
loses, which is a gap a tax auditor asks about.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection

from omniretail.core.errors import NotFound
from omniretail.core.fiscal import chain_hash
from omniretail.core.models import NumberSeries


@dataclass(frozen=True)
class Numbered:
    series_id: int
    number: int
    full_number: str
    previous_hash: str
    hash: str


def series_get_or_create(*, code: str, prefix: str, padding: int = 6) -> NumberSeries:
    series, _ = NumberSeries.objects.get_or_create(
        code=code, defaults={"prefix": prefix, "padding": padding}
    )
    return series


FieldsBuilder = Callable[[int, str, str], Mapping[str, Any]]


def series_take(*, series_id: int, fields_for: FieldsBuilder) -> Numbered:
    """Take the next number of a series and chain the document's hash.

    Must run inside the transaction that writes the document: the counter row
    stays locked until it commits, and a rollback returns the number.
    `fields_for(number, full_number, previous_hash)` returns the document's
    canonical fields, which include its number.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("series_take must run inside the document's transaction")
    # On SQLite the IMMEDIATE transaction already holds the write lock;
    # select_for_update is a no-op there and a row lock on PostgreSQL.
    series = NumberSeries.objects.select_for_update().filter(pk=series_id).first()
    if series is None:
        raise NotFound(f"number series #{series_id} does not exist", field="series")
    number = series.next_number
    full_number = series.format(number)
    previous = series.head_hash
    fields = fields_for(number, full_number, previous)
    digest = chain_hash(previous, fields)
    NumberSeries.objects.filter(pk=series.pk).update(next_number=number + 1, head_hash=digest)
    return Numbered(series.pk, number, full_number, previous, digest)
