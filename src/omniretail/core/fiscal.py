"""The fiscal hash chain: each posted document stores
sha256(previous hash + canonical JSON of its fields).

Pure functions; the documents that use it live in their own apps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

GENESIS_HASH = "0" * 64


def _canonical_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Normalised text so 10.50 and 10.5 cannot hash differently by accident of storage
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot put {type(value).__name__} in a fiscal document")


def canonical_json(fields: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 text, Decimals as normalised strings."""
    return json.dumps(
        fields,
        default=_canonical_default,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def chain_hash(previous_hash: str, fields: Mapping[str, Any]) -> str:
    payload = previous_hash + canonical_json(fields)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainLink:
    number: int
    previous_hash: str
    hash: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class ChainProblem:
    number: int | None
    message: str


def chain_verify(
    links: Iterable[ChainLink], *, expected_next: int | None = None, head_hash: str | None = None
) -> list[ChainProblem]:
    """Check numbering (1, 2, 3... no gaps, no duplicates) and every hash.

    `expected_next`/`head_hash` are the series counter's view; a document
    deleted from the end of the chain shows up as a mismatch with them.
    """
    problems: list[ChainProblem] = []
    expected_number = 1
    previous = GENESIS_HASH
    for link in links:
        if link.number != expected_number:
            if link.number < expected_number:
                problems.append(ChainProblem(link.number, f"number {link.number} is duplicated"))
            else:
                missing = (
                    f"{expected_number}"
                    if link.number == expected_number + 1
                    else f"{expected_number}-{link.number - 1}"
                )
                problems.append(ChainProblem(link.number, f"gap: number(s) {missing} missing"))
        if link.previous_hash != previous:
            problems.append(
                ChainProblem(link.number, "previous hash does not match the document before it")
            )
        recomputed = chain_hash(link.previous_hash, link.fields)
        if recomputed != link.hash:
            problems.append(
                ChainProblem(link.number, "hash does not match its fields: altered after posting")
            )
        previous = link.hash
        expected_number = max(expected_number, link.number + 1)
    if expected_next is not None and expected_next != expected_number:
        problems.append(
            ChainProblem(
                None,
                f"series counter expects next number {expected_next} but the documents end at "
                f"{expected_number - 1}",
            )
        )
    if head_hash is not None and head_hash != previous:
        problems.append(
            ChainProblem(None, "series head hash does not match the last document's hash")
        )
    return problems
