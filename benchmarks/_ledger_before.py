"""The PostgreSQL ledger writers of the second and third passes (issue 21, 2026-12-06 15:50
and 19:30 UTC), frozen for the benchmark's before/after figures: `bench_ledger.WRITERS`'s
"second" and "third" variants. Both build each row as a dict first (`request_row`,
`attempt_rows`, `content_row` as they were until the fourth pass, copied below).

A copy of what `router/ledger/_write.py` and `_group.py` did then: each table's rows as one
JSON array of objects (`json_to_recordset`, keys `c0`, `c1`, ...) encoded by `json.dumps`, and a
group commit that starts the next batch at once (inside `submit`, or as the previous batch
ends) with each caller awaiting its row through `asyncio.shield`. Not used by the router.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import math
import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.sql import sqltypes

from router._records import AttemptRecord, RequestRecord
from router.ledger import _write
from router.ledger._group import GroupCommit
from router.ledger._types import MONEY_QUANTUM, Money, UTCDateTime, quantize_money
from router.ledger._write import _TABLES


class SecondPassGroupCommit(GroupCommit):
    """The group commit before the third pass: the next batch starts at once (in `submit`,
    or as the previous one ends) and each caller awaits its row through `asyncio.shield`."""

    def submit(self, rec: RequestRecord) -> Any:
        written = super().submit(rec)
        return None if written is None else asyncio.shield(written)

    def _start_soon(self, loop: asyncio.AbstractEventLoop, queue: Any) -> None:
        self._start(loop, queue)


class _RecordsetColumns:
    """One table's rows as a JSON array, turned back into typed rows by `json_to_recordset`.

    Each value is converted by its column type's own bind processor first (what SQLAlchemy
    would send), then written as JSON text the column type's input function reads exactly:
    money and times as strings, floats as their shortest exact `repr`. Strings, integers and
    JSON values go as they are. The JSON keys are positional (`c0`, `c1`, ...), not the column
    names: 40% less text to encode here and to parse in the server."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.table = table.name
        self.columns = [c.name for c in table.columns]
        self.keys = [f"c{i}" for i in range(len(self.columns))]
        self.types = [c.type.compile(dialect=dialect) for c in table.columns]
        self._values = _getter(self.columns)
        converters = [_json_converter(c.type, dialect) for c in table.columns]
        self.converted = [(i, f) for i, f in enumerate(converters) if f is not None]

    def insert(self, alias: str, only_new: bool) -> str:
        names = ", ".join(self.columns)
        typed = ", ".join(f"{k} {t}" for k, t in zip(self.keys, self.types, strict=True))
        # Identifiers and types come from the table metadata; every value is a parameter.
        key = self.keys[self.columns.index("request_id")]
        new = f" WHERE {alias}.{key} IN (SELECT request_id FROM new)" if only_new else ""
        source = f"json_to_recordset(%s::json) AS {alias}({typed}){new}"
        return f"INSERT INTO {self.table} ({names}) SELECT {', '.join(self.keys)} FROM {source} ON CONFLICT DO NOTHING"  # noqa: E501

    def json(self, rows: Sequence[dict[str, Any]]) -> str:
        return json.dumps([self._row(r) for r in rows], ensure_ascii=False, separators=(",", ":"))

    def _row(self, row: dict[str, Any]) -> dict[str, Any]:
        values = list(self._values(row))
        for i, convert in self.converted:
            value = values[i]
            if value is not None:
                values[i] = convert(value)
        return dict(zip(self.keys, values, strict=True))


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
    if isinstance(impl, sqltypes.Float):
        return _float_text if bind is None else lambda v: _float_text(bind(v))
    if bind is None:
        return _as_json_text
    return lambda v: _as_json_text(bind(v))


def _money_text(value: Any) -> str:
    """`Money.process_bind_param` on PostgreSQL, as text."""
    return format(quantize_money(Decimal(value)), "f")


def _utc_text(value: datetime) -> str:
    """`UTCDateTime.process_bind_param` on PostgreSQL, as text."""
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
    number = float(value)  # JSON has no NaN or infinity; float8 reads them from strings
    return number if math.isfinite(number) else str(number)


class _RecordsetInsert:
    """Requests, attempts and content of a batch in one statement; returns how many were new.

    The attempts and content go in only for the requests that were new (`RETURNING`), so a
    request already in the ledger keeps exactly what it had."""

    def __init__(self, dialect: Dialect) -> None:
        requests, attempts, contents = (_RecordsetColumns(t, dialect) for t in _TABLES)
        self.tables = (requests, attempts, contents)
        ctes = (
            f"new AS ({requests.insert('r', only_new=False)} RETURNING request_id)",
            f"a AS ({attempts.insert('a', only_new=True)})",
            f"c AS ({contents.insert('c', only_new=True)})",
        )
        self.sql = f"WITH {', '.join(ctes)} SELECT count(*) FROM new"

    def params(self, *rows: Sequence[dict[str, Any]]) -> tuple[str, ...]:
        return tuple(table.json(r) for table, r in zip(self.tables, rows, strict=True))


@functools.lru_cache(maxsize=8)
def _recordset_insert(dialect: Dialect) -> _RecordsetInsert:
    return _RecordsetInsert(dialect)


def insert_via_recordset(
    conn: Connection, records: Sequence[RequestRecord], now: datetime, ingest: str
) -> int:
    """The PostgreSQL path: the whole batch in one statement, so one round trip, and atomic
    even on an autocommit connection (the ledger's, which then needs no BEGIN or COMMIT).
    Driver errors are raised as SQLAlchemy's, and a lost connection is invalidated, as the
    Core path would."""
    insert = _recordset_insert(conn.dialect)
    params = insert.params(
        [request_row(r, recorded_at=now, ingest=ingest) for r in records],
        [row for r in records for row in attempt_rows(r)],
        [row for r in records if (row := content_row(r)) is not None],
    )
    return _write.execute_count(conn, insert.sql, params)


# -- rows as dicts (the second and third passes) -------------------------------------------

Row = dict[str, Any]
_ZERO = Decimal(0)
_REQUEST_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(RequestRecord)
    if f.name not in ("attempts", "content", "user")
)
_request_values = operator.attrgetter(*_REQUEST_FIELDS)
_ATTEMPT_FIELDS = tuple(f.name for f in dataclasses.fields(AttemptRecord))
_attempt_values = operator.attrgetter(*_ATTEMPT_FIELDS)


def request_row(rec: RequestRecord, *, recorded_at: datetime, ingest: str) -> Row:
    row = dict(zip(_REQUEST_FIELDS, _request_values(rec), strict=True))
    row.update(
        user_id=rec.user,
        tags=dict(rec.tags),
        attempt_count=len(rec.attempts),
        recorded_at=recorded_at,
        ingest=ingest,
    )
    row.update(_rounded_totals(rec))
    return row


def _rounded_totals(rec: RequestRecord) -> Row:
    cost = local = _ZERO
    for attempt in rec.attempts:
        stored = attempt.cost_usd.quantize(MONEY_QUANTUM, ROUND_HALF_EVEN)
        cost += stored
        if attempt.tier == "local":
            local += stored
    if abs(cost - rec.cost_usd) > MONEY_QUANTUM * len(rec.attempts):
        return {}
    return {
        "cost_usd": cost,
        "local_cost_usd": local,
        "savings_usd": quantize_money(rec.baseline_cost_usd) - cost,
    }


def attempt_rows(rec: RequestRecord) -> list[Row]:
    return [
        dict(
            zip(_ATTEMPT_FIELDS, _attempt_values(attempt), strict=True),
            request_id=rec.request_id,
            seq=seq,
        )
        for seq, attempt in enumerate(rec.attempts)
    ]


def content_row(rec: RequestRecord) -> Row | None:
    if rec.content is None:
        return None
    return {
        "request_id": rec.request_id,
        "prompt": rec.content.prompt,
        "answer": rec.content.answer,
    }


# -- the third pass: positional JSON arrays from the row dicts -------------------------------


class _ThirdPassColumns(_write._JsonColumns):
    """`_write._JsonColumns` as it was in the third pass: values taken from a dict per row."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        super().__init__(table, dialect)
        self._values = _getter(self.columns)

    def json(self, rows: Sequence[Any]) -> str:
        return _write._orjson_text([self._converted(list(self._values(r))) for r in rows])

    def insert(self, alias: str, only_new: bool) -> str:
        plain = super().insert(alias, only_new)  # every table skipped conflicts then
        return f"{plain} ON CONFLICT DO NOTHING" if only_new else plain


class _ThirdPassInsert(_write._JsonInsert):
    def __init__(self, dialect: Dialect) -> None:
        super().__init__(dialect, _ThirdPassColumns)


@functools.lru_cache(maxsize=8)
def _third_pass_insert(dialect: Dialect) -> _ThirdPassInsert:
    return _ThirdPassInsert(dialect)


def third_pass_params(
    dialect: Dialect, records: Sequence[RequestRecord], now: datetime, ingest: str
) -> tuple[str, ...]:
    return _third_pass_insert(dialect).params(
        [request_row(r, recorded_at=now, ingest=ingest) for r in records],
        [row for r in records for row in attempt_rows(r)],
        [row for r in records if (row := content_row(r)) is not None],
    )


def insert_via_third_pass(
    conn: Connection, records: Sequence[RequestRecord], now: datetime, ingest: str
) -> int:
    """The third pass's PostgreSQL path (`_write._insert_via_json` as it was): the same
    statement as now, its parameters built from a dict per row."""
    insert = _third_pass_insert(conn.dialect)
    params = third_pass_params(conn.dialect, records, now, ingest)
    return _write.execute_count(conn, insert.sql, params)
