"""What `router db ...` and `router ledger flush` do, as plain functions taking a URL."""

from __future__ import annotations

from pathlib import Path

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


def flush_outbox(url: str | None = None, outbox_dir: Path | None = None) -> DrainResult:
    """Replay the outbox of the ledger at `url` now; LedgerError if the database is down."""
    with open_ledger(url, outbox_dir=outbox_dir) as ledger:
        return ledger.flush()
