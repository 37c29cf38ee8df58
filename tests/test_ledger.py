"""The ledger's write side on SQLite and PostgreSQL: exact storage, idempotency, the outbox."""

from __future__ import annotations

import logging
import os
import resource
import socket
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from router.errors import LedgerError
from router.ledger import Ledger, Outbox, SQLLedger, default_ledger_url, open_ledger
from router.ledger._convert import to_json_line
from router.ledger._engine import _readable, resolve_url
from router.ledger._schema import AttemptRow, ContentRow, RequestRow
from tests.ledger_helpers.builders import (
    count_requests,
    escalated,
    make_record,
    pg_base_url,
    table_rows,
    with_content,
)

pytest_plugins = ["tests.ledger_helpers.fixtures"]

DEAD_PG = "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2"
count = count_requests
rows = table_rows


def test_sql_ledger_is_a_ledger(ledger_url: str, outbox_dir: Path) -> None:
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        assert isinstance(ledger, Ledger)


def test_record_round_trips_exactly(ledger_url: str, outbox_dir: Path) -> None:
    rec = escalated(
        "r1",
        created_at=datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
        tags={"env": "prod", "ticket": "T-1"},
        user="hash-1",
        verification="passed",
    )
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(rec)
    [req] = rows(ledger_url, RequestRow)
    assert req["created_at"] == rec.created_at and req["created_at"].tzinfo is not None
    assert req["cost_usd"] == rec.cost_usd == Decimal("0.01")
    assert req["savings_usd"] == Decimal(0) and req["baseline_cost_usd"] == Decimal("0.01")
    assert req["tags"] == {"env": "prod", "ticket": "T-1"} and req["user_id"] == "hash-1"
    assert (req["ingest"], req["attempt_count"], req["escalation_reason"]) == (
        "direct",
        2,
        "low_confidence",
    )
    attempts = sorted(rows(ledger_url, AttemptRow), key=lambda a: a["seq"])
    assert [a["tier"] for a in attempts] == ["local", "frontier"]
    assert attempts[1]["unit_price_out"] == Decimal(15) and attempts[1]["cost_usd"] == Decimal(
        "0.01"
    )
    assert rows(ledger_url, ContentRow) == []


def test_content_goes_to_its_own_table(ledger_url: str, outbox_dir: Path) -> None:
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(with_content("c1"))
        ledger.record(make_record("c2"))
    assert [(c["request_id"], c["prompt"]) for c in rows(ledger_url, ContentRow)] == [
        ("c1", "secret prompt")
    ]


def test_money_keeps_ten_decimal_places(ledger_url: str, outbox_dir: Path) -> None:
    rec = make_record("m", baseline="1234567.0123456789")
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(rec)
    [req] = rows(ledger_url, RequestRow)
    assert req["baseline_cost_usd"] == Decimal("1234567.0123456789")


def test_replayed_request_is_never_counted_twice(ledger_url: str, outbox_dir: Path) -> None:
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(escalated("dup"))
        ledger.record(escalated("dup", baseline="9"))  # a retry: the first write wins
        ledger.record(make_record("dup"))
    assert count(ledger_url) == (1, 1)
    assert len(rows(ledger_url, AttemptRow)) == 2
    assert rows(ledger_url, RequestRow)[0]["baseline_cost_usd"] == Decimal("0.01")


def test_threads_write_concurrently_without_errors(
    ledger_url: str, outbox_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:

        def work(t: int) -> None:
            for i in range(40):
                ledger.record(make_record(f"t{t}-{i}"))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert count(ledger_url) == (320, 320)
    assert not outbox_dir.exists() or not any(outbox_dir.glob("*.jsonl"))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_locked_or_down_database_goes_to_outbox_then_replays(
    ledger_url: str, outbox_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    down_url = DEAD_PG if ledger_url.startswith("postgresql") else ledger_url
    with _unavailable(ledger_url):
        down = open_ledger(down_url, outbox_dir=outbox_dir, busy_timeout_ms=50)
        down.record(make_record("a"))
        for i in range(5):
            down.record(with_content(f"o{i}"))  # never raises
        down.close()
    assert (outbox_dir / "pending.jsonl").read_bytes().count(b"\n") == 6
    assert "secret prompt" not in caplog.text
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(make_record("a"))  # also written directly: still one row
        result = ledger.flush()
    assert result.replayed == 6 and result.rejected == 0
    assert count(ledger_url) == (6, 6)
    assert {r["ingest"] for r in rows(ledger_url, RequestRow) if r["request_id"] != "a"} == {
        "outbox"
    }
    assert len(rows(ledger_url, ContentRow)) == 5
    assert not any(outbox_dir.glob("*.jsonl"))


class _unavailable:
    """SQLite: hold the write lock. PostgreSQL: nothing (the test points at a dead port)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = None
        self.engine: Engine | None = None

    def __enter__(self) -> None:
        if self.url.startswith("sqlite"):
            self.engine = create_engine(resolve_url(self.url), isolation_level="AUTOCOMMIT")
            self.conn = self.engine.raw_connection()  # type: ignore[assignment]
            self.conn.execute("BEGIN EXCLUSIVE")  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.execute("ROLLBACK")
            self.conn.close()  # back to the engine's pool
        if self.engine is not None:
            self.engine.dispose()  # closes it: Python 3.13 warns about an unclosed sqlite3 database


def test_outbox_replays_automatically_on_open_and_after_a_write(
    ledger_url: str, outbox_dir: Path
) -> None:
    with _unavailable(ledger_url):
        down_url = DEAD_PG if ledger_url.startswith("postgresql") else ledger_url
        with open_ledger(down_url, outbox_dir=outbox_dir, busy_timeout_ms=50) as down:
            down.record(make_record("x1"))
    with open_ledger(ledger_url, outbox_dir=outbox_dir):
        pass  # open starts the replay; close waits for it
    assert count(ledger_url) == (1, 1)
    with _unavailable(ledger_url):
        down_url = DEAD_PG if ledger_url.startswith("postgresql") else ledger_url
        with open_ledger(down_url, outbox_dir=outbox_dir, busy_timeout_ms=50) as down:
            down.record(make_record("x2"))
    ledger = open_ledger(ledger_url, outbox_dir=outbox_dir)
    ledger.close()
    assert count(ledger_url) == (2, 2)


def test_background_replay_after_the_database_comes_back(ledger_url: str, outbox_dir: Path) -> None:
    with open_ledger(ledger_url, outbox_dir=outbox_dir, busy_timeout_ms=50) as ledger:
        ledger._retry_after_s = 0.0
        with _unavailable(ledger_url):
            if ledger_url.startswith("postgresql"):
                ledger._db_down_until = float("inf")
            ledger.record(make_record("late"))
        ledger._db_down_until = 0.0
        ledger.record(make_record("next"))  # succeeds and starts the replay thread
    assert count(ledger_url) == (2, 2)


def test_torn_outbox_line_is_set_aside_and_the_rest_replayed(
    ledger_url: str, outbox_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox_dir.mkdir()
    good = to_json_line(make_record("g1"))
    (outbox_dir / "pending.jsonl").write_bytes(good + good[:40])  # crash mid-append
    Outbox(outbox_dir).append(make_record("g2"))  # starts on a fresh line
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        result = ledger.flush()
    assert (result.replayed, result.rejected) == (2, 1)
    assert count(ledger_url) == (2, 2)
    assert (outbox_dir / "rejected.jsonl").read_bytes() == good[:40] + b"\n"
    assert "unreadable" in caplog.text


def test_record_never_raises_even_if_the_outbox_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    ledger = open_ledger(DEAD_PG, outbox_dir=blocker / "outbox")
    ledger.record(make_record("lost"))
    ledger.close()
    assert "lost LOST" in caplog.text


def test_flush_fails_clearly_while_the_database_is_down(outbox_dir: Path) -> None:
    with open_ledger(DEAD_PG, outbox_dir=outbox_dir) as down:
        down.record(make_record("k"))
        with pytest.raises(LedgerError, match="router ledger flush"):
            down.flush()


def test_a_connection_the_server_closed_is_replaced_not_sent_to_the_outbox(
    ledger_url: str, outbox_dir: Path
) -> None:
    """The pool checks a PostgreSQL connection without a round trip (no `SELECT 1` per batch);
    one the server ended while it sat idle must still be replaced before the next write."""
    if ledger_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL session")
    url = ledger_url
    with open_ledger(url, outbox_dir=outbox_dir) as ledger:
        ledger.record(make_record("before"))
        with ledger.engine.connect() as conn:  # the pooled connection the writer uses next
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        killer = create_engine(pg_base_url())
        with killer.connect() as conn:
            assert conn.execute(text(f"SELECT pg_terminate_backend({int(pid)})")).scalar()
            alive = f"SELECT count(*) FROM pg_stat_activity WHERE pid = {int(pid)}"
            for _ in range(100):  # the server ends the session asynchronously
                if not conn.execute(text(alive)).scalar():
                    break
        killer.dispose()
        ledger.record(make_record("after"))
        assert not ledger.outbox.has_pending()
    assert count(url)[0] == 2


def test_the_idle_connection_check_takes_descriptors_select_cannot() -> None:
    """A gateway holding many sockets hands the pool descriptors above select()'s 1023."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip("the descriptor limit is below 2048")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    ours, server = socket.socketpair()
    high = os.dup2(ours.fileno(), 2000)
    try:
        assert not _readable(high)
        server.send(b"E")  # what a server ending the session writes first
        assert _readable(high)
    finally:
        os.close(high)
        ours.close()
        server.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_unmigrated_postgres_asks_for_db_upgrade(empty_url: str, outbox_dir: Path) -> None:
    if empty_url.startswith("sqlite"):
        with open_ledger(empty_url, outbox_dir=outbox_dir) as ledger:  # SQLite migrates itself
            ledger.record(make_record("s"))
        return
    with pytest.raises(LedgerError, match="router db upgrade --ledger"):
        open_ledger(empty_url, outbox_dir=outbox_dir)


def test_newer_schema_is_refused(ledger_url: str, outbox_dir: Path) -> None:
    engine = create_engine(resolve_url(ledger_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(LedgerError, match="newer cost-router"):
        open_ledger(ledger_url, outbox_dir=outbox_dir)


def test_urls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROUTER_LEDGER_URL", "postgresql://u:secret@db/ledger")
    assert default_ledger_url() == "postgresql://u:secret@db/ledger"
    assert resolve_url(None).drivername == "postgresql+psycopg"
    monkeypatch.delenv("ROUTER_LEDGER_URL")
    assert default_ledger_url().startswith("sqlite:///") and default_ledger_url().endswith(
        "ledger.db"
    )
    assert resolve_url(str(tmp_path / "x.db")).database == str(tmp_path / "x.db")
    with pytest.raises(LedgerError, match="unsupported"):
        resolve_url("mysql://db/x")


def test_default_ledger_lives_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ROUTER_LEDGER_URL")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with open_ledger() as ledger:
        ledger.record(make_record("d"))
        assert isinstance(ledger, SQLLedger)
        assert str(ledger.outbox.directory).startswith(str(tmp_path / "cost-router" / "outbox"))
    assert (tmp_path / "cost-router" / "ledger.db").exists()


def test_public_api_is_sorted_and_importable() -> None:
    import router.ledger as api  # noqa: PLC0415

    assert api.__all__ == sorted(api.__all__)
    assert all(getattr(api, name) is not None for name in api.__all__)
