"""A write gate for SQLite: writers queue on a lock file instead of SQLite's busy handler.

SQLite's busy handler backs off in growing sleeps (up to 100 ms), so with several writer
processes most of the time is spent asleep while the database is free. Taking an `flock` on
`<ledger>.writelock` first, polled every millisecond, hands the write lock over promptly.
Giving up after the timeout raises `TimeoutError`, and the record goes to the outbox.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

_POLL_S = 0.001


class WriteGate:
    """Serialises writers to one SQLite file across threads and processes. No-op without a path."""

    def __init__(self, db_path: Path | None, timeout_s: float) -> None:
        self._path = None if db_path is None else db_path.with_name(db_path.name + ".writelock")
        self._timeout_s = timeout_s
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if self._path is None:
            yield
            return
        deadline = time.monotonic() + self._timeout_s
        if not self._thread_lock.acquire(timeout=self._timeout_s):
            raise TimeoutError("another thread holds the ledger write lock")
        try:
            # A descriptor per acquisition: flock locks are shared across fork() otherwise.
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                self._acquire(fd, deadline)
                yield
            finally:
                os.close(fd)  # releases the lock
        finally:
            self._thread_lock.release()

    @staticmethod
    def _acquire(fd: int, deadline: float) -> None:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError("another process holds the ledger write lock") from None
                time.sleep(_POLL_S)
