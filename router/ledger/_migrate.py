"""Alembic, driven from code: find the migrations, upgrade, and check a ledger's revision.

The migrations ship inside the package as `router/_migrations` (a link to the repository's
top-level `migrations/`); when running from a source tree without it we use `migrations/`.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from router.errors import LedgerError
from router.ledger._engine import display_url, write_engine

_PG_LOCK_KEY = 0x6C6564676572  # "ledger": serialises concurrent upgrades of one database


def migrations_dir() -> Path:
    """The Alembic script directory: packaged copy first, then the source tree's."""
    packaged = importlib.resources.files("router") / "_migrations"
    if isinstance(packaged, Path) and (packaged / "env.py").is_file():
        return packaged
    source = Path(__file__).resolve().parents[2] / "migrations"
    if (source / "env.py").is_file():
        return source
    raise LedgerError(
        "the ledger migrations are missing from this installation; reinstall cost-router"
    )


def alembic_config(connection: Connection | None = None) -> Config:
    """A programmatic Alembic config (no alembic.ini), optionally bound to a connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise LedgerError("the ledger migrations have no head revision; reinstall cost-router")
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None if the ledger tables were never created."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`, in one transaction holding the write lock."""
    _run(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision` ("base" drops every ledger table)."""
    _run(engine, lambda cfg: command.downgrade(cfg, revision))


def _run(engine: Engine, action: object) -> None:
    assert callable(action)
    try:
        with write_engine(engine).connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            action(alembic_config(conn))
    except SQLAlchemyError as exc:
        raise LedgerError(
            f"could not migrate the ledger at {display_url(engine.url)}: "
            f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
        ) from exc


def check_schema(engine: Engine, *, auto_upgrade: bool) -> None:
    """Raise LedgerError unless the schema is at head; upgrade first if `auto_upgrade`."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    where = display_url(engine.url)
    if current is not None and current not in known:
        raise LedgerError(
            f"the ledger at {where} is at revision {current}, written by a newer "
            "cost-router; upgrade cost-router"
        )
    if auto_upgrade:
        upgrade(engine)
        return
    state = "has no ledger tables" if current is None else f"is at revision {current}"
    raise LedgerError(
        f"the ledger at {where} {state} (head is {head}); run: router db upgrade --ledger '{where}'"
    )
