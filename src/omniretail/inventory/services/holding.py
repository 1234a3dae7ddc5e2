"""The conditional updates that hold stock, as plain statements.

A hold raises `reserved` only where enough is free:
    reserved = reserved + q  WHERE on_hand >= reserved + q + buffer
and never on a kit's own row (kits hold their components; a kit SKU that
still has a stock row from before it became a kit is not held as itself).

One (SKU, location): one UPDATE. Several: on PostgreSQL the rows are first
locked in (sku_id, location_id) order — the order the ledger locks them in,
so two writers never deadlock — then one UPDATE … FROM a VALUES list holds
them all and RETURNING says which ones it could hold. SQLite serialises
writers, so it needs no lock. Either way the number of statements does not
grow with the number of lines.
"""

from __future__ import annotations

from django.db import connection

from omniretail.catalog.models import KitComponent
from omniretail.inventory.models import StockLevel

_LEVELS = StockLevel._meta.db_table
_KITS = KitComponent._meta.db_table

# Parameters: quantity, sku_id, location_id, quantity + buffer, sku_id.
HOLD_ONE_SQL = (
    f"UPDATE {_LEVELS} SET reserved = reserved + %s "  # noqa: S608 (names from models)
    f"WHERE sku_id = %s AND location_id = %s AND on_hand >= reserved + %s "
    f"AND NOT EXISTS (SELECT 1 FROM {_KITS} WHERE kit_id = %s)"
)


def _values(pairs: int, columns: int) -> str:
    one = "(" + ", ".join(["%s"] * columns) + ")"
    return ", ".join([one] * pairs)


def _lock_sql(pairs: int) -> str:
    return (
        f"SELECT 1 FROM {_LEVELS} WHERE (sku_id, location_id) IN ({_values(pairs, 2)}) "  # noqa: S608
        "ORDER BY sku_id, location_id FOR UPDATE"
    )


def _hold_many_sql(pairs: int) -> str:
    return (
        f"WITH wanted (sku_id, location_id, quantity, need) AS (VALUES {_values(pairs, 4)}) "  # noqa: S608
        f"UPDATE {_LEVELS} SET reserved = {_LEVELS}.reserved + wanted.quantity FROM wanted "
        f"WHERE {_LEVELS}.sku_id = wanted.sku_id AND {_LEVELS}.location_id = wanted.location_id "
        f"AND {_LEVELS}.on_hand >= {_LEVELS}.reserved + wanted.need "
        f"AND NOT EXISTS (SELECT 1 FROM {_KITS} WHERE kit_id = wanted.sku_id) "
        f"RETURNING {_LEVELS}.sku_id, {_LEVELS}.location_id"
    )


def levels_hold(
    totals: dict[tuple[int, int], int], buffers: dict[int, int]
) -> list[tuple[int, int]]:
    """Hold `totals[(sku_id, location_id)]` units of each pair, keeping the
    location's buffer free. Returns the pairs that could not be held, in
    order; the caller rolls back when there are any."""
    pairs = sorted(totals)
    if not pairs:
        return []
    with connection.cursor() as cursor:
        if len(pairs) == 1:
            (sku_id, location_id) = pairs[0]
            quantity = totals[pairs[0]]
            need = quantity + buffers.get(location_id, 0)
            cursor.execute(HOLD_ONE_SQL, [quantity, sku_id, location_id, need, sku_id])
            return [] if cursor.rowcount == 1 else pairs
        if connection.vendor == "postgresql":
            cursor.execute(_lock_sql(len(pairs)), [v for pair in pairs for v in pair])
        params: list[int] = []
        for sku_id, location_id in pairs:
            quantity = totals[(sku_id, location_id)]
            params += [sku_id, location_id, quantity, quantity + buffers.get(location_id, 0)]
        cursor.execute(_hold_many_sql(len(pairs)), params)
        held = {(sku_id, location_id) for sku_id, location_id in cursor.fetchall()}
    return [pair for pair in pairs if pair not in held]
