"""Opening a ledger for reading (reports, verification, `router db current`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from router.errors import LedgerError
from router.ledger import _engine, _migrate


@contextlib.contextmanager
def reading(engine_or_url: Engine | str | None) -> Iterator[Engine]:
    """Yield an Engine on a migrated ledger; an Engine passed in is used as is, not disposed."""
    if isinstance(engine_or_url, Engine):
        yield engine_or_url
        return
    url = _engine.resolve_url(engine_or_url)
    path = _engine.sqlite_path(url)
    if path is not None and not path.exists():
        raise LedgerError(
            f"no ledger at {path} yet (it is created by the first routed request); "
            "pass --ledger URL or set ROUTER_LEDGER_URL to read another one"
        )
    read_only = path is not None and not _engine.writable(path)
    engine = (
        _engine.read_only_engine(path) if path and read_only else _engine.create_ledger_engine(url)
    )
    try:
        _migrate.check_schema(engine, auto_upgrade=path is not None and not read_only)
        yield engine
    except SQLAlchemyError as exc:
        raise read_error(engine, exc) from exc
    finally:
        engine.dispose()


def read_error(engine: Engine, exc: SQLAlchemyError) -> LedgerError:
    return LedgerError(
        f"could not read the ledger at {_engine.display_url(engine.url)}: "
        f"{type(exc).__name__}; check that the database is up and the URL is right"
    )


def as_utc(moment: date | datetime | None) -> datetime | None:
    """A date means midnight UTC; a naive datetime is taken to be UTC."""
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
