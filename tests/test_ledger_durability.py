"""Crash and concurrency tests: SIGKILLed writers lose no acknowledged row and count none twice.

A writer process prints a request id only after `record()` returned. We kill it at random
moments, sometimes while the database is locked so records are going to the outbox, then
replay the outbox and check every acknowledged id is in the ledger exactly once.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, make_url, select, text

from router.ledger import open_ledger, verify
from router.ledger._admin import upgrade_ledger
from router.ledger._engine import resolve_url
from router.ledger._schema import RequestRow
from tests.ledger_helpers.builders import count_requests
from tests.ledger_helpers.forks import ForkedWriters, acked

pytest_plugins = ["tests.ledger_helpers.fixtures"]

ROOT = Path(__file__).resolve().parents[1]


def writer(url: str, outbox: Path, prefix: str, *extra: str) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "tests.ledger_helpers.writer",
        "--url",
        url,
        "--outbox",
        str(outbox),
        "--prefix",
        prefix,
        *extra,
    ]
    return subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def ids_in(url: str) -> set[str]:
    engine = create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(RequestRow.request_id)).scalars())
    finally:
        engine.dispose()


def lock_timeout(url: str) -> str:
    """For PostgreSQL: give up on a locked table after 50 ms, so records go to the outbox."""
    if not url.startswith("postgresql"):
        return url
    parsed = make_url(url)
    options = f"{parsed.query.get('options', '')} -c lock_timeout=50".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


@contextlib.contextmanager
def intermittent_lock(url: str, stop: threading.Event) -> Iterator[None]:
    """Every ~0.4 s, hold the database's write lock for ~0.25 s."""
    engine = create_engine(resolve_url(url))

    def run() -> None:
        while not stop.wait(0.4):
            with engine.connect() as conn:
                if url.startswith("sqlite"):
                    raw = conn.connection.driver_connection
                    raw.isolation_level = None  # type: ignore[union-attr]
                    raw.execute("BEGIN EXCLUSIVE")  # type: ignore[union-attr]
                    time.sleep(0.25)
                    raw.execute("ROLLBACK")  # type: ignore[union-attr]
                else:
                    with conn.begin():
                        conn.execute(text("LOCK TABLE requests IN ACCESS EXCLUSIVE MODE"))
                        time.sleep(0.25)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        engine.dispose()


def wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n", proc.stderr.read()  # type: ignore[union-attr]


def kill_all(writers: ForkedWriters, pids: list[int], rng: random.Random) -> set[str]:
    """SIGKILL each writer at its own random moment; return the ids they acknowledged."""
    acknowledged: set[str] = set()
    started = time.monotonic()
    deadlines = [rng.uniform(0.05, 0.6) for _ in pids]
    for deadline, pid in sorted(zip(deadlines, pids, strict=True)):
        time.sleep(max(0.0, started + deadline - time.monotonic()))
        acknowledged |= writers.kill(pid)
    return acknowledged


def rest_of_stdout(proc: subprocess.Popen[str]) -> str:
    """What the killed writer printed after "ready": read through the same buffered reader
    (`communicate()` reads the raw pipe, and would drop what `readline()` already buffered)."""
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    return out


def kill_rounds(
    url: str, outbox: Path, acks_dir: Path, rounds: int, writers_per_round: int = 1
) -> None:
    """`rounds` x `writers_per_round` SIGKILLs of writers on one or two threads each, forked
    from a server that has imported the ledger; concurrent writers share the outbox folder."""
    rng = random.Random(rounds)
    acknowledged: set[str] = set()
    writers = ForkedWriters(lock_timeout(url), outbox, acks_dir)
    try:
        with intermittent_lock(url, threading.Event()):
            for n in range(rounds):
                pids = [
                    writers.start(f"k{n}w{w}", threads=1 + (n + w) % 2)
                    for w in range(writers_per_round)
                ]
                for pid in pids:
                    writers.wait_ready(pid)
                acknowledged |= kill_all(writers, pids, rng)
    finally:
        writers.close()
    with open_ledger(url, outbox_dir=outbox) as ledger:
        ledger.flush()
    stored = ids_in(url)
    assert acknowledged, "the writers never got going"
    assert acknowledged <= stored, f"lost: {sorted(acknowledged - stored)[:10]}"
    n, distinct = count_requests(url)
    assert n == distinct
    assert verify(url).ok
    assert replayed_rows(url) > 0, "the outbox path was never exercised"


def replayed_rows(url: str) -> int:
    engine = create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            stmt = select(func.count()).where(RequestRow.ingest == "outbox")
            return int(conn.execute(stmt).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_sigkilled_writers_lose_nothing_acknowledged_100(
    ledger_url: str, outbox_dir: Path, tmp_path: Path
) -> None:
    # 100 kills, four concurrent writers a round: a quarter of the wall time of one at a time,
    # and the outbox folder shared by writers dying together is exercised too.
    kill_rounds(ledger_url, outbox_dir, tmp_path, 25, writers_per_round=4)


@pytest.mark.slow  # eight writer processes
def test_eight_concurrent_writer_processes(empty_url: str, outbox_dir: Path) -> None:
    if empty_url.startswith("postgresql"):  # migrated by command; SQLite on first open
        upgrade_ledger(empty_url)
    procs = [writer(empty_url, outbox_dir, f"w{i}", "--count", "60") for i in range(8)]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert err == "", err  # no warning: nothing fell back to the outbox
        assert len(acked(out)) == 60
    assert count_requests(empty_url) == (480, 480)
    assert not outbox_dir.exists() or not any(outbox_dir.glob("*.jsonl"))


@pytest.mark.slow  # six writer processes started and killed
def test_sigkilled_journaled_writers_lose_nothing_acknowledged(tmp_path: Path) -> None:
    """Rows the router's group commit acknowledged from its write-ahead journal, before they
    were committed, survive SIGKILL: the next flush adopts the dead processes' journals."""
    url, outbox = f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "outbox"
    upgrade_ledger(url)
    rng = random.Random(21)
    acknowledged: set[str] = set()
    for n in range(6):
        proc = writer(url, outbox, f"j{n}", "--journal", "--dup-every", "7")
        wait_ready(proc)
        time.sleep(rng.uniform(0.1, 0.4))
        proc.kill()
        acknowledged |= acked(rest_of_stdout(proc))
    committed_before = ids_in(url)
    assert list(outbox.glob("journal-*.jsonl")), "the killed writers left no journal"
    assert acknowledged - committed_before, "no acknowledged row was waiting in a journal"
    with open_ledger(url, outbox_dir=outbox) as ledger:
        ledger.flush()
    stored = ids_in(url)
    assert acknowledged <= stored, f"lost: {sorted(acknowledged - stored)[:10]}"
    n, distinct = count_requests(url)
    assert n == distinct
    assert verify(url).ok
    assert not list(outbox.glob("journal-*.jsonl")), "an adopted journal was left behind"
