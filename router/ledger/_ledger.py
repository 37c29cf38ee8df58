"""The `Ledger` seam and its SQL implementation: durable on return, never in the way.

`SQLLedger.record` commits the request to the database; if the database is unreachable, locked
or full, the record is appended (fsync'ed) to a local outbox instead and replayed later, in a
background thread after the next successful write or open, or by `router ledger flush`.
`record` never raises: a ledger problem must not fail a user's request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, runtime_checkable

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError

from router._durability import DEFAULT_DURABILITY, Durability
from router._records import RequestRecord
from router.errors import LedgerError
from router.ledger import _engine, _migrate
from router.ledger._gate import WriteGate
from router.ledger._journal import Journal
from router.ledger._outbox import DrainResult, Outbox, RejectRecord
from router.ledger._write import insert_records

_OPEN_LOCK_TIMEOUT_S = 60.0
log = logging.getLogger("router")


@runtime_checkable
class Ledger(Protocol):
    """Where the router writes one record per request."""

    def record(self, rec: RequestRecord) -> None:
        """Store `rec` durably before returning. Never raises."""
        ...

    def close(self) -> None:
        """Finish background work and release connections."""
        ...


class SQLLedger:
    """A ledger in SQLite or PostgreSQL with a local outbox for when the database is down.

    Thread-safe: `record` may be called from many threads (e.g. via `asyncio.to_thread`).
    """

    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        *,
        retry_after_s: float = 5.0,
        outbox_check_s: float = 30.0,
        lock_timeout_s: float = 5.0,
        durability: Durability = "power-loss",
    ) -> None:
        self.engine = _engine.disposed_with(self, engine)
        self.outbox = outbox
        self.durability = durability  # what the engine was built with (open_ledger says)
        self._writer = _engine.record_engine(engine)
        self._gate = WriteGate(_engine.sqlite_path(engine.url), lock_timeout_s)
        self._retry_after_s = retry_after_s
        self._outbox_check_s = outbox_check_s
        self._lock = threading.Lock()
        self._db_down_until = 0.0
        self._next_outbox_check = 0.0
        self._replayer: threading.Thread | None = None
        self._replayed = DrainResult()  # what background replays did since the last flush

    def record(self, rec: RequestRecord) -> None:
        """Commit `rec` to the database, or else to the outbox. Never raises."""
        self.record_many([rec])

    def record_many(self, records: Sequence[RequestRecord]) -> None:
        """Commit `records` in one transaction (one commit for all: group commit), or else each
        to the outbox. Never raises. A batch the database refuses as invalid is retried record
        by record, so one bad record cannot send the others to the outbox."""
        if not records:
            return
        try:
            if time.monotonic() < self._db_down_until:
                raise _Skipped
            self._insert(records, ingest="direct")
        except (DataError, IntegrityError) as exc:
            if len(records) == 1:  # refused, not unreachable: the next record still tries it
                self._fallback(records[0], exc, db_down=False)
                return
            for rec in records:
                self.record_many([rec])
            return
        except Exception as exc:  # by contract, a ledger write never fails a request
            for rec in records:
                self._fallback(rec, exc)
            return
        self._maybe_replay()

    def journal(self) -> Journal | None:
        """A write-ahead journal for the group commit to acknowledge rows with before they
        are committed (router/ledger/_journal.py), when that keeps the ledger's promise: a
        SQLite file with `process-crash` durability, where a committed row survives what a
        row in the kernel's page cache survives. None otherwise (PostgreSQL, `power-loss`)."""
        if self.durability != "process-crash" or _engine.sqlite_path(self.engine.url) is None:
            return None
        return Journal(self.outbox.directory)

    def flush(self, *, wait: bool = True) -> DrainResult:
        """Replay the outbox now. Raises LedgerError if the database is still unreachable."""
        self._join_replayer()
        earlier, self._replayed = self._replayed, DrainResult()
        now = self.outbox.drain(self._sink, wait=wait)
        result = DrainResult(
            earlier.replayed + now.replayed,
            earlier.rejected + now.rejected,
            now.remaining_batches,
            now.busy,
        )
        if result.remaining_batches:
            raise LedgerError(
                f"the ledger at {_engine.display_url(self.engine.url)} is still "
                f"unreachable; {result.remaining_batches} outbox batch(es) kept in "
                f"{self.outbox.directory}; retry: router ledger flush"
            )
        return result

    def close(self) -> None:
        self._join_replayer()
        self.engine.dispose()

    def __enter__(self) -> SQLLedger:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start_replay(self) -> None:
        """Replay the outbox in a background thread unless one is already running."""
        with self._lock:
            if self._replayer is not None and self._replayer.is_alive():
                return
            self._replayer = threading.Thread(
                target=self._replay, name="ledger-outbox", daemon=True
            )
            self._replayer.start()

    def _fallback(self, rec: RequestRecord, exc: Exception, *, db_down: bool = True) -> None:
        if not isinstance(exc, _Skipped):
            if db_down:
                self._db_down_until = time.monotonic() + self._retry_after_s
            log.warning(
                "ledger: could not write request %s to %s (%s); using the outbox",
                rec.request_id,
                _engine.display_url(self.engine.url),
                type(exc).__name__,
            )
        try:
            self.outbox.append(rec)
        except Exception as err:  # nothing else left to try: say so loudly
            log.error(
                "ledger: request %s LOST: outbox %s failed too (%s: %s)",
                rec.request_id,
                self.outbox.directory,
                type(err).__name__,
                err,
            )
        self._next_outbox_check = 0.0

    def _maybe_replay(self) -> None:
        now = time.monotonic()
        if now < self._next_outbox_check:
            return
        self._next_outbox_check = now + self._outbox_check_s
        if self.outbox.has_pending():
            self.start_replay()

    def _replay(self) -> None:
        try:
            done = self.outbox.drain(self._sink)
            with self._lock:
                self._replayed = DrainResult(
                    self._replayed.replayed + done.replayed, self._replayed.rejected + done.rejected
                )
        except Exception as exc:  # a background thread must not die noisily
            log.warning("ledger outbox: replay failed (%s)", type(exc).__name__)

    def _sink(self, records: Sequence[RequestRecord]) -> None:
        try:
            self._insert(records, ingest="outbox")
        except (DataError, IntegrityError) as exc:
            raise RejectRecord(type(exc).__name__) from exc

    def _insert(self, records: Sequence[RequestRecord], *, ingest: str) -> None:
        with self._gate.held(), self._writer.begin() as conn:
            insert_records(conn, records, ingest=ingest)

    def _join_replayer(self) -> None:
        replayer = self._replayer
        if replayer is not None:
            replayer.join()


class _Skipped(Exception):
    """The database failed moments ago; go straight to the outbox for a while."""


def open_ledger(
    url: str | None = None,
    *,
    outbox_dir: Path | None = None,
    busy_timeout_ms: int = 5000,
    durability: Durability = DEFAULT_DURABILITY,
) -> SQLLedger:
    """Open the ledger at `url` (default: `ROUTER_LEDGER_URL`, else SQLite in the data dir).

    SQLite is created and migrated on first use. PostgreSQL must be migrated with
    `router db upgrade`; if it is unreachable, the ledger opens anyway and records go to the
    outbox. Raises LedgerError for a bad URL or a schema that needs (or is newer than) this code.
    `durability` is what a returned SQLite write survives: `"process-crash"` (the default,
    `synchronous=NORMAL`) or also `"power-loss"` (`synchronous=FULL`, an fsync per commit).
    """
    parsed = _engine.resolve_url(url)
    engine = _engine.create_ledger_engine(
        parsed, busy_timeout_ms=busy_timeout_ms, durability=durability
    )
    outbox = Outbox(outbox_dir or _engine.default_outbox_dir(parsed))
    # Several processes may open a new SQLite ledger at once: only one may create the schema and
    # switch the file to WAL (that switch takes no busy timeout), so opening is serialised too.
    opening = WriteGate(_engine.sqlite_path(engine.url), _OPEN_LOCK_TIMEOUT_S)
    try:
        with opening.held():
            _check_schema_or_degrade(engine, outbox)
    except TimeoutError:
        where = _engine.display_url(engine.url)
        log.warning("ledger: %s is busy; records go to the outbox for now", where)
    except OSError as exc:  # the gate's lock file: read-only media, no permission
        where = _engine.display_url(engine.url)
        log.warning(
            "ledger: %s cannot be written (%s: read-only media or no permission); records go "
            "to the outbox %s until it can (then: router ledger flush)",
            where,
            exc.strerror or type(exc).__name__,
            outbox.directory,
        )
    ledger = SQLLedger(engine, outbox, lock_timeout_s=busy_timeout_ms / 1000, durability=durability)
    if outbox.has_pending():
        ledger.start_replay()
    return ledger


def _check_schema_or_degrade(engine: Engine, outbox: Outbox) -> None:
    where = _engine.display_url(engine.url)
    try:
        _migrate.check_schema(engine, auto_upgrade=engine.dialect.name == "sqlite")
        return
    except LedgerError as exc:
        if not isinstance(exc.__cause__, OperationalError):
            engine.dispose()
            raise
        reason = type(exc.__cause__).__name__
    except OperationalError as exc:
        reason = type(exc).__name__
    except SQLAlchemyError as exc:
        engine.dispose()
        raise LedgerError(f"could not open the ledger at {where}: {type(exc).__name__}") from exc
    log.warning(
        "ledger: %s is unreachable (%s); records go to the outbox %s until it is back",
        where,
        reason,
        outbox.directory,
    )
