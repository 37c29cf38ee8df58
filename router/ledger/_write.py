"""Idempotent inserts: a request already in the ledger is left as it is, never counted twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from router._records import RequestRecord
from router.ledger._convert import attempt_rows, content_row, request_row
from router.ledger._schema import AttemptRow, ContentRow, RequestRow, metadata

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
