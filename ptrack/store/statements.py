"""The few SQL statements a batch is written with: multi-row INSERTs that merge into the
rows they meet, and return what they inserted.

The ORM makes a model instance per row and a statement per call, which cost a
batch more than the database's own work. ``INSERT ... ON CONFLICT ... DO UPDATE``
merges in the database, so concurrent batches never overwrite each other's
counts, and ``... DO NOTHING RETURNING`` tells which rows were new; SQLite
(3.35+) and PostgreSQL spell both the same.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timezone
from typing import Any, Literal

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.utils.timezone import make_aware

#: How a column of a row already there takes the row inserted against it.
Merge = Literal["add", "set", "earliest", "latest"]

_MERGES: dict[str, str] = {
    "add": "{t}.{c} + excluded.{c}",
    "set": "excluded.{c}",
    "earliest": "CASE WHEN {t}.{c} IS NULL OR excluded.{c} < {t}.{c} "
    "THEN excluded.{c} ELSE {t}.{c} END",
    "latest": "CASE WHEN {t}.{c} IS NULL OR excluded.{c} > {t}.{c} "
    "THEN excluded.{c} ELSE {t}.{c} END",
}


def param_limit(connection: BaseDatabaseWrapper) -> int:
    """How many parameters one statement may bind on ``connection``."""
    if connection.vendor == "sqlite":
        # Django assumes SQLite's old default of 999; the library says what it allows.
        raw = connection.connection
        limit = getattr(sqlite3, "SQLITE_LIMIT_VARIABLE_NUMBER", None)
        if raw is not None and limit is not None and hasattr(raw, "getlimit"):
            return int(raw.getlimit(limit))
    return connection.features.max_query_params or 10_000


@contextlib.contextmanager
def pipelined(using: str) -> Iterator[None]:
    """Statements that need no answer, sent together: one round trip instead of one each.

    psycopg 3's pipeline mode, when its libpq has it (14+); elsewhere (SQLite, psycopg2,
    an older libpq) the statements run one by one as usual. An error still raises, at
    the latest when the block ends.
    """
    connection = connections[using]
    raw = connection.connection if connection.vendor == "postgresql" else None
    pipeline = getattr(raw, "pipeline", None)
    if pipeline is None or not _pipelines_supported():
        yield
        return
    with pipeline():
        yield


def _pipelines_supported() -> bool:
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor of ``connection`` that, on psycopg 3, binds parameters in the server and
    reads results in binary: Django's own quotes every value into the statement's text in
    Python, and parses every timestamp from text."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    try:
        import psycopg
    except ImportError:  # psycopg2
        return connection.cursor()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = connection.connection
    if not isinstance(raw, psycopg.Connection):
        return connection.cursor()
    binding = psycopg.Cursor(raw)
    binding.format = psycopg.pq.Format.BINARY
    # As Django wraps its own (queries logged, execute wrappers run); the stubs' type for
    # the argument is the wrapper, where Django passes the driver's cursor.
    if connection.queries_logged:
        return connection.make_debug_cursor(binding)  # type: ignore[arg-type]
    return connection.make_cursor(binding)  # type: ignore[arg-type]


def datetimes(
    connection: BaseDatabaseWrapper,
) -> tuple[Callable[[datetime | None], Any], Callable[[Any], datetime | None]]:
    """How ``connection`` takes an aware datetime, and how to read one back, aware.

    Django's conversions, cut short for SQLite in UTC: a batch converts hundreds.
    """
    if connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone_name == "UTC":
        return _to_sqlite_utc, _from_sqlite_utc
    ops = connection.ops

    def read(value: Any) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value  # type: ignore[no-any-return]
        return make_aware(value, connection.timezone)

    return ops.adapt_datetimefield_value, read


def _to_sqlite_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return str(value)


def _from_sqlite_utc(value: Any) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value  # type: ignore[no-any-return]
    return value.replace(tzinfo=timezone.utc)  # type: ignore[no-any-return]


def insert(
    using: str,
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str] = (),
    merge: Mapping[str, Merge] | None = None,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (values of ``columns``, ready for the database) into ``model``'s
    table, as few statements as the database's limit on parameters allows.

    With ``conflict`` (the columns of a unique constraint), a row meeting one already
    there is merged into it as ``merge`` says per column, or skipped when ``merge`` is
    empty. Returns the ``returning`` columns of the rows inserted or merged (never of
    those skipped).
    """
    if not rows:
        return []
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    head = f"INSERT INTO {table} ({', '.join(map(quote, columns))}) "
    tail = ""
    if conflict:
        tail = f" ON CONFLICT ({', '.join(map(quote, conflict))}) "
        if merge:
            tail += "DO UPDATE SET " + ", ".join(
                f"{quote(c)} = " + _MERGES[how].format(t=table, c=quote(c))
                for c, how in merge.items()
            )
        else:
            tail += "DO NOTHING"
    if returning:
        tail += " RETURNING " + ", ".join(map(quote, returning))
    found: list[tuple[Any, ...]] = []
    with cursor(connection) as cursor_:
        if connection.vendor == "postgresql":
            arrays, params = _arrays(connection, model, columns, rows)
            cursor_.execute(f"{head}SELECT * FROM UNNEST({arrays}){tail}", params)
            return list(cursor_.fetchall()) if returning else []
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        per_statement = max(1, param_limit(connection) // len(columns))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = [value for row in chunk for value in row]
            cursor_.execute(f"{head}VALUES {', '.join([row_sql] * len(chunk))}{tail}", params)
            if returning:
                found.extend(cursor_.fetchall())
    return found


def update(
    using: str, model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Set ``columns`` of the rows of ``model``'s table whose id is the first value of each
    of ``rows`` to the values after it, in one statement."""
    if not rows:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    with cursor(connection) as cursor_:
        if connection.vendor == "postgresql":
            arrays, params = _arrays(connection, model, ("id", *columns), rows)
            names = ", ".join(f"c{n}" for n in range(len(columns) + 1))
            assignments = ", ".join(f"{quote(c)} = v.c{n}" for n, c in enumerate(columns, 1))
            cursor_.execute(
                f"UPDATE {table} SET {assignments} FROM UNNEST({arrays}) AS v({names}) "
                f"WHERE {table}.id = v.c0",
                params,
            )
            return
        # SQLite runs the statement for every row within the library: no round trips.
        assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
        cursor_.executemany(
            f"UPDATE {table} SET {assignments} WHERE id = %s", [(*r[1:], r[0]) for r in rows]
        )


def _arrays(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> tuple[str, list[str]]:
    """PostgreSQL: ``UNNEST``'s arguments, an array per column, typed, and their values.

    One short statement whatever the number of rows, which PostgreSQL plans fast
    (Django's bulk_create does the same). Each array goes as the text of its literal:
    psycopg quotes a list element by element in Python, which cost more than the
    database's work.
    """
    key = (type(connection), model, tuple(columns))
    arrays = _ARRAYS.get(key)
    if arrays is None:
        fields = {f.column: f for f in model._meta.concrete_fields}
        arrays = _ARRAYS[key] = ", ".join(
            f"(%s)::{fields[c].db_type(connection).split('(')[0]}[]"  # type: ignore[union-attr]
            for c in columns
        )
    return arrays, [_array_literal(values) for values in zip(*rows, strict=True)]


# UNNEST's arguments by backend, table and columns: a field's type is worked out anew at
# every call, a foreign key's by making a field.
_ARRAYS: dict[tuple[type[BaseDatabaseWrapper], type[Model], tuple[str, ...]], str] = {}


def _array_literal(values: Sequence[Any]) -> str:
    """PostgreSQL's text for an array of ``values``: ``{1,NULL,"a \\"b\\""}``.

    A column is of one type, or that and NULL: joined at once by that type.
    """
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if kinds == {str} and None not in values:
        text = '","'.join(values)
        if "\\" in text or '"' in text:  # JSON, say: within quotes, only these are escaped
            text = '","'.join([v.replace("\\", "\\\\").replace('"', '\\"') for v in values])
        return '{"' + text + '"}'
    if kinds == {bool}:
        return "{" + ",".join(["NULL" if v is None else "t" if v else "f" for v in values]) + "}"
    if kinds <= {int}:
        return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"
    if kinds == {datetime}:
        return "{" + ",".join(["NULL" if v is None else v.isoformat() for v in values]) + "}"
    return "{" + ",".join([_element(value) for value in values]) + "}"


def _element(value: Any) -> str:
    kind = type(value)
    if kind is str:
        # Within double quotes only a double quote and a backslash need escaping.
        if "\\" in value or '"' in value:
            value = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{value}"'
    if value is None:
        return "NULL"
    if kind is int:
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bool):
        return "t" if value else "f"
    return _element(str(value))


def select_in(
    using: str, sql: str, values: Sequence[Any], params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, whose ``{in}`` is replaced by a condition on ``values`` (after
    ``params``): on PostgreSQL ``= ANY(...)`` of one array, so one query whose text is the
    same whatever their number; elsewhere ``IN (...)`` with a placeholder per value, in as
    few queries as the limit on parameters allows."""
    if not values:
        return []
    connection = connections[using]
    if connection.vendor == "postgresql":
        kind = "bigint" if all(type(v) is int for v in values) else "text"
        with cursor(connection) as cursor_:
            cursor_.execute(
                sql.format(**{"in": f"= ANY(%s::{kind}[])"}), [*params, _array_literal(values)]
            )
            return list(cursor_.fetchall())
    per_query = max(1, param_limit(connection) - len(params))
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor_:
        for start in range(0, len(values), per_query):
            chunk = values[start : start + per_query]
            cursor_.execute(
                sql.format(**{"in": "IN (" + ", ".join(["%s"] * len(chunk)) + ")"}),
                [*params, *chunk],
            )
            found.extend(cursor_.fetchall())
    return found
