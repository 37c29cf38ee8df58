"""Ledger writer processes forked from one that has already imported the ledger.

A fresh interpreter takes about a second of CPU to import the ledger; the SIGKILL tests start a
hundred writers each, which on two cores was a minute per backend of start-up alone. Forked from
this server, a writer gets going in milliseconds and dies by SIGKILL exactly as one started from
scratch would (what is at stake is what the database and the outbox hold, not the interpreter).

A writer runs `writer._write` on its own threads and appends each request id to its ack file
once `record()` returned, after a first `ready` line once its ledger was open. The server reads
commands on stdin and answers one line each:

    go PREFIX ACKFILE THREADS   fork a writer; answers `pid N`
    reap PID                    wait for that writer to end; answers `status N`

    python -m tests.ledger_helpers.forks URL OUTBOX   (the test side: `ForkedWriters`)
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from router.ledger import open_ledger
from router.ledger._engine import create_ledger_engine, resolve_url
from router.ledger._migrate import head_revision
from tests.ledger_helpers.writer import _write

ROOT = Path(__file__).resolve().parents[2]
READY = "ready"
DUP_EVERY = 7  # every 7th record re-sends an earlier id, as a client retrying after a crash
BUSY_MS = 50  # a locked SQLite file sends records to the outbox after 50 ms


# -- the writer side (runs in the server and its forked children) ----------------------------


def _write_until_killed(url: str, outbox: Path, prefix: str, acks: Path, threads: int) -> None:
    fd = os.open(acks, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    parent = os.getppid()

    def ack(request_id: str) -> None:
        if os.getppid() != parent:  # the server is gone (the test ended): stop
            os._exit(0)
        os.write(fd, f"{request_id}\n".encode())  # one write: a line is whole or absent

    ledger = open_ledger(url, outbox_dir=outbox, busy_timeout_ms=BUSY_MS)
    ack(READY)
    workers = [
        threading.Thread(target=_write, args=(ledger, f"{prefix}.{t}", 0, DUP_EVERY, ack))
        for t in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _serve(url: str, outbox: Path) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
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
                    _write_until_killed(url, outbox, args[0], Path(args[1]), int(args[2]))
                finally:
                    os._exit(1)
            print(f"pid {pid}", flush=True)
        elif cmd == "reap":
            _, status = os.waitpid(int(args[0]), 0)
            print(f"status {status}", flush=True)


# -- the test side ----------------------------------------------------------------------------


class ForkedWriters:
    """The fork server, driven over a pipe; writers' ack files go in `acks_dir`."""

    def __init__(self, url: str, outbox: Path, acks_dir: Path) -> None:
        cmd = [sys.executable, "-m", "tests.ledger_helpers.forks", url, str(outbox)]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.acks_dir = acks_dir
        self._files: dict[int, Path] = {}

    def start(self, prefix: str, threads: int = 1) -> int:
        """Fork a writer; its pid."""
        acks = self.acks_dir / f"acks-{prefix}.txt"
        pid = int(self._ask(f"go {prefix} {acks} {threads}"))
        self._files[pid] = acks
        return pid

    def wait_ready(self, pid: int, timeout_s: float = 60.0) -> None:
        """Until the writer has its ledger open (its `ready` line)."""
        deadline = time.monotonic() + timeout_s
        acks = self._files[pid]
        while not (acks.exists() and acks.read_text().startswith(READY + "\n")):
            assert time.monotonic() < deadline, f"writer {pid} not ready in {timeout_s} s"
            time.sleep(0.005)

    def kill(self, pid: int) -> set[str]:
        """SIGKILL the writer, wait for it to end; the ids it acknowledged."""
        os.kill(pid, 9)
        self._ask(f"reap {pid}")
        return acknowledged(self._files.pop(pid))

    def close(self) -> None:
        self.proc.communicate(timeout=30)

    def _ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().split()[1]


def acked(output: str) -> set[str]:
    """The ids a writer printed or appended; a last line without "\\n" was never acknowledged."""
    lines = output.split("\n")[:-1]
    return {line for line in lines if line and line != READY}


def acknowledged(path: Path) -> set[str]:
    """`acked` of an ack file (none when the writer died before creating it)."""
    return acked(path.read_text()) if path.exists() else set()


if __name__ == "__main__":
    _serve(sys.argv[1], Path(sys.argv[2]))
