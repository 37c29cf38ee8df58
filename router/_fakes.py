"""Fakes for the clock and ledger seams, shipped so users can test their code without mocks."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from router._records import RequestRecord


class FakeClock:
    """A clock whose `sleep` returns at once and moves time forward; it records every sleep.

    `monotonic()` is real elapsed time plus everything slept, so deadlines still see real
    network time. `now()` starts at `start` and moves the same way.
    """

    __test__ = False

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self.sleeps: list[float] = []
        self._origin = time.monotonic()
        self._lock = threading.Lock()

    @property
    def slept(self) -> float:
        with self._lock:
            return sum(self.sleeps)

    def monotonic(self) -> float:
        return time.monotonic() - self._origin + self.slept

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


class MemoryLedger:
    """A ledger that keeps records in a list; for tests and for trying the router out."""

    __test__ = False

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self.closed = False

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self.records.append(record)

    def close(self) -> None:
        self.closed = True
