"""Idempotent inserts: a request already in the ledger is left as it is, never counted twice.

On SQLite the rows go straight to the driver: one prepared `INSERT ... ON CONFLICT DO NOTHING`
per table, generated from the table metadata, with each value converted by the column type's own
bind processor (what SQLAlchemy would send), and the driver's row count instead of `RETURNING`
to tell a new request from a repeat. That halves the cost of a ledger write on the request path
(about 0.25 to 0.13 ms per record here); `tests/test_ledger_group_commit.py` checks the stored
rows are identical to SQLAlchemy Core's.

On PostgreSQL a whole batch (a group commit) is one statement: each table's rows go as one JSON
parameter (an array per row, values in column order, encoded by orjson), `jsonb_array_elements`
and `->>` by position turn them back into typed rows, and data-modifying CTEs insert the
requests, then the attempts and content of the requests that were new (`RETURNING`), so a
repeat adds nothing. The statement's text is fixed, so psycopg parses it once and prepares it on
the server; being one statement it is atomic by itself, so the ledger runs it in autocommit
(`_engine.record_engine`): one round trip per batch. It replaced Core's `executemany`, whose
multi-row `VALUES` text changes with the batch size (psycopg re-parsed it on every batch) and
which wrote the attempts with one more statement inside BEGIN/COMMIT, then `json_to_recordset`
over objects (a hash table per row in the server); docs/performance.md has the profiles and the
figures. `_insert_via_core` stays as the reference both fast paths are tested against.
"""

from __future__ import annotations

import functools
import json
import math
import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import sqltypes

from router._records import RequestRecord
from router.ledger._convert import (
    attempt_rows,
    attempt_values,
    content_row,
    content_values,
    request_row,
    request_values,
)
from router.ledger._schema import AttemptRow, ContentRow, RequestRow, metadata
from router.ledger._types import MONEY_QUANTUM, Money, UTCDateTime

_TABLES: tuple[Table, ...] = tuple(
    metadata.tables[t.__tablename__] for t in (RequestRow, AttemptRow, ContentRow)
)


def _insert_ignoring_duplicates(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def insert_records(conn: Connection, records: Sequence[RequestRecord], *, ingest: str) -> int:
    """Insert requests with their attempts and content; return how many were new.

    A request id already present is skipped together with its attempts and content, so the
    first write of a request wins and a replay can never add to it.
    """
    records = list({r.request_id: r for r in reversed(records)}.values())[::-1]
    now = datetime.now(UTC)
    insert = _insert_via_driver if conn.dialect.name == "sqlite" else _insert_via_json
    return insert(conn, records, now, ingest)


def _insert_via_core(
    conn: Connection, records: Sequence[RequestRecord], now: datetime, ingest: str
) -> int:
    """SQLAlchemy Core's statements: the reference the fast paths must store exactly."""
    requests, attempts, contents = _TABLES
    stmt = _insert_ignoring_duplicates(conn.dialect.name, requests)
    new_rows = [request_row(r, recorded_at=now, ingest=ingest) for r in records]
    inserted = set(conn.execute(stmt.returning(requests.c.request_id), new_rows).scalars())
    fresh = [r for r in records if r.request_id in inserted]
    attempt_list = [row for r in fresh for row in attempt_rows(r)]
    content_list = [row for r in fresh if (row := content_row(r)) is not None]
    for table, rows in ((attempts, attempt_list), (contents, content_list)):
        if rows:
            conn.execute(_insert_ignoring_duplicates(conn.dialect.name, table), rows)
    return len(inserted)


class _DriverInsert:
    """`INSERT ... ON CONFLICT DO NOTHING` for one table, in the driver's own terms."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        compiled = _insert_ignoring_duplicates(dialect.name, table).compile(dialect=dialect)
        assert compiled.positiontup is not None, "SQLite's paramstyle is positional"
        types = {c.name: c.type for c in table.columns}
        self.sql = str(compiled)
        self.columns = list(compiled.positiontup)
        processors = [types[c].dialect_impl(dialect).bind_processor(dialect) for c in self.columns]
        # Values taken in C (itemgetter); only the columns with a processor are touched in Python.
        self._values = _getter(self.columns)
        self._processed = [(i, p) for i, p in enumerate(processors) if p is not None]

    def params(self, row: dict[str, Any]) -> list[Any]:
        values = list(self._values(row))
        for i, process in self._processed:
            values[i] = process(values[i])
        return values


@functools.lru_cache(maxsize=8)
def _driver_inserts(dialect: Dialect) -> tuple[_DriverInsert, ...]:
    return tuple(_DriverInsert(table, dialect) for table in _TABLES)


def _insert_via_driver(
    conn: Connection, records: Sequence[RequestRecord], now: datetime, ingest: str
) -> int:
    """The SQLite path: same rows as the Core path, without its per-statement overhead.

    Driver errors are raised as SQLAlchemy's (IntegrityError, OperationalError, ...), exactly
    as the Core path raises them, since the ledger tells a refused record from an unreachable
    database by those classes."""
    requests, attempts, contents = _driver_inserts(conn.dialect)
    dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    statement = requests.sql
    try:
        inserted = 0
        for rec in records:
            statement = requests.sql
            cursor.execute(
                statement, requests.params(request_row(rec, recorded_at=now, ingest=ingest))
            )
            if cursor.rowcount != 1:  # already recorded: the first write wins
                continue
            inserted += 1
            statement = attempts.sql
            if rows := attempt_rows(rec):
                cursor.executemany(statement, [attempts.params(r) for r in rows])
            statement = contents.sql
            if (content := content_row(rec)) is not None:
                cursor.execute(statement, contents.params(content))
        return inserted
    except dbapi_error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi_error) from exc
    finally:
        cursor.close()


class _JsonColumns:
    """One table's rows as a JSON array of arrays (a row's values in column order), turned back
    into typed rows by `jsonb_array_elements` and `->>` by position.

    Each value is converted by its column type's own bind processor first (what SQLAlchemy
    would send), then written as JSON the column type's input function reads exactly: money
    and times as strings, floats as their shortest exact `repr`. Strings, integers and JSON
    values go as they are. Positional arrays, not objects (`json_to_recordset`, the second
    pass): no keys to write here, and no hash table per row in the server; `jsonb`, so `->>`
    finds a value by position instead of parsing the row's text again."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.table = table.name
        self.columns = [c.name for c in table.columns]
        self.types = [c.type.compile(dialect=dialect) for c in table.columns]
        self.json_types = [isinstance(c.type, sqltypes.JSON) for c in table.columns]
        converters = [_json_converter(c.type, dialect) for c in table.columns]
        self.converted = [(i, f) for i, f in enumerate(converters) if f is not None]

    def insert(self, alias: str, only_new: bool) -> str:
        """`INSERT ... SELECT` of the rows in one parameter. Identifiers and types come from
        the table metadata; every value is in the parameter."""
        values = ", ".join(self._value(alias, i) for i in range(len(self.columns)))
        key = self.columns.index("request_id")
        new = f" WHERE ({alias}.e->>{key}) IN (SELECT request_id FROM new)" if only_new else ""  # noqa: S608
        source = f"jsonb_array_elements(%s::jsonb) AS {alias}(e){new}"
        # Only the requests take `ON CONFLICT DO NOTHING` (the first write wins). The other
        # tables' rows belong to requests this statement has just inserted, so none can be
        # there already; a plain insert spares each row the speculative insertion's extra
        # index probe and WAL record.
        skip = "" if only_new else " ON CONFLICT DO NOTHING"
        return f"INSERT INTO {self.table} ({', '.join(self.columns)}) SELECT {values} FROM {source}{skip}"  # noqa: S608, E501

    def _value(self, alias: str, i: int) -> str:
        if self.json_types[i]:  # the JSON value itself; JSON null is SQL NULL, as before
            return f"NULLIF({alias}.e->{i}, 'null')::{self.types[i]}"
        return f"({alias}.e->>{i})::{self.types[i]}"

    def json(self, rows: Sequence[list[Any]]) -> str:
        """The rows (values in column order, converted in place) as one JSON parameter."""
        return _orjson_text([self._converted(r) for r in rows])

    def _converted(self, values: list[Any]) -> list[Any]:
        for i, convert in self.converted:
            value = values[i]
            if value is not None:
                values[i] = convert(value)
        return values


def _orjson_text(values: list[list[Any]]) -> str:
    """JSON text by orjson (C: a tenth of `json.dumps`'s time for these rows, about 8 us a
    row less). What it refuses (an integer beyond 64 bits, a non-string key, a lone
    surrogate) goes through `json.dumps`, so such a value meets the same fate as before."""
    try:
        return orjson.dumps(values).decode()
    except orjson.JSONEncodeError:
        return _json_text(values)


def _json_text(values: list[list[Any]]) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _getter(names: Sequence[str]) -> Callable[[dict[str, Any]], Sequence[Any]]:
    """The values of `names` from a row, as a sequence (itemgetter of one name returns a value)."""
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return operator.itemgetter(*names)


_AS_GIVEN = (sqltypes.String, sqltypes.Integer, sqltypes.JSON)


def _json_converter(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """None when JSON carries the value as it is; else bind processor, then JSON text."""
    if isinstance(type_, Money):  # its bind processor and the text, without generic calls
        return _money_text
    if isinstance(type_, UTCDateTime):
        return _utc_text
    impl = type_.dialect_impl(dialect)
    bind = impl.bind_processor(dialect)
    if isinstance(impl, _AS_GIVEN) and (bind is None or isinstance(impl, sqltypes.JSON)):
        return None  # a JSON column's own processor would serialise it: here it is nested
    return _processed(impl, bind)


def _processed(impl: Any, bind: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """The bind processor's value (if there is one), as JSON carries it."""
    if isinstance(impl, sqltypes.Float):
        return _float_text if bind is None else lambda v: _float_text(bind(v))
    if bind is None:
        return _as_json_text
    if isinstance(impl, sqltypes.Boolean):
        return _bool_value(bind)
    return lambda v: _as_json_text(bind(v))


def _bool_value(bind: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A bool as it is; anything else through the column's bind processor (which refuses
    what is not 0, 1 or a bool, as Core would)."""

    def convert(value: Any) -> Any:
        return value if value.__class__ is bool else bind(value)

    return convert


def _money_text(value: Any) -> str:
    """`Money.process_bind_param` on PostgreSQL (`quantize_money(Decimal(value))`), as text.
    Inlined, and `str` rather than `format(..., "f")`: 0.6 instead of 1.9 us a value. `str`
    may write an exponent (`0E-10`, `1E-10`), which `numeric` reads as the same number."""
    decimal = value if value.__class__ is Decimal else Decimal(value)
    return str(decimal.quantize(MONEY_QUANTUM, ROUND_HALF_EVEN))


def _utc_text(value: datetime) -> str:
    """`UTCDateTime.process_bind_param` on PostgreSQL, as text."""
    if value.tzinfo is UTC:  # already what the conversion would make of it
        return value.isoformat()
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.isoformat()


def _as_json_text(value: Any) -> Any:
    """Decimals and datetimes as the text PostgreSQL reads them from; other values as given."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _float_text(value: Any) -> Any:
    """A float as a JSON number, or as a string where a number would not survive: JSON has
    no NaN or infinity, and `jsonb` keeps numbers as `numeric`, which has no -0.0 (float8
    reads all three from strings)."""
    number = float(value)
    return number if number and math.isfinite(number) else repr(number)


class _JsonInsert:
    """Requests, attempts and content of a batch in one statement; returns how many were new.

    The attempts and content go in only for the requests that were new (`RETURNING`), so a
    request already in the ledger keeps exactly what it had."""

    def __init__(self, dialect: Dialect, columns: type[_JsonColumns] = _JsonColumns) -> None:
        requests, attempts, contents = (columns(t, dialect) for t in _TABLES)
        self.tables = (requests, attempts, contents)
        ctes = (
            f"new AS ({requests.insert('r', only_new=False)} RETURNING request_id)",
            f"a AS ({attempts.insert('a', only_new=True)})",
            f"c AS ({contents.insert('c', only_new=True)})",
        )
        self.sql = f"WITH {', '.join(ctes)} SELECT count(*) FROM new"  # noqa: S608 - as above

    def params(self, *rows: Sequence[list[Any]]) -> tuple[str, ...]:
        return tuple(table.json(r) for table, r in zip(self.tables, rows, strict=True))


@functools.lru_cache(maxsize=8)
def _json_insert(dialect: Dialect) -> _JsonInsert:
    return _JsonInsert(dialect)


def execute_count(conn: Connection, sql: str, params: Sequence[Any]) -> int:
    """Run one statement on the driver's own cursor and return the count its single row holds.
    Driver errors are raised as SQLAlchemy's, and a lost connection is invalidated, as the Core
    path would."""
    driver: Any = conn.connection.driver_connection
    dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except dbapi_error as exc:
        if conn.dialect.is_disconnect(cast(Any, exc), driver, None):
            conn.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, dbapi_error) from exc
    return int(row[0])


def _insert_via_json(
    conn: Connection, records: Sequence[RequestRecord], now: datetime, ingest: str
) -> int:
    """The PostgreSQL path: the whole batch in one statement, so one round trip, and atomic
    even on an autocommit connection (the ledger's, which then needs no BEGIN or COMMIT)."""
    insert = _json_insert(conn.dialect)
    params = insert.params(
        [request_values(r, recorded_at=now, ingest=ingest) for r in records],
        [row for r in records for row in attempt_values(r)],
        [row for r in records if (row := content_values(r)) is not None],
    )
    return execute_count(conn, insert.sql, params)
