"""`SqlBudgetStore`: budget burn in the ledger's database, shared by every process using it.

`reserve` and `settle` run in one transaction that locks the window rows first: on PostgreSQL
with `SELECT ... FOR UPDATE` (rows taken in key order, so two requests never deadlock), on
SQLite with `BEGIN IMMEDIATE` (the whole database is write-locked). The cap check and the update
are therefore one step, and concurrent requests overshoot a cap by at most one reservation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import ColumnElement, Connection, Engine, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from router.budget._store import ZERO
from router.budget._windows import Window
from router.errors import LedgerError
from router.ledger._engine import (
    create_ledger_engine,
    display_url,
    disposed_with,
    resolve_url,
    write_engine,
)
from router.ledger._migrate import check_schema
from router.ledger._schema import BudgetWindowRow as Row


class SqlBudgetStore:
    """A `BudgetStore` in the `budget_windows` table of a ledger database (SQLite or
    PostgreSQL). `url` defaults like the ledger's. Connects, and migrates SQLite, on first use."""

    def __init__(self, url: str | None = None, *, busy_timeout_ms: int = 5000) -> None:
        self._url = resolve_url(url)
        self._busy_timeout_ms = busy_timeout_ms
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def burned(self, windows: Sequence[Window]) -> tuple[Decimal, ...]:
        if not windows:
            return ()
        with self._run("read", write=False) as conn:
            found = _rows(conn, windows, lock=False)
        return tuple(_burn(found.get(w.key)) for w in windows)

    def spent(self, window: Window) -> Decimal:
        return self._totals(window).spent_usd

    def reserved(self, window: Window) -> Decimal:
        return self._totals(window).reserved_usd

    def _totals(self, window: Window) -> _Burn:
        with self._run("read", write=False) as conn:
            return _rows(conn, [window], lock=False).get(window.key) or _Burn(ZERO, ZERO)

    def reserve(self, windows: Sequence[Window], amount: Decimal) -> tuple[Decimal, ...] | None:
        with self._run("reserve") as conn:
            found = _locked_rows(conn, windows)
            if any(_burn(found[w.key]) >= w.cap_usd for w in windows):
                return None
            for w in windows:
                row = found[w.key]
                _store(conn, w, row.spent_usd, row.reserved_usd + amount)
            return tuple(_burn(found[w.key]) + amount for w in windows)

    def settle(
        self, windows: Sequence[Window], reserved: Decimal, spent: Decimal
    ) -> tuple[Decimal, ...]:
        with self._run("settle") as conn:
            found = _locked_rows(conn, windows)
            burned = []
            for w in windows:
                row = found[w.key]
                new_spent = row.spent_usd + spent
                new_reserved = max(ZERO, row.reserved_usd - reserved)
                _store(conn, w, new_spent, new_reserved)
                burned.append(new_spent + new_reserved)
            return tuple(burned)

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _connect(self) -> Engine:
        with self._lock:
            if self._engine is None:
                engine = create_ledger_engine(self._url, busy_timeout_ms=self._busy_timeout_ms)
                try:
                    check_schema(engine, auto_upgrade=engine.dialect.name == "sqlite")
                except BaseException:
                    engine.dispose()  # every budget check retries: keep no engine per attempt
                    raise
                self._engine = disposed_with(self, engine)
            return self._engine

    @contextmanager
    def _run(self, what: str, *, write: bool = True) -> Iterator[Connection]:
        """One transaction, write-locked unless `write` is False; errors become LedgerError."""
        try:
            engine = self._connect()
            with (write_engine(engine) if write else engine).begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            where = display_url(self._url)
            raise LedgerError(f"budget {what} failed at {where}: {type(exc).__name__}") from exc


class _Burn(NamedTuple):
    spent_usd: Decimal
    reserved_usd: Decimal


def _burn(row: _Burn | None) -> Decimal:
    return ZERO if row is None else row.spent_usd + row.reserved_usd


def _where(windows: Sequence[Window]) -> ColumnElement[bool]:
    return or_(*(and_(Row.scope == w.scope, Row.period == w.period) for w in windows))


def _rows(
    conn: Connection, windows: Sequence[Window], *, lock: bool
) -> dict[tuple[str, str], _Burn]:
    query = (
        select(Row.scope, Row.period, Row.spent_usd, Row.reserved_usd)
        .where(_where(windows))
        .order_by(Row.scope, Row.period)
    )
    if lock:
        query = query.with_for_update()  # PostgreSQL row locks; SQLite holds BEGIN IMMEDIATE
    return {(r.scope, r.period): _Burn(r.spent_usd, r.reserved_usd) for r in conn.execute(query)}


def _locked_rows(conn: Connection, windows: Sequence[Window]) -> dict[tuple[str, str], _Burn]:
    """Create missing window rows, then lock all of them, in key order."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for w in sorted(windows, key=lambda w: w.key):
        stmt = insert(Row).values(scope=w.scope, period=w.period, spent_usd=ZERO, reserved_usd=ZERO)
        conn.execute(stmt.on_conflict_do_nothing())
    return _rows(conn, windows, lock=True)


def _store(conn: Connection, window: Window, spent: Decimal, reserved: Decimal) -> None:
    where = and_(Row.scope == window.scope, Row.period == window.period)
    conn.execute(update(Row).where(where).values(spent_usd=spent, reserved_usd=reserved))
