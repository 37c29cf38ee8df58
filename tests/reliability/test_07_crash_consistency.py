"""Row 7, crash consistency: SIGKILL the ledger writer at random points, 100 times.

Each round forks a writer process that opens the real ledger (the first one creates and migrates
the SQLite file) and records rows through `SQLLedger.record`, outbox and background replay
included, appending each request id to an ack file only after `record()` returned. A thread in
the test holds the database's write lock ~60% of the time, so rows also go to the outbox and
get replayed while writers die. The kill lands at a random moment: while opening or migrating,
mid-insert, mid-append to the outbox or mid-replay. Afterwards one `flush()` replays what is
left. Figures: acknowledged rows missing, duplicates, `verify()`.

The writers are forked from a helper process that has already imported the ledger (this module
run as `python -m tests.reliability.test_07_crash_consistency`), so a round costs milliseconds of
start-up instead of a fresh interpreter.
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from router.ledger import open_ledger, verify
from router.ledger._admin import upgrade_ledger
from router.ledger._engine import create_ledger_engine, resolve_url
from router.ledger._migrate import head_revision
from router.ledger._schema import AttemptRow
from tests.ledger_helpers.builders import T0, count_requests, escalated, hours, make_record
from tests.reliability._figures import record
from tests.test_ledger_durability import ids_in, intermittent_lock, lock_timeout, replayed_rows

pytest_plugins = ["tests.ledger_helpers.fixtures"]

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 100


# -- the writer side (runs in the helper process and its forked children) --------------------


def _write_forever(url: str, outbox: Path, prefix: str, acks: Path) -> None:
    fd = os.open(acks, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    ledger = open_ledger(url, outbox_dir=outbox, busy_timeout_ms=50)
    parent = os.getppid()
    for i in itertools.count():
        if os.getppid() != parent:  # the fork server is gone (the test ended): stop
            os._exit(0)
        rid = f"{prefix}-{i}"
        build = escalated if i % 3 == 0 else make_record
        ledger.record(build(rid, created_at=T0 + hours(i % 200)))
        os.write(fd, f"{rid}\n".encode())  # acknowledged: record() returned
        if i % 7 == 6:  # a client retrying an earlier request after a crash
            ledger.record(build(f"{prefix}-{i // 2}", created_at=T0))


def _serve(url: str, outbox: Path) -> None:
    """Fork a writer per `go PREFIX ACKFILE` line; answer `pid N`. `reap N` waits for it."""
    # Import what opening a ledger imports lazily (the driver, the migration scripts) once,
    # here, so each forked writer gets going in milliseconds. Nothing is connected yet.
    create_ledger_engine(resolve_url(url)).dispose()
    head_revision()
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "go":
            pid = os.fork()
            if pid == 0:
                try:
                    _write_forever(url, outbox, args[0], Path(args[1]))
                finally:
                    os._exit(1)
            print(f"pid {pid}", flush=True)
        elif cmd == "reap":
            _, status = os.waitpid(int(args[0]), 0)
            print(f"status {status}", flush=True)


# -- the test side --------------------------------------------------------------------------


class Writers:
    """The fork server, driven over a pipe."""

    def __init__(self, url: str, outbox: Path) -> None:
        cmd = [
            sys.executable,
            "-m",
            "tests.reliability.test_07_crash_consistency",
            url,
            str(outbox),
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().split()[1]

    def close(self) -> None:
        self.proc.communicate(timeout=30)


def acknowledged(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return set(path.read_text().split("\n")[:-1])  # a last line without "\n" was not acked


def attempt_rows(url: str) -> int:
    engine = create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(AttemptRow)).scalar_one())
    finally:
        engine.dispose()


def kill_rounds(url: str, outbox: Path, acks_dir: Path, rounds: int) -> set[str]:
    rng = random.Random(7)
    writers = Writers(lock_timeout(url), outbox)
    acked: set[str] = set()
    try:
        with intermittent_lock(url, threading.Event()):
            for n in range(rounds):
                acks = acks_dir / f"acks-{n}.txt"
                pid = int(writers.ask(f"go r{n} {acks}"))
                threading.Event().wait(rng.uniform(0.0, 0.5))
                os.kill(pid, 9)
                writers.ask(f"reap {pid}")
                acked |= acknowledged(acks)
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


if __name__ == "__main__":
    _serve(sys.argv[1], Path(sys.argv[2]))
