"""A local, append-only, fsync'ed JSONL outbox for records the database could not take.

Writers append one line per record to `pending.jsonl` while holding an exclusive `flock` on
`append.lock`, then fsync. A drain takes the same lock just long enough to rename
`pending.jsonl` to a `batch-*.jsonl` file, so appends never race with a replay. Batches are
replayed through an idempotent sink and deleted only after the sink has committed them; a crash
in between replays them again, and the database's `ON CONFLICT DO NOTHING` drops the repeats.

A line torn by a crash mid-append was never acknowledged (the append had not returned): it is
moved to `rejected.jsonl` for inspection, as is any record the database refuses as invalid.

The same drain adopts the write-ahead journals (`router/ledger/_journal.py`) that processes which
died or closed left behind, each as a batch of its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from router._records import RequestRecord
from router.ledger._convert import from_json_line, to_json_line
from router.ledger._journal import JOURNAL_GLOB, is_orphan
from router.ledger._private import private_dir

log = logging.getLogger("router")

PENDING = "pending.jsonl"
REJECTED = "rejected.jsonl"
BATCH_GLOB = "batch-*.jsonl"
CHUNK = 500


class RejectRecord(Exception):
    """Raised by a drain sink for a record the database will never accept."""


Sink = Callable[[Sequence[RequestRecord]], None]


@dataclass(frozen=True, slots=True)
class DrainResult:
    """What one drain did. `busy` is True when another process was already draining."""

    replayed: int = 0
    rejected: int = 0
    remaining_batches: int = 0
    busy: bool = False


class Outbox:
    """The outbox directory of one ledger. Safe across threads and processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def append(self, rec: RequestRecord) -> None:
        """Durably append one record; raises OSError if even the local disk refuses it."""
        line = to_json_line(rec)
        private_dir(self.directory)
        with self._locked("append.lock", blocking=True):
            path = self.directory / PENDING
            created = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                _write_all(fd, _separator(fd) + line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.directory)

    def has_pending(self) -> bool:
        if not self.directory.is_dir():
            return False
        return (
            (self.directory / PENDING).exists()
            or any(self.directory.glob(BATCH_GLOB))
            or any(self._orphan_journals())
        )

    def drain(self, sink: Sink, *, wait: bool = False) -> DrainResult:
        """Replay every pending record through `sink`; stops at the first sink failure."""
        if not self.has_pending():
            return DrainResult()
        with self._locked("drain.lock", blocking=wait) as acquired:
            if not acquired:
                return DrainResult(busy=True)
            self._seal_pending()
            return self._replay_batches(sink)

    def _seal_pending(self) -> None:
        with self._locked("append.lock", blocking=True):
            pending = self.directory / PENDING
            if pending.exists():
                name = f"batch-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.jsonl"
                pending.rename(self.directory / name)
                _fsync_dir(self.directory)
        for journal in self._orphan_journals():
            self._adopt(journal)

    def _orphan_journals(self) -> Iterator[Path]:
        """Journals no live process holds: their rows may not be in the database yet."""
        return (path for path in self.directory.glob(JOURNAL_GLOB) if is_orphan(path))

    def _adopt(self, journal: Path) -> None:
        """An orphaned journal becomes a batch to replay (deleted at once when empty)."""
        if journal.stat().st_size == 0:
            journal.unlink(missing_ok=True)
            return
        name = f"batch-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.jsonl"
        journal.rename(self.directory / name)
        _fsync_dir(self.directory)

    def _replay_batches(self, sink: Sink) -> DrainResult:
        replayed = rejected = 0
        batches = sorted(self.directory.glob(BATCH_GLOB))
        for done, batch in enumerate(batches):
            try:
                counts = self._replay_file(batch, sink)
            except Exception as exc:  # the database went away again: keep the batch for later
                log.warning(
                    "ledger outbox: replay stopped (%s); %d batch(es) kept in %s",
                    type(exc).__name__,
                    len(batches) - done,
                    self.directory,
                )
                return DrainResult(replayed, rejected, len(batches) - done)
            replayed, rejected = replayed + counts[0], rejected + counts[1]
            batch.unlink()
        if replayed or rejected:
            log.info("ledger outbox: replayed %d record(s), rejected %d", replayed, rejected)
        return DrainResult(replayed, rejected, 0)

    def _replay_file(self, batch: Path, sink: Sink) -> tuple[int, int]:
        records: list[RequestRecord] = []
        bad: list[bytes] = []
        for line in batch.read_bytes().splitlines():
            if not line.strip():
                continue
            try:
                records.append(from_json_line(line))
            except (ValueError, TypeError, KeyError):
                bad.append(line)
        if bad:
            log.warning(
                "ledger outbox: %d unreadable line(s) (torn by a crash before the write "
                "was acknowledged, or corrupt) moved to %s",
                len(bad),
                REJECTED,
            )
        refused: list[bytes] = []
        for start in range(0, len(records), CHUNK):
            refused.extend(self._sink_chunk(records[start : start + CHUNK], sink))
        self._reject(bad + refused)
        return len(records) - len(refused), len(bad) + len(refused)

    def _sink_chunk(self, chunk: list[RequestRecord], sink: Sink) -> list[bytes]:
        try:
            sink(chunk)
            return []
        except RejectRecord:
            pass
        bad = []  # isolate the refused record(s); transient errors still propagate
        for rec in chunk:
            try:
                sink([rec])
            except RejectRecord:
                log.error(
                    "ledger outbox: database refused request %s; kept in %s",
                    rec.request_id,
                    self.directory / REJECTED,
                )
                bad.append(to_json_line(rec).rstrip(b"\n"))
        return bad

    def _reject(self, lines: list[bytes]) -> None:
        if not lines:
            return
        with self._locked("append.lock", blocking=True):
            fd = os.open(self.directory / REJECTED, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                _write_all(fd, _separator(fd) + b"\n".join(lines) + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def _locked(self, name: str, *, blocking: bool) -> Iterator[bool]:
        private_dir(self.directory)
        fd = os.open(self.directory / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing the descriptor releases the lock


def _separator(fd: int) -> bytes:
    """A newline if the file ends in a torn line, so the next record starts on its own line."""
    size = os.fstat(fd).st_size
    return b"\n" if size and os.pread(fd, 1, size - 1) != b"\n" else b""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
