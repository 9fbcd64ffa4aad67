"""Model rows read and written through a plain cursor, for the few hottest request paths.

On the webhook and answer URL paths Django's query compiler cost three to five times what
PostgreSQL spends on their indexed lookups and one-row inserts (docs/performance.md). The SQL
is built once per process; the values still go through the fields' own conversions, so rows
read and written here are the ones the ORM would read and write. Nothing listens for the
signals `save()` would send for these models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

M = TypeVar("M", bound=models.Model)


def fields_of(model: type[models.Model], attnames: Sequence[str] | None = None
              ) -> tuple[models.Field, ...]:
    """The model's concrete fields (or those named), in the order `Model.from_db` takes."""
    return tuple(field for field in model._meta.concrete_fields
                 if attnames is None or field.attname in attnames)


def columns(fields: Sequence[models.Field], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + quoted(field.column) for field in fields)


def quoted(column: str) -> str:
    """A column's name as SQL takes it whatever it is (`to` is a keyword): in double quotes,
    as both PostgreSQL and SQLite quote names."""
    return f'"{column}"'


def placeholders(count: int) -> str:
    """`count` parameter markers, comma-separated: an IN list's or a row's."""
    return ", ".join(["%s"] * count)


def _db() -> BaseDatabaseWrapper:
    """The default database's connection itself. `django.db.connection` is a proxy that looks
    it up again for each attribute, a third of the Python of the fields' conversions here."""
    return connections[DEFAULT_DB_ALIAS]


def from_row(model: type[M], fields: Sequence[models.Field], row: Sequence[Any]) -> M:
    """An instance of `model` from column values, converted as the ORM converts them."""
    return model.from_db(DEFAULT_DB_ALIAS, _attnames(tuple(fields)), converted(fields, row))


def converted(fields: Sequence[models.Field], row: Sequence[Any]) -> list[Any]:
    """The column values of `fields` as the ORM gives them (a JSON column parsed, SQLite's
    datetimes made aware, …)."""
    db = _db()
    values = list(row)
    for index, field, converters in _converters(tuple(fields)):
        for converter in converters:
            values[index] = converter(values[index], field.cached_col, db)
    return values


@cache
def _converters(fields: tuple[models.Field, ...]
                ) -> tuple[tuple[int, models.Field, tuple[Callable, ...]], ...]:
    """Each field's converters, by its column's index: looked up once per process, as the
    ORM looks them up once per query, not for each value of each row."""
    db = _db()
    return tuple(
        (index, field, converters) for index, field in enumerate(fields)
        if (converters := (*db.ops.get_db_converters(field.cached_col),
                           *field.get_db_converters(db))))


@cache
def _attnames(fields: tuple[models.Field, ...]) -> tuple[str, ...]:
    return tuple(field.attname for field in fields)


def fetch_one(model: type[M], fields: Sequence[models.Field], sql: str,
              params: Sequence[Any]) -> M | None:
    """The first row `sql` selects (the `fields`' columns, in their order), or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return from_row(model, fields, row) if row is not None else None


def fetch_by_pk(model: type[M], pk: Any, *, for_update: bool = False) -> M | None:
    """The row of `model` whose primary key is `pk`, every column as the ORM reads it, or
    None; `for_update` locks it where the database can, as select_for_update() would."""
    fields, sql = _by_pk_sql(model)
    return fetch_one(model, fields, sql + (for_update_clause() if for_update else ""), [pk])


def for_update_clause() -> str:
    """What select_for_update() appends to a SELECT, where the database can lock rows."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


@cache
def _by_pk_sql(model: type[models.Model]) -> tuple[tuple[models.Field, ...], str]:
    fields = fields_of(model)
    return fields, (f"SELECT {columns(fields)} FROM {model._meta.db_table} "
                    f"WHERE {quoted(model._meta.pk.column)} = %s")


def fetch_all(model: type[M], fields: Sequence[models.Field], sql: str,
              params: Sequence[Any]) -> list[M]:
    """Every row `sql` selects (the `fields`' columns, in their order)."""
    attnames = _attnames(tuple(fields))
    return [model.from_db(DEFAULT_DB_ALIAS, attnames, values)
            for values in fetch_values(fields, sql, params)]


def fetch_values(fields: Sequence[models.Field], sql: str,
                 params: Sequence[Any]) -> list[list[Any]]:
    """The values of every row `sql` selects (the `fields`' columns, in their order), as
    `values_list` gives them."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [converted(fields, row) for row in rows]


def _bound_cursor() -> CursorWrapper:
    """A cursor that sends the values beside the statement (PostgreSQL's own parameters), as
    Django's does with the `server_side_binding` option: Django's cursor quotes each value
    into the SQL text in Python, which for a delivery's 18 columns cost about a fifth of its
    INSERT's Python (docs/performance.md, section 1). For INSERTs, whose columns type every
    value; elsewhere Django's own cursor."""
    db = _db()
    if db.vendor != "postgresql":
        return db.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    # What connection.cursor() does, with the other cursor class.
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        return db._prepare_cursor(ServerBindingCursor(db.connection))


def insert(instance: models.Model) -> None:
    """Store `instance` as a new row (its primary key is not read back)."""
    with _bound_cursor() as cursor:
        cursor.execute(_insert_sql(type(instance)), _values(instance, _db()))


def insert_many(instances: Sequence[models.Model]) -> None:
    """Store many new rows of one model (their primary keys are not read back): one short
    INSERT sent for each in a pipeline, where bulk_create's one INSERT of them all made
    psycopg parse a statement with thousands of placeholders each time."""
    if not instances:
        return
    with connection.cursor() as cursor:
        db = _db()
        cursor.executemany(_insert_sql(type(instances[0])), [_values(i, db) for i in instances])


def insert_numbered(instances: Sequence[M],
                    values: Callable[[M], Sequence[Any]] | None = None) -> None:
    """Store many new rows of one model and give each its primary key (the media signal
    names the event it stored).

    On PostgreSQL the keys are drawn from the table's sequence in one query and the rows sent
    by COPY: a tenth of bulk_create's Python per row, whose INSERT of 250 rows × 13 columns
    psycopg parses anew each time and Django compiles field by field (docs/performance.md).
    `values` gives a row's column values (every column but the key, in the model's order)
    ready for COPY, where a caller converts them more cheaply than each field's conversion.
    Elsewhere bulk_create, which reads the keys back."""
    if not instances:
        return
    model = type(instances[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(instances)
        return
    pk = model._meta.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)",
                       [_sequence(model), len(instances)])
        keys = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({pk.column}, "
                                f"{columns(_insertable(model))}) FROM STDIN") as copy:
            if values is None:
                values = partial(_values, db=_db())
            for key, instance in zip(keys, instances, strict=True):
                copy.write_row([key, *values(instance)])
    for key, instance in zip(keys, instances, strict=True):
        _stored_as(instance, key)


@cache
def _sequence(model: type[models.Model]) -> str:
    """The sequence that numbers the model's rows (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                       [model._meta.db_table, model._meta.pk.column])
        return cursor.fetchone()[0]


def insert_unless_taken(instance: models.Model, *,
                        touching: tuple[models.Model, Sequence[str]] | None = None) -> bool:
    """Store `instance` unless a unique constraint holds its values already; whether stored.
    Once stored it has its primary key, and saves as the row it now is.

    ON CONFLICT DO NOTHING (PostgreSQL and SQLite alike) instead of catching the error: no
    savepoint is needed inside a transaction, and a concurrent copy waits for the first.

    `touching` (a stored row and attnames): that row's named fields are written too, if and
    only if `instance` was stored, atomically with it. On PostgreSQL in the INSERT's own
    statement (a data-modifying WITH): one round trip, where a transaction around the two
    statements took four (docs/performance.md, section 2, ans7).
    """
    db = _db()
    if touching is not None and db.vendor != "postgresql":
        row, attnames = touching
        with transaction.atomic():
            stored = insert_unless_taken(instance)
            if stored:
                update_where(type(row), _attributes(row, attnames), pk=row.pk)
            return stored
    key = type(instance)._meta.pk.column
    sql = f"{_insert_sql(type(instance))} ON CONFLICT DO NOTHING RETURNING {key}"
    params = _values(instance, db)
    if touching is not None:
        row, attnames = touching
        assignments, fields = _assignments(type(row), tuple(attnames))
        sql = (f"WITH stored AS ({sql}), touched AS (UPDATE {type(row)._meta.db_table} "
               f"SET {assignments} WHERE {quoted(type(row)._meta.pk.column)} = %s "
               f"AND EXISTS (SELECT FROM stored)) SELECT {key} FROM stored")
        params += [*_saved(fields, _attributes(row, attnames)), row.pk]
    with _bound_cursor() as cursor:
        cursor.execute(sql, params)
        stored_key = cursor.fetchone()
    if stored_key is None:
        return False
    _stored_as(instance, stored_key[0])
    return True


def _attributes(row: models.Model, attnames: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in attnames}


def _stored_as(instance: models.Model, key: Any) -> None:
    """`instance` is now the stored row `key`: it saves as an update, as after the ORM's."""
    instance.pk = key
    instance._state.adding = False
    instance._state.db = connection.alias


def _values(instance: models.Model, db: BaseDatabaseWrapper) -> list[Any]:
    return [field.get_db_prep_save(field.pre_save(instance, add=True), db)
            for field in _insertable(type(instance))]


@cache
def _insertable(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(field for field in model._meta.concrete_fields if not field.primary_key)


@cache
def _insert_sql(model: type[models.Model]) -> str:
    fields = _insertable(model)
    return (f"INSERT INTO {model._meta.db_table} ({columns(fields)}) "
            f"VALUES ({placeholders(len(fields))})")


def update_where(model: type[models.Model], values: dict[str, Any], **where: Any) -> int:
    """`model.objects.filter(**where).update(**values)` for plain equalities on fields, in a
    statement built once per set of names: the ORM compiles its UPDATE anew every time, which
    for a row of many columns cost more than PostgreSQL's work. How many rows it changed."""
    sql, fields, conditions = _update_where_sql(model, tuple(values), tuple(where))
    params = _saved(fields, values) + [field.get_db_prep_value(value, _db()) for field, value
                                       in zip(conditions, where.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@cache
def _update_where_sql(model: type[models.Model], names: tuple[str, ...],
                      where: tuple[str, ...]
                      ) -> tuple[str, tuple[models.Field, ...], tuple[models.Field, ...]]:
    assignments, fields = _assignments(model, names)
    conditions = tuple(model._meta.pk if name == "pk" else model._meta.get_field(name)
                       for name in where)
    matches = " AND ".join(f"{quoted(field.column)} = %s" for field in conditions)
    return (f"UPDATE {model._meta.db_table} SET {assignments} WHERE {matches}",
            fields, conditions)


@cache
def _assignments(model: type[models.Model], names: tuple[str, ...]
                 ) -> tuple[str, tuple[models.Field, ...]]:
    """The SET clause for the fields `names` (attnames), one %s each, and those fields."""
    fields = tuple(model._meta.get_field(name) for name in names)
    return ", ".join(f"{quoted(field.column)} = %s" for field in fields), fields


def _saved(fields: Sequence[models.Field], values: dict[str, Any]) -> list[Any]:
    """`values`, in `fields`' order, as the database stores them."""
    db = _db()
    return [field.get_db_prep_save(value, db)
            for field, value in zip(fields, values.values(), strict=True)]


def update_many(instances: Sequence[models.Model], attnames: Sequence[str]) -> None:
    """Write the named fields of many rows of one model in one statement, where Django's
    bulk_update builds a CASE per field and row and compiling it cost more than applying the
    events (docs/performance.md).

    On PostgreSQL `UPDATE … FROM unnest(%s::type[], …)`: one array per column, so the
    statement's text is the same for any number of rows and psycopg parses it once per
    process (it caches statements of up to 50 parameters), where a VALUES list of 30 calls
    had 480 placeholders to find anew each time. Elsewhere `UPDATE … FROM (VALUES …)`.
    """
    if not instances:
        return
    model = type(instances[0])
    fields = [model._meta.get_field(name) for name in attnames]
    db = _db()
    columns_of_rows = [[instance.pk for instance in instances],
                       *([field.get_db_prep_save(getattr(instance, field.attname), db)
                          for instance in instances] for field in fields)]
    with connection.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(_update_unnest_sql(model, tuple(attnames)), columns_of_rows)
            return
        table, pk = model._meta.db_table, model._meta.pk.column
        # SQLite's columns take any value as they are.
        assignments = ", ".join(f"{field.column} = v.column{n}"
                                for n, field in enumerate(fields, start=2))
        rows = ", ".join([f"({placeholders(len(fields) + 1)})"] * len(instances))
        cursor.execute(f"UPDATE {table} SET {assignments} FROM (VALUES {rows}) AS v "
                       f"WHERE {table}.{pk} = v.column1",
                       [value for row in zip(*columns_of_rows, strict=True) for value in row])


def update_keys(model: type[models.Model], keys: Sequence[Any], values: dict[str, Any]) -> None:
    """Set the same `values` (by attname) on the rows of `model` whose primary keys are
    `keys`, as `filter(pk__in=keys).update(**values)` would, without compiling the query.

    On PostgreSQL the keys are one array (`= ANY(%s)`), so the statement's text is the same
    for any number of them and psycopg parses it once per process; elsewhere an IN list.
    """
    if not keys:
        return
    db = _db()
    assignments, fields = _assignments(model, tuple(values))
    params = _saved(fields, values)
    table, pk = model._meta.db_table, model._meta.pk
    if db.vendor == "postgresql":
        where, params = f"= ANY(%s::{pk.db_type(db)}[])", [*params, list(keys)]
    else:
        where, params = f"IN ({placeholders(len(keys))})", [*params, *keys]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {quoted(pk.column)} {where}",
                       params)


@cache
def _update_unnest_sql(model: type[models.Model], attnames: tuple[str, ...]) -> str:
    """PostgreSQL's UPDATE of `attnames` from one array per column, each cast to its
    column's type (psycopg types a list by its values, or not at all when all are NULL)."""
    db = _db()
    pk = model._meta.pk
    fields = [model._meta.get_field(name) for name in attnames]
    arrays = ", ".join(f"%s::{field.db_type(db)}[]" for field in (pk, *fields))
    names = ", ".join(f"c{n}" for n in range(len(fields) + 1))
    assignments = ", ".join(f"{field.column} = v.c{n}" for n, field in enumerate(fields, start=1))
    table = model._meta.db_table
    return (f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) "
            f"WHERE {table}.{pk.column} = v.c0")
