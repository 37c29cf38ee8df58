"""The write-ahead journal: where a request's ledger row is kept before the database has it.

One file per process, `journal-<pid>-<random>.jsonl` in the ledger's outbox folder, held with an
exclusive `flock` for as long as the process has it open. `append` writes one JSON line with one
`os.write` on an `O_APPEND` descriptor: once it returns, the line is in the kernel and survives
the process being killed (the `process-crash` durability; not a power loss, which is why a
`power-loss` ledger does not use the journal). The group commit then moves the rows to the
database in the background; once every appended row is there, the file is emptied.

A process that dies leaves its journal behind, unlocked. The next drain of the outbox (opening
the ledger, its background replay, `router ledger flush`) adopts it as an outbox batch and
replays it; rows the database already has are dropped by its `ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from pathlib import Path

from router._records import RequestRecord
from router.ledger._convert import to_json_line
from router.ledger._private import FILE_MODE, private_dir

JOURNAL_GLOB = "journal-*.jsonl"


class Journal:
    """This process's journal file in `directory`, created on the first append. Thread-safe."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._fd = -1
        self._pid = 0
        self._path: Path | None = None
        self._unsettled = 0  # rows appended and not yet in the database (or the outbox)

    @property
    def path(self) -> Path | None:
        return self._path

    def append(self, rec: RequestRecord) -> None:
        """Keep `rec` in the journal; raises OSError when the disk refuses it."""
        line = to_json_line(rec)
        with self._lock:
            _write_all(self._descriptor(), line)
            self._unsettled += 1

    def settled(self, count: int) -> None:
        """`count` appended rows are now in the database (or the outbox); when none is left
        unsettled, the file is emptied."""
        with self._lock:
            self._unsettled = max(0, self._unsettled - count)
            if self._unsettled == 0 and self._owned():
                os.ftruncate(self._fd, 0)

    def close(self) -> None:
        """Release the file: deleted when every row is settled, else left for the next drain."""
        with self._lock:
            if not self._owned():
                return
            if self._unsettled == 0 and self._path is not None:
                self._path.unlink(missing_ok=True)
            os.close(self._fd)  # releases the flock: what is left is adopted by a drain
            self._fd = -1

    def _owned(self) -> bool:
        return self._fd >= 0 and self._pid == os.getpid()

    def _descriptor(self) -> int:
        if self._owned():
            return self._fd
        if self._fd >= 0:  # a forked child: the parent's file stays the parent's
            os.close(self._fd)
        private_dir(self.directory)
        name = f"journal-{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
        # Locked under a name no drain looks at, then renamed: a drain never sees it unlocked.
        hidden = self.directory / f".{name}.new"
        fd = os.open(hidden, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, FILE_MODE)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
        os.rename(hidden, self.directory / name)
        self._fd, self._pid, self._path = fd, os.getpid(), self.directory / name
        self._unsettled = 0
        return fd


def is_orphan(path: Path) -> bool:
    """True when no process holds `path` open as its journal (its owner closed or died)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
