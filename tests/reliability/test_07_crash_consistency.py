"""Row 7, crash consistency: SIGKILL the ledger writer at random points, 100 times.

Each round forks a writer process that opens the real ledger (the first one creates and migrates
the SQLite file) and records rows through `SQLLedger.record`, outbox and background replay
included, appending each request id to an ack file only after `record()` returned. A thread in
the test holds the database's write lock ~60% of the time, so rows also go to the outbox and
get replayed while writers die. The kill lands at a random moment: while opening or migrating,
mid-insert, mid-append to the outbox or mid-replay. Afterwards one `flush()` replays what is
left. Figures: acknowledged rows missing, duplicates, `verify()`.

The writers are forked from a helper process that has already imported the ledger
(`tests.ledger_helpers.forks`), so a round costs milliseconds of start-up instead of a fresh
interpreter.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from router.ledger import open_ledger, verify
from router.ledger._admin import upgrade_ledger
from router.ledger._engine import resolve_url
from router.ledger._schema import AttemptRow
from tests.ledger_helpers.builders import count_requests
from tests.ledger_helpers.forks import ForkedWriters
from tests.reliability._figures import record
from tests.test_ledger_durability import ids_in, intermittent_lock, lock_timeout, replayed_rows

pytest_plugins = ["tests.ledger_helpers.fixtures"]

ROUNDS = 100


def attempt_rows(url: str) -> int:
    engine = create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(AttemptRow)).scalar_one())
    finally:
        engine.dispose()


def kill_rounds(url: str, outbox: Path, acks_dir: Path, rounds: int) -> set[str]:
    rng = random.Random(7)
    writers = ForkedWriters(lock_timeout(url), outbox, acks_dir)
    acked: set[str] = set()
    try:
        with intermittent_lock(url, threading.Event()):
            for n in range(rounds):
                pid = writers.start(f"r{n}")
                threading.Event().wait(rng.uniform(0.0, 0.5))
                acked |= writers.kill(pid)
    finally:
        writers.close()
    return acked


@pytest.mark.slow
def test_sigkilled_ledger_writers_lose_and_double_nothing(empty_url: str, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    backend = "postgresql" if empty_url.startswith("postgresql") else "sqlite"
    if backend == "postgresql":
        upgrade_ledger(empty_url)  # PostgreSQL is migrated by command, SQLite on first open
    acked = kill_rounds(empty_url, outbox, tmp_path, ROUNDS)
    with open_ledger(empty_url, outbox_dir=outbox) as ledger:
        ledger.flush()
    stored = ids_in(empty_url)
    rows, distinct = count_requests(empty_url)
    missing = len(acked - stored)
    result = verify(empty_url)
    record(
        7,
        f"acknowledged rows missing after {ROUNDS} SIGKILLs ({backend})",
        str(missing),
        "0",
        missing == 0,
    )
    record(
        7, f"duplicate rows after replay ({backend})", str(rows - distinct), "0", rows == distinct
    )
    record(
        7,
        f"integrity check ({backend})",
        "ok" if result.ok else str(result.problems[:3]),
        "ok",
        result.ok,
    )
    print(
        f"row 7 ({backend}): {len(acked)} acked, {rows} rows, {attempt_rows(empty_url)} "
        f"attempt rows, {replayed_rows(empty_url)} via the outbox"
    )
    assert len(acked) > ROUNDS, "the writers never got going"
    assert missing == 0, sorted(acked - stored)[:10]
    assert rows == distinct
    assert result.ok, result.problems[:5]
    assert replayed_rows(empty_url) > 0, "the outbox path was never exercised"
