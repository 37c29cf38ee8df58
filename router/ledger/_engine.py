"""Where the ledger lives and how we connect to it.

The default is a SQLite file in the user's data directory; `ROUTER_LEDGER_URL` or `--ledger`
points elsewhere (a PostgreSQL URL for a fleet). SQLite connections use WAL, a busy timeout
and `BEGIN IMMEDIATE` for writes, so concurrent writers queue on the lock instead of failing
half-way through a transaction.

How durable a returned SQLite commit is depends on `Durability` (SQLite's `synchronous`):
`"process-crash"` (`synchronous=NORMAL`) survives the process being killed at any moment, since
the commit is in the WAL file in the OS page cache, but a power loss or OS crash may lose the
last commits (never corrupting the file); `"power-loss"` (`synchronous=FULL`) fsyncs the WAL on
every commit, so it survives both. PostgreSQL follows its own `synchronous_commit`.
"""

from __future__ import annotations

import hashlib
import os
import select
import sqlite3
import urllib.parse
import weakref
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError

from router._durability import Durability
from router.errors import LedgerError
from router.ledger._private import private_dir, private_file, tighten

ENV_URL = "ROUTER_LEDGER_URL"
APP_NAME = "cost-router"
BEGIN_OPTION = "ledger_begin"
_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}
_PG_CONNECT_TIMEOUT_S = 5

_SYNCHRONOUS: dict[str, str] = {"process-crash": "NORMAL", "power-loss": "FULL"}


def data_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME)


def private_data_dir() -> Path:
    """The data directory, created (or tightened: it is cost-router's alone) to 0700."""
    folder = private_dir(data_dir())
    tighten(folder)
    return folder


def default_ledger_url() -> str:
    """`ROUTER_LEDGER_URL` if set, else a SQLite file in the user's data directory."""
    return os.environ.get(ENV_URL) or f"sqlite:///{data_dir() / 'ledger.db'}"


def resolve_url(url: str | None) -> URL:
    """Parse a ledger URL; a bare path means a SQLite file and `postgresql://` means psycopg 3."""
    text = url or default_ledger_url()
    if "://" not in text:
        text = f"sqlite:///{Path(text).expanduser().absolute()}"
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise LedgerError(
            f"not a database URL: {text!r}; use sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise LedgerError(
            f"unsupported ledger database {parsed.drivername!r}; "
            "use sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    return parsed


def display_url(url: URL) -> str:
    """The URL with any password masked, fit for logs and messages."""
    return url.render_as_string(hide_password=True)


def default_outbox_dir(url: URL) -> Path:
    """One outbox per ledger, so records never replay into the wrong database."""
    key = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return data_dir() / "outbox" / key


def sqlite_path(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None for PostgreSQL and in-memory databases."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def writable(path: Path) -> bool:
    """Can the SQLite file at `path` (and its lock, journal and WAL files) be written?"""
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def read_only_engine(path: Path) -> Engine:
    """An Engine that only reads the SQLite file at `path`, for a ledger on read-only media.

    `mode=ro` when a write-ahead log holds commits to read (SQLite then needs its `-shm` file
    beside it); otherwise `immutable=1`, which reads the file without creating any of its side
    files (on read-only media nothing can change it while we read).
    """
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() and wal.stat().st_size else "immutable=1"
    uri = f"file:{urllib.parse.quote(str(path))}?{mode}"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    return create_engine(f"sqlite:///{path}", creator=connect)


def disposed_with(owner: object, engine: Engine) -> Engine:
    """`engine`, disposed when `owner` is garbage-collected: an owner dropped without `close()`
    still closes its pooled connections (CPython 3.13 warns of every SQLite connection left to
    the collector; on any version each holds a file handle until then)."""
    weakref.finalize(owner, engine.dispose)
    return engine


def create_ledger_engine(
    url: URL, *, busy_timeout_ms: int = 5000, durability: Durability = "power-loss"
) -> Engine:
    """An Engine configured for durable ledger writes on SQLite or PostgreSQL.

    `durability` sets SQLite's `synchronous` (see the module docstring). It defaults to the
    strictest setting here; `open_ledger` passes the policy's choice for the request ledger.
    """
    if url.get_backend_name() == "postgresql":
        args: dict[str, Any] = {}
        if "connect_timeout" not in url.query:
            args["connect_timeout"] = _PG_CONNECT_TIMEOUT_S
        engine = create_engine(url, connect_args=args)
        event.listen(engine, "checkout", _drop_if_closed)
        return engine
    path = sqlite_path(url)
    if path is not None:
        if path.parent == data_dir():
            private_data_dir()
        private_file(path)  # 0600 in a 0700 folder, before SQLite creates it 0644
    if durability not in _SYNCHRONOUS:
        choices = ", ".join(_SYNCHRONOUS)
        raise LedgerError(f"unknown ledger durability {durability!r}; use one of: {choices}")
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
    _install_sqlite_hooks(engine, busy_timeout_ms, _SYNCHRONOUS[durability])
    return engine


def _drop_if_closed(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection the server has closed is replaced before it is used.

    What `pool_pre_ping` does, without its round trip per checkout (a `SELECT 1` that cost a
    ledger batch about a fifth of its time: docs/performance.md). An idle connection has
    nothing to read unless the server wrote to it, and the server writes to an idle session
    when it ends it (restart, shutdown, `pg_terminate_backend`: the reason, then it closes the
    socket). So a connection with anything to read is replaced; the rare harmless message (a
    reloaded setting) costs one reconnect, never a lost or misdirected write.
    """
    if dbapi_conn.closed or dbapi_conn.broken:
        raise DisconnectionError("the ledger connection is closed")
    if _readable(dbapi_conn.fileno()):
        raise DisconnectionError("the server closed the ledger connection")


def _readable(fd: int) -> bool:
    """Has the socket anything to read (or hung up), without waiting? `poll` where there is
    one: `select` cannot take descriptors above 1023, which a busy gateway process has."""
    if not hasattr(select, "poll"):
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int, synchronous: str) -> None:
    # The pysqlite workaround from SQLAlchemy's SQLite docs: stop the driver from issuing its
    # own BEGIN, then issue ours, IMMEDIATE when the connection is marked for writing.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        # Straight to the driver: BEGIN needs no statement cache, result or events of its own.
        driver: Any = conn.connection.driver_connection
        driver.execute(_BEGIN[mode])


def write_engine(engine: Engine) -> Engine:
    """The same pool, but transactions take SQLite's write lock up front (no-op elsewhere)."""
    return engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})


def record_engine(engine: Engine) -> Engine:
    """The engine `SQLLedger` writes records with. On SQLite, `write_engine`. On PostgreSQL,
    autocommit: a batch of records is written by one statement (`_write.insert_records`),
    which is atomic on its own and durable when it returns, so BEGIN and COMMIT would only add
    two round trips per batch."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return write_engine(engine)
