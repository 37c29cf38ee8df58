"""pytest fixtures for the ledger tests.

Use with `pytest_plugins = ["tests.ledger_helpers.fixtures"]` in a test module.

`empty_url`/`ledger_url` run a test on SQLite and, when ROUTER_TEST_POSTGRES_URL is set, on
PostgreSQL in a fresh schema dropped afterwards (skipped, not failed, when it is unset);
`engine` is an engine on `empty_url`, for migration tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from router.ledger._admin import upgrade_ledger
from router.ledger._engine import create_ledger_engine, resolve_url
from tests.ledger_helpers.builders import fresh_pg_schema, pg_base_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with no ledger tables yet (SQLite file or fresh Postgres schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    yield from fresh_pg_schema(pg_base_url())


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    """An engine on a database with no ledger tables yet, disposed afterwards."""
    eng = create_ledger_engine(resolve_url(empty_url))
    yield eng
    eng.dispose()


@pytest.fixture
def ledger_url(empty_url: str) -> str:
    """A migrated, empty ledger on each backend."""
    upgrade_ledger(empty_url)
    return empty_url


@pytest.fixture
def outbox_dir(tmp_path: Path) -> Path:
    return tmp_path / "outbox"
