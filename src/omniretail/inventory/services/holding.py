"""The conditional updates that hold stock, as plain statements.

A hold raises `reserved` only where enough is free:
    reserved = reserved + q  WHERE on_hand >= reserved + q + buffer
and never on a kit's own row (kits hold their components; a kit SKU that
still has a stock row from before it became a kit is not held as itself).

One (SKU, location): one statement. On PostgreSQL it is the UPDATE in a
CTE that, when nothing was held, also returns what the refusal needs to
explain itself (kit components, SKU and location codes), so a refused hold
(a hot SKU sold out refuses most of its requests) costs no more round trips
than a held one. SQLite has no UPDATE in a CTE: there the refusal reads
them in a second statement. Several pairs: one statement too. On
PostgreSQL a CTE first locks the rows in (sku_id, location_id) order — the
order the ledger locks them in, so two writers never deadlock — and the
UPDATE … FROM it then holds each row only once it is locked; RETURNING says
which ones could be held. SQLite serialises writers, so it needs no lock.
Either way the number of statements does not grow with the number of lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from omniretail.catalog.models import KitComponent, Variant
from omniretail.core.sql import placeholders
from omniretail.inventory.models import Location, StockLevel

_LEVELS = StockLevel._meta.db_table
_KITS = KitComponent._meta.db_table
_SKUS = Variant._meta.db_table
_PLACES = Location._meta.db_table

# Parameters: quantity, sku_id, location_id, quantity + buffer, sku_id.
_UPDATE_ONE = (
    f"UPDATE {_LEVELS} SET reserved = reserved + %s "  # noqa: S608 (names from models)
    f"WHERE sku_id = %s AND location_id = %s AND on_hand >= reserved + %s "
    f"AND NOT EXISTS (SELECT 1 FROM {_KITS} WHERE kit_id = %s)"
)

# PostgreSQL; parameters from hold_one_params. Rows: ('h', …) when held;
# otherwise the refusal's rows, read as refusal_read reads them.
_REFUSED = "NOT EXISTS (SELECT 1 FROM held)"
HOLD_ONE_SQL = (
    f"WITH held AS ({_UPDATE_ONE} RETURNING 1) "  # noqa: S608 (names from models)
    "SELECT 'h', 0, 0, 0, '' FROM held "
    f"UNION ALL SELECT 'k', kit_id, component_id, quantity, '' FROM {_KITS} "
    f"WHERE kit_id = %s AND {_REFUSED} "
    f"UNION ALL SELECT 'v', id, 0, 0, sku FROM {_SKUS} WHERE id = %s AND {_REFUSED} "
    f"UNION ALL SELECT 'l', id, 0, 0, code FROM {_PLACES} WHERE id = %s AND {_REFUSED}"
)


def hold_one_params(sku_id: int, location_id: int, quantity: int, need: int) -> list[int]:
    """HOLD_ONE_SQL's parameters: hold `quantity` where `need` is free."""
    return [quantity, sku_id, location_id, need, sku_id, sku_id, sku_id, location_id]


def _values(pairs: int, columns: int) -> str:
    one = f"({placeholders(columns)})"
    return ", ".join([one] * pairs)


def _hold_many_sql(pairs: int, lock: bool) -> str:
    wanted = f"wanted (sku_id, location_id, quantity, need) AS (VALUES {_values(pairs, 4)})"
    if lock:
        # Sort, then lock as the rows come out: a row is updated only after
        # every row before it in that order is locked.
        source = (
            f"WITH {wanted}, locked AS MATERIALIZED (SELECT s.id, w.quantity, w.need "  # noqa: S608
            f"FROM {_LEVELS} s JOIN wanted w "
            "ON s.sku_id = w.sku_id AND s.location_id = w.location_id "
            "ORDER BY s.sku_id, s.location_id FOR UPDATE OF s) "
        )
        join = f"FROM locked w WHERE {_LEVELS}.id = w.id"
    else:
        source = f"WITH {wanted} "
        join = (
            f"FROM wanted w WHERE {_LEVELS}.sku_id = w.sku_id "
            f"AND {_LEVELS}.location_id = w.location_id"
        )
    return (
        f"{source}UPDATE {_LEVELS} SET reserved = {_LEVELS}.reserved + w.quantity {join} "  # noqa: S608
        f"AND {_LEVELS}.on_hand >= {_LEVELS}.reserved + w.need "
        f"AND NOT EXISTS (SELECT 1 FROM {_KITS} WHERE kit_id = {_LEVELS}.sku_id) "
        f"RETURNING {_LEVELS}.sku_id, {_LEVELS}.location_id"
    )


def levels_hold(
    totals: dict[tuple[int, int], int], buffers: dict[int, int]
) -> tuple[list[tuple[int, int]], Refusal | None]:
    """Hold `totals[(sku_id, location_id)]` units of each pair, keeping the
    location's buffer free. Returns the pairs that could not be held, in
    order (the caller rolls back when there are any), and the refusal's
    explanation when the hold statement already read it (else None: see
    refusal_read)."""
    pairs = sorted(totals)
    if not pairs:
        return [], None
    with connection.cursor() as cursor:
        if len(pairs) == 1:
            (sku_id, location_id) = pairs[0]
            quantity = totals[pairs[0]]
            need = quantity + buffers.get(location_id, 0)
            if connection.vendor != "postgresql":
                cursor.execute(_UPDATE_ONE, [quantity, sku_id, location_id, need, sku_id])
                return ([], None) if cursor.rowcount == 1 else (pairs, None)
            cursor.execute(HOLD_ONE_SQL, hold_one_params(sku_id, location_id, quantity, need))
            rows = cursor.fetchall()
            if rows and rows[0][0] == "h":
                return [], None
            return pairs, _refusal(rows)
        params: list[int] = []
        for sku_id, location_id in pairs:
            quantity = totals[(sku_id, location_id)]
            params += [sku_id, location_id, quantity, quantity + buffers.get(location_id, 0)]
        cursor.execute(_hold_many_sql(len(pairs), lock=connection.vendor == "postgresql"), params)
        held = {(sku_id, location_id) for sku_id, location_id in cursor.fetchall()}
    return [pair for pair in pairs if pair not in held], None


@dataclass(frozen=True)
class Refusal:
    """What a refused hold needs to explain itself: the kits among the
    refused SKUs (kit id -> {component id: quantity}), their SKU codes and
    the refused locations' codes (a location missing here does not exist)."""

    kits: dict[int, dict[int, int]]
    skus: dict[int, str]
    locations: dict[int, str]


def refusal_read(short: list[tuple[int, int]]) -> Refusal:
    """One statement, run only when a hold is refused (a hot SKU sold out
    refuses most of its requests: they must stay cheap)."""
    sku_ids = sorted({sku_id for sku_id, _ in short})
    location_ids = sorted({location_id for _, location_id in short})
    skus = placeholders(len(sku_ids))
    places = placeholders(len(location_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 'k', kit_id, component_id, quantity, '' FROM {_KITS} "  # noqa: S608
            f"WHERE kit_id IN ({skus}) "
            f"UNION ALL SELECT 'v', id, 0, 0, sku FROM {_SKUS} WHERE id IN ({skus}) "
            f"UNION ALL SELECT 'l', id, 0, 0, code FROM {_PLACES} WHERE id IN ({places})",
            [*sku_ids, *sku_ids, *location_ids],
        )
        return _refusal(cursor.fetchall())


def _refusal(rows: list[tuple[str, int, int, int, str]]) -> Refusal:
    kits: dict[int, dict[int, int]] = {}
    codes: dict[str, dict[int, str]] = {"v": {}, "l": {}}
    for kind, pk, component_id, quantity, code in rows:
        if kind == "k":
            kits.setdefault(pk, {})[component_id] = quantity
        else:
            codes[kind][pk] = code
    return Refusal(kits, codes["v"], codes["l"])
