"""What `router db ...` and `router ledger flush` do, as plain functions taking a URL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from router.errors import LedgerError
from router.ledger import _engine, _migrate
from router.ledger._ledger import open_ledger
from router.ledger._outbox import DrainResult


def upgrade_ledger(url: str | None = None, revision: str = "head") -> str:
    """Migrate the ledger at `url` to `revision`; returns the URL shown with no password."""
    parsed = _engine.resolve_url(url)
    engine = _engine.create_ledger_engine(parsed)
    try:
        _migrate.upgrade(engine, revision)
    finally:
        engine.dispose()
    return _engine.display_url(parsed)


def ledger_revision(url: str | None = None) -> tuple[str | None, str]:
    """(the ledger's revision or None if it has no tables yet, the newest revision we know)."""
    parsed = _engine.resolve_url(url)
    engine = _engine.create_ledger_engine(parsed)
    try:
        return _migrate.current_revision(engine), _migrate.head_revision()
    except SQLAlchemyError as exc:
        raise LedgerError(
            f"could not read the ledger at {_engine.display_url(parsed)}: "
            f"{type(exc).__name__}; check that the database is up"
        ) from exc
    finally:
        engine.dispose()


def check_ledger_writable(url: str | None = None) -> str:
    """Raise `LedgerError` (saying how to fix it) unless the ledger at `url` can take a write
    now; return its URL, password masked. SQLite is created and migrated, as the router's first
    request would; PostgreSQL must be migrated already and let this user insert rows."""
    parsed = _engine.resolve_url(url)
    where = _engine.display_url(parsed)
    fix = "point --ledger, $ROUTER_LEDGER_URL or the policy's ledger.url at a writable database"
    try:
        engine = _engine.create_ledger_engine(parsed)
    except OSError as exc:
        why = f"{type(exc).__name__}: {exc.strerror or exc}"
        raise LedgerError(f"cannot write the ledger at {where} ({why}); {fix}") from None
    try:
        _migrate.check_schema(engine, auto_upgrade=engine.dialect.name == "sqlite")
        with _engine.write_engine(engine).begin() as conn:
            if engine.dialect.name == "postgresql" and not conn.execute(_MAY_INSERT).scalar():
                raise LedgerError(f"cannot write the ledger at {where}: {_NO_INSERT}")
    except (SQLAlchemyError, OSError) as exc:
        why = type(exc).__name__
        raise LedgerError(f"cannot write the ledger at {where} ({why}); {fix}") from None
    finally:
        engine.dispose()
    return where


_MAY_INSERT = text(
    "SELECT has_table_privilege('requests', 'INSERT') AND has_table_privilege('attempts', 'INSERT')"
)
_NO_INSERT = "this database user may not insert into requests and attempts; GRANT INSERT to it"


def rebuild_rollup(url: str | None = None) -> str:
    """Recompute the report rollup of the ledger at `url` from its rows; returns the URL shown."""
    from router.ledger._rollup import rebuild  # noqa: PLC0415 - only this command needs it

    parsed = _engine.resolve_url(url)
    engine = _engine.create_ledger_engine(parsed)
    try:
        _migrate.check_schema(engine, auto_upgrade=engine.dialect.name == "sqlite")
        rebuild(engine)
    except SQLAlchemyError as exc:
        raise LedgerError(
            f"could not rebuild the report rollup at {_engine.display_url(parsed)}: "
            f"{type(exc).__name__}"
        ) from exc
    finally:
        engine.dispose()
    return _engine.display_url(parsed)


def flush_outbox(url: str | None = None, outbox_dir: Path | None = None) -> DrainResult:
    """Replay the outbox of the ledger at `url` now; LedgerError if the database is down."""
    with open_ledger(url, outbox_dir=outbox_dir) as ledger:
        return ledger.flush()
