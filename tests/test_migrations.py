"""Migrations are append-only and tested from a blank database, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from router.errors import LedgerError
from router.ledger import current_revision, downgrade, head_revision, upgrade
from router.ledger._engine import create_ledger_engine, resolve_url
from router.ledger._migrate import alembic_config, migrations_dir
from router.ledger._schema import metadata

pytest_plugins = ["tests.ledger_helpers.fixtures"]

LEDGER_TABLES = {"requests", "attempts", "request_content"}


def diffs(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) & LEDGER_TABLES


def test_upgrade_head_on_an_empty_database_equals_the_orm(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert diffs(engine) == []


def test_downgrade_base_and_upgrade_head_round_trip(engine: Engine) -> None:
    upgrade(engine)
    downgrade(engine, "base")
    assert tables(engine) == set() and current_revision(engine) is None
    upgrade(engine)
    assert tables(engine) == LEDGER_TABLES and diffs(engine) == []


def test_every_revision_steps_down_and_up(engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [s.revision for s in script.walk_revisions("base", "heads")][::-1]
    for rev in revisions:
        upgrade(engine, rev)
        assert current_revision(engine) == rev
    for rev in reversed(revisions):
        downgrade(engine, f"{rev}-1" if rev != revisions[0] else "base")
    assert current_revision(engine) is None


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    assert diffs(engine) == []


def test_history_is_linear_and_append_only() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    files = sorted(p.name for p in (migrations_dir() / "versions").glob("*.py"))
    assert files[0] == "0001_initial.py"
    assert all(name[:4].isdigit() for name in files)


def test_migrations_ship_inside_the_package() -> None:
    packaged = importlib.resources.files("router") / "_migrations"
    assert (packaged / "env.py").is_file() and (packaged / "versions" / "0001_initial.py").is_file()
    assert migrations_dir() == Path(str(packaged))


def test_bad_url_is_a_ledger_error() -> None:
    with pytest.raises(LedgerError, match="sqlite:///PATH"):
        resolve_url("bad scheme://x")


def _request_indexes(engine: Engine) -> set[str]:
    return {ix["name"] for ix in inspect(engine).get_indexes("requests") if ix["name"]}


def test_0007_drops_the_tier_index_that_tier_latency_covers(engine: Engine) -> None:
    upgrade(engine, "0006")
    assert {"ix_requests_tier", "ix_requests_tier_latency"} <= _request_indexes(engine)
    upgrade(engine, "0007")
    assert "ix_requests_tier" not in _request_indexes(engine)
    assert "ix_requests_tier_latency" in _request_indexes(engine)
    downgrade(engine, "0006")
    assert "ix_requests_tier" in _request_indexes(engine)


def test_a_tier_filter_still_reads_an_index_on_sqlite(tmp_path: Path) -> None:
    eng = create_ledger_engine(resolve_url(f"sqlite:///{tmp_path / 'ledger.db'}"))
    upgrade(eng)
    with eng.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT latency_ms FROM requests "
                "WHERE tier IN ('frontier') ORDER BY tier, latency_ms"
            )
        )
    eng.dispose()
    assert "ix_requests_tier_latency" in plan
