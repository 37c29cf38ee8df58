"""Group commit: the rows of requests finishing together share one ledger transaction.

Each request still waits for its own row before it returns to its caller, so "acknowledged
means recorded" holds exactly as with one transaction per request (to the ledger's configured
durability). What changes is the cost under concurrency: while one batch is being written on a
worker thread, the rows of requests that finish meanwhile queue up and go in the next batch,
one transaction and one commit for all of them. Alone (concurrency 1) a request's row is
written at once, as before.

It is asyncio-native: no thread of its own (the batch is written through `asyncio.to_thread`,
as a single write was), so nothing is left running across a `fork()`. The queue is per event
loop, since a future belongs to the loop that made it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router._records import RequestRecord
    from router.ledger._ledger import Ledger

MAX_BATCH = 500  # rows per transaction: bounds how long one commit holds the write lock
log = logging.getLogger("router")


@dataclass
class _Queue:
    """Rows waiting for the next batch on one event loop, and the task writing batches."""

    pending: list[tuple[RequestRecord, asyncio.Future[None]]] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None


class GroupCommit:
    """Awaitable ledger writes, batched across concurrent requests. Never raises."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def record(self, rec: RequestRecord) -> None:
        """Return once `rec` is written (in a batch with whatever else is waiting)."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        done: asyncio.Future[None] = loop.create_future()
        queue.pending.append((rec, done))
        if queue.writer is None:
            queue.writer = loop.create_task(self._write_batches(queue))
        # Shielded: a caller cancelled while waiting leaves its row to be written all the same.
        await asyncio.shield(done)

    async def _write_batches(self, queue: _Queue) -> None:
        batch: list[tuple[RequestRecord, asyncio.Future[None]]] = []
        try:
            while queue.pending:
                batch = queue.pending[:MAX_BATCH]
                del queue.pending[:MAX_BATCH]
                await asyncio.to_thread(self._write, [rec for rec, _ in batch])
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
                batch = []
        finally:
            queue.writer = None
            # Only when this task is cancelled (its loop shutting down): waiters learn it.
            for _, done in (*batch, *queue.pending):
                if not done.done():
                    done.cancel()
            queue.pending.clear()

    def _write(self, records: Sequence[RequestRecord]) -> None:
        """On a worker thread: one transaction when the ledger can batch, else row by row."""
        record_many = getattr(self.ledger, "record_many", None)
        if record_many is not None:
            _guarded(record_many, records)
            return
        for rec in records:
            _guarded(self.ledger.record, rec)


def _guarded(write: Callable[[Any], None], arg: object) -> None:
    try:
        write(arg)
    except Exception:  # the ledger promises not to raise; this is the belt to its braces
        log.exception("ledger write failed")
