"""A ledger, learning store or budget store dropped without `close()` closes its connections.

Python 3.13 reports every SQLite connection left to the garbage collector (`ResourceWarning`);
on any version such a connection holds a file handle until the collector finds it. Each owner
of an engine disposes it when it is collected (docs/quickstart.md, "Which Python").
"""

from __future__ import annotations

import gc
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from router.budget import SqlBudgetStore
from router.learning import LearningStore
from router.ledger import open_ledger


def _learning_store(url: str) -> tuple[Any, Engine]:
    store = LearningStore(url)
    return store, store._connect()


def _ledger(url: str) -> tuple[Any, Engine]:
    ledger = open_ledger(url)
    return ledger, ledger.engine


def _budget_store(url: str) -> tuple[Any, Engine]:
    store = SqlBudgetStore(url)
    return store, store._connect()


@pytest.mark.parametrize("opened", [_learning_store, _ledger, _budget_store])
def test_a_dropped_owner_closes_its_sqlite_connection(
    tmp_path: Path, opened: Callable[[str], tuple[Any, Engine]]
) -> None:
    owner, engine = opened(f"sqlite:///{tmp_path / 'ledger.db'}")
    with engine.connect() as conn:  # back in the pool, open, when the block ends
        raw = conn.connection.dbapi_connection
    assert isinstance(raw, sqlite3.Connection)
    raw.execute("SELECT 1")
    del owner, engine, conn
    gc.collect()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        raw.execute("SELECT 1")


@pytest.mark.parametrize("store_class", [SqlBudgetStore, LearningStore])
def test_a_store_that_cannot_reach_its_database_keeps_no_engine_per_attempt(
    store_class: Callable[[str], Any],
) -> None:
    """The budget store retries on every budget check: during an outage each failed attempt
    must not leave an engine behind (a finalizer registered before the schema check did)."""
    store = store_class("postgresql+psycopg://u@127.0.0.1:1/x")  # refused at once

    def engines() -> int:
        gc.collect()
        return sum(isinstance(o, Engine) for o in gc.get_objects())

    before = engines()
    for _ in range(20):
        with pytest.raises(OperationalError):
            store._connect()
    assert engines() - before <= 1


def test_no_code_leaves_a_sqlite3_connection_to_the_collector() -> None:
    """`with sqlite3.connect(...) as db:` commits but does not close: on Python 3.13 the
    connection's ResourceWarning then fails whichever later test the collector runs in. Python
    3.11 gives no warning, so this reads the source instead (`contextlib.closing` is the fix)."""
    root = Path(__file__).parents[1]
    sources = [*root.glob("router/**/*.py"), *root.glob("tests/**/*.py")]
    sources += [*root.glob("benchmarks/**/*.py"), *root.glob("examples/**/*.py")]
    pattern = re.compile(r"^\s*with\s+sqlite3\.connect\(", re.MULTILINE)
    offenders = [str(p.relative_to(root)) for p in sources if pattern.search(p.read_text())]
    assert offenders == []
