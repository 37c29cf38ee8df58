"""The learning store: labelled requests in the ledger database (SQLite or PostgreSQL).

Four tables (router/ledger/_schema.py, migration 0003): `learning_requests` (what a request
looks like to the model: hashed features, never the text unless content capture is on; and its
task tag, migration 0008),
`learning_labels` (one gain label per request and source), `learning_attempts` (paid shadow and
judge calls: learning spend) and `learning_artefacts` (every candidate `router learn` built).

Writes come from the learning loop's background task in batches, one transaction each, through
the same SQLite write gate as the request ledger, so they queue behind request rows politely.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from router.errors import LedgerError
from router.ledger._engine import (
    create_ledger_engine,
    display_url,
    disposed_with,
    resolve_url,
    sqlite_path,
    write_engine,
)
from router.ledger._gate import WriteGate
from router.ledger._migrate import check_schema
from router.ledger._schema import (
    LearningArtefactRow,
    LearningAttemptRow,
    LearningLabelRow,
    LearningRequestRow,
    RequestRow,
)

Row = dict[str, Any]


@dataclass
class Batch:
    """Rows for one transaction: requests first, then labels (upserted) and attempts."""

    requests: list[Row] = field(default_factory=list)
    labels: list[Row] = field(default_factory=list)
    attempts: list[Row] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.requests or self.labels or self.attempts)


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A request the loop kept: enough to turn later feedback into a label."""

    request_id: str
    answered_by: str
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class StoredExample:
    """One label joined with its request, in the order traffic arrived."""

    request_id: str
    source: str
    gain: float
    weight: float
    judge: str
    observed_at: datetime
    features: dict[str, float]
    features_version: str
    prompt: str | None
    decision_score: float | None
    artefact_version: str | None
    answered_by: str
    feedback_score: float | None
    task: str = ""  # the request's task; "" for none


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """Rows deleted per table."""

    requests: int
    labels: int


class LearningStore:
    """The learning tables of one ledger database. Thread-safe; connects on first use (and
    migrates a SQLite ledger, as the ledger itself does)."""

    def __init__(self, url_or_engine: str | Engine | None = None) -> None:
        self._given = url_or_engine if isinstance(url_or_engine, Engine) else None
        self._url = (
            self._given.url
            if self._given is not None
            else resolve_url(url_or_engine if isinstance(url_or_engine, str) else None)
        )
        self._engine: Engine | None = self._given
        self._lock = threading.Lock()
        self._gate = WriteGate(sqlite_path(self._url), 5.0)
        self._checked = False

    @property
    def where(self) -> str:
        return display_url(self._url)

    # -- write side ------------------------------------------------------------------------

    def write(self, batch: Batch) -> None:
        """Insert a batch in one transaction: new requests and attempts (repeats ignored) and
        labels (a label for the same request and source replaces the earlier one)."""
        if not batch:
            return
        with self._writing("write") as conn:
            _insert_ignoring(conn, LearningRequestRow, batch.requests)
            _upsert_labels(conn, batch.labels)
            _insert_ignoring(conn, LearningAttemptRow, batch.attempts)

    def record_artefact(self, row: Row) -> None:
        with self._writing("artefact record") as conn:
            _insert_ignoring(conn, LearningArtefactRow, [row])

    def purge(self, before: datetime | None) -> PurgeResult:
        """Delete the stored requests observed before `before` with all their labels, and any
        label given before it (everything when `before` is None). Learning spend rows are
        financial records holding no prompt data, and stay, like the ledger's attempts."""
        r, lab = LearningRequestRow, LearningLabelRow
        with self._writing("purge") as conn:
            old = select(r.request_id)
            if before is not None:
                old = old.where(r.observed_at < before)
            doomed: ColumnElement[bool] = lab.request_id.in_(old)
            if before is not None:
                doomed = doomed | (lab.labelled_at < before)
            label_count = _count(conn.execute(delete(lab).where(doomed)))
            request_count = _delete(conn, r, r.observed_at, before)
        return PurgeResult(request_count, label_count)

    # -- read side -------------------------------------------------------------------------

    def request(self, request_id: str) -> StoredRequest | None:
        r = LearningRequestRow
        query = select(r.request_id, r.answered_by, r.observed_at).where(r.request_id == request_id)
        with self._reading("read") as conn:
            found = conn.execute(query).first()
        return None if found is None else StoredRequest(*found)

    def in_ledger(self, request_id: str) -> bool:
        """Whether the request ledger has a row for `request_id`."""
        query = select(RequestRow.request_id).where(RequestRow.request_id == request_id)
        with self._reading("read") as conn:
            return conn.execute(query).first() is not None

    def label(self, request_id: str, source: str) -> Row | None:
        """The stored label of one request and source, as a dict of its columns."""
        table = LearningLabelRow.__table__
        query = select(table).where(table.c.request_id == request_id, table.c.source == source)
        with self._reading("read") as conn:
            found = conn.execute(query).mappings().first()
        return None if found is None else dict(found)

    def examples(self) -> list[StoredExample]:
        """Every label with a positive weight (and every feedback label, whose meaning depends on
        the request's row), joined with its request, oldest traffic first."""
        r, lab = LearningRequestRow, LearningLabelRow
        query = (
            select(
                r.request_id,
                lab.source,
                lab.gain,
                lab.weight,
                lab.judge,
                r.observed_at,
                r.features,
                r.features_version,
                r.prompt,
                r.decision_score,
                r.artefact_version,
                r.answered_by,
                lab.feedback_score,
                func.coalesce(r.task, ""),
            )
            .join(lab, lab.request_id == r.request_id)
            .where((lab.weight > 0) | (lab.source == "feedback"))
            .order_by(r.observed_at, r.request_id, lab.source)
        )
        with self._reading("read") as conn:
            return [StoredExample(*row) for row in conn.execute(query)]

    def features(self, version: str) -> list[dict[int, float]]:
        """The stored features (of `version`) of every kept request: the recent traffic."""
        return [features for features, _task in self.traffic(version)]

    def traffic(self, version: str) -> list[tuple[dict[int, float], str]]:
        """`(features, task)` of every kept request with features of `version`, oldest first
        (task "" for none): the recent traffic as a router scored it."""
        r = LearningRequestRow
        query = (
            select(r.features, r.task).where(r.features_version == version).order_by(r.observed_at)
        )
        with self._reading("read") as conn:
            return [
                ({int(k): float(v) for k, v in features.items()}, task or "")
                for features, task in conn.execute(query)
            ]

    def label_counts(self) -> dict[str, int]:
        lab = LearningLabelRow
        query = select(lab.source, func.count()).group_by(lab.source).order_by(lab.source)
        with self._reading("read") as conn:
            return {source: int(n) for source, n in conn.execute(query)}

    def spend(self, since: datetime | None = None) -> dict[str, Decimal]:
        """Learning spend per purpose (shadow, judge) since `since`."""
        a = LearningAttemptRow
        query = select(a.purpose, func.coalesce(func.sum(a.cost_usd), 0)).group_by(a.purpose)
        if since is not None:
            query = query.where(a.created_at >= since)
        with self._reading("read") as conn:
            return {p: Decimal(total) for p, total in conn.execute(query)}

    def artefacts(self) -> list[Row]:
        """Every candidate `router learn` built, oldest first."""
        table = LearningArtefactRow.__table__
        query = select(table).order_by(table.c.created_at)
        with self._reading("read") as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def close(self) -> None:
        with self._lock:
            if self._engine is not None and self._given is None:
                self._engine.dispose()
                self._engine = None

    # -- plumbing --------------------------------------------------------------------------

    def _connect(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = disposed_with(self, create_ledger_engine(self._url))
            if not self._checked:
                sqlite_file = self._engine.dialect.name == "sqlite"
                check_schema(self._engine, auto_upgrade=sqlite_file)
                self._checked = True
            return self._engine

    @contextmanager
    def _writing(self, what: str) -> Iterator[Connection]:
        try:
            engine = self._connect()
            with self._gate.held(), write_engine(engine).begin() as conn:
                yield conn
        except (SQLAlchemyError, TimeoutError) as exc:
            raise LedgerError(
                f"learning store {what} failed at {self.where}: {type(exc).__name__}"
            ) from exc

    @contextmanager
    def _reading(self, what: str) -> Iterator[Connection]:
        try:
            with self._connect().connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"learning store {what} failed at {self.where}: {type(exc).__name__}; "
                "check that the database is up and at the latest revision (router db upgrade)"
            ) from exc


def _insert(conn: Connection, table: type[Any]) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _insert_ignoring(conn: Connection, table: type[Any], rows: Sequence[Row]) -> None:
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), list(rows))


def _upsert_labels(conn: Connection, rows: Sequence[Row]) -> None:
    if not rows:
        return
    rows = list({(r["request_id"], r["source"]): r for r in rows}.values())  # the last wins
    stmt = _insert(conn, LearningLabelRow)
    updated = {c: stmt.excluded[c] for c in ("gain", "weight", "judge", "feedback_score", "note")}
    updated["labelled_at"] = stmt.excluded.labelled_at
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["request_id", "source"], set_=updated),
        list(rows),
    )


def _delete(conn: Connection, table: type[Any], column: Any, before: datetime | None) -> int:
    stmt = delete(table)
    if before is not None:
        stmt = stmt.where(column < before)
    return _count(conn.execute(stmt))


def _count(result: Any) -> int:
    return int(result.rowcount or 0)
