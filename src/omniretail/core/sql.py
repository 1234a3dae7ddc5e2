"""Plain statements for the few writes on the hottest paths.

Holding stock and writing an outbox event run for every line of every
channel's checkout. Compiling the same INSERT through the ORM's query
compiler on each call costs several times the database's own work, so these
paths send a statement built once per model and row count. Values still go
through each field's `pre_save` (auto_now) and `get_db_prep_save` (JSON,
dates, decimals), so a row written here is the row `bulk_create` writes; the
same SQL runs on PostgreSQL and SQLite (3.35+: RETURNING).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection, models
from django.db.models.sql.query import Query


def placeholders(count: int) -> str:
    """`%s, %s, …` for `count` values of a plain statement's IN list or row."""
    return ", ".join(["%s"] * count)


# Columns whose Python value is already what the driver takes: no conversion
# call per value (most columns of an order line, a hold or an event).
_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.AutoField,
)


def _plain(field: models.Field) -> bool:
    if isinstance(field, models.ForeignKey):
        return _plain(field.target_field)
    if isinstance(field, models.DateField) and (field.auto_now or field.auto_now_add):
        return False  # set on insert by pre_save
    return (
        isinstance(field, _PLAIN) and type(field).get_db_prep_save is models.Field.get_db_prep_save
    )


@cache
def _fields(model: type[models.Model]) -> tuple[tuple[models.Field, ...], bool]:
    """The columns an INSERT writes, and whether the database makes the pk."""
    meta = model._meta
    generated = isinstance(meta.pk, models.AutoField | models.BigAutoField | models.SmallAutoField)
    fields = tuple(
        f for f in meta.concrete_fields if not (generated and f.primary_key) and not f.generated
    )
    return fields, generated


@cache
def _prepared(model: type[models.Model]) -> tuple[tuple[str, models.Field, bool], ...]:
    """Per column: the attribute to read, its field, and whether a str, int,
    bool or None there goes to the driver as it is."""
    fields, _ = _fields(model)
    return tuple((f.attname, f, _plain(f)) for f in fields)


_AS_IS = (str, int, bool, type(None))


Unique = tuple[str | models.Expression, ...]


def _conflict_target(model: type[models.Model], unique: Unique) -> str:
    """Field names or expressions (e.g. Lower("email")) of a unique
    constraint, as ON CONFLICT names them: compiled without table alias,
    the way Django writes them in the index."""
    query = Query(model, alias_cols=False)
    compiler = query.get_compiler(connection=connection)
    parts = []
    for item in unique:
        if isinstance(item, str):
            parts.append(connection.ops.quote_name(model._meta.get_field(item).column))
        else:
            sql, params = compiler.compile(item.resolve_expression(query))
            assert not params, "a conflict target takes no parameters"
            parts.append(f"({sql})")
    return ", ".join(parts)


@cache
def _insert_sql(model: type[models.Model], rows: int, unique: Unique = ()) -> str:
    # Names come from the model's metadata; every value is a placeholder.
    fields, generated = _fields(model)
    quote = connection.ops.quote_name
    one = f"({placeholders(len(fields))})"
    columns = ", ".join(quote(f.column or f.name) for f in fields)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({columns}) VALUES {', '.join([one] * rows)}"
    )
    if unique:
        sql += f" ON CONFLICT ({_conflict_target(model, unique)}) DO NOTHING"
    if generated:
        sql += f" RETURNING {quote(model._meta.pk.column or 'id')}"
    return sql


def rows_insert(objs: Sequence[models.Model]) -> None:
    """INSERT unsaved instances of one model in a single statement and set
    their primary keys, like `bulk_create` without the query compiler.
    No signals are sent (bulk_create sends none either)."""
    if not objs:
        return
    model = type(objs[0])
    _, generated = _fields(model)
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, len(objs)), _params(model, objs))
        if generated:
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
    for obj in objs:
        _saved(obj)


def row_insert_unless_taken(obj: models.Model, unique: Unique) -> bool:
    """INSERT one unsaved instance unless a row already holds its values of
    the `unique` fields or expressions (exactly those of one unique
    constraint or index, e.g. ("channel", "external_id") or
    (Lower("email"),)): False then, and
    nothing is written. `ON CONFLICT … DO NOTHING` instead of catching the
    IntegrityError, so the caller needs no savepoint to go on. A concurrent
    insert of the same values that has not committed yet is waited for."""
    model = type(obj)
    _, generated = _fields(model)
    assert generated, "needs a generated primary key to tell an insert from a conflict"
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, 1, unique), _params(model, [obj]))
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    _saved(obj)
    return True


def _params(model: type[models.Model], objs: Sequence[models.Model]) -> list[Any]:
    columns = _prepared(model)
    params: list[Any] = []
    for obj in objs:
        values = obj.__dict__
        for attname, field, plain in columns:
            value = values[attname]
            if plain and type(value) in _AS_IS:
                params.append(value)
            else:
                params.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
    return params


def _saved(obj: models.Model) -> None:
    obj._state.adding = False
    obj._state.db = connection.alias
