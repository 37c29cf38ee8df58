"""Group commit: the rows of requests finishing together share one ledger transaction.

Each request still waits for its own row before it returns to its caller, so "acknowledged
means recorded" holds exactly as with one transaction per request (to the ledger's configured
durability). What changes is the cost under concurrency: while one batch is being written on a
worker thread, the rows of requests that finish meanwhile queue up and go in the next batch,
one transaction and one commit for all of them. Alone (concurrency 1) a request's row is
written at once, as before.

It is asyncio-native: no thread of its own (a batch is written on the event loop's default
executor, as `asyncio.to_thread` wrote a single row before), so nothing is left running across a
`fork()`. The queue is per event loop, since a future belongs to the loop that made it. An idle
queue starts the write at once, so the request can finish its telemetry while its row is written.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router._records import RequestRecord
    from router.ledger._ledger import Ledger

MAX_BATCH = 500  # rows per transaction: bounds how long one commit holds the write lock
log = logging.getLogger("router")


Waiter = tuple["RequestRecord", "asyncio.Future[None]"]


@dataclass
class _Queue:
    """Rows waiting for the next batch on one event loop; `busy` while a batch is written."""

    pending: list[Waiter] = field(default_factory=list)
    busy: bool = False


class GroupCommit:
    """Awaitable ledger writes, batched across concurrent requests. Never raises."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def record(self, rec: RequestRecord) -> None:
        """Return once `rec` is written (in a batch with whatever else is waiting)."""
        await self.submit(rec)

    def submit(self, rec: RequestRecord) -> Awaitable[None]:
        """Queue `rec` and return what to await for it. When no batch is being written, the
        write starts on a worker thread at once, so the caller can do other work meanwhile.
        Cancelling the awaitable does not stop the row from being written."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        done: asyncio.Future[None] = loop.create_future()
        queue.pending.append((rec, done))
        if not queue.busy:
            self._next_batch(loop, queue)
        return asyncio.shield(done)

    def _next_batch(self, loop: asyncio.AbstractEventLoop, queue: _Queue) -> None:
        batch = queue.pending[:MAX_BATCH]
        del queue.pending[:MAX_BATCH]
        records = [rec for rec, _ in batch]
        try:
            writing = loop.run_in_executor(None, self._write, records)
        except RuntimeError:  # the loop's executor is shut down: write here rather than lose it
            self._write(records)
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
            if queue.pending:
                self._next_batch(loop, queue)
            return
        queue.busy = True
        writing.add_done_callback(lambda w: self._batch_done(loop, queue, batch, w))

    def _batch_done(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: _Queue,
        batch: list[Waiter],
        writing: asyncio.Future[None],
    ) -> None:
        if writing.cancelled() or writing.exception() is not None:
            # Only the executor itself can get here (`_write` swallows ledger errors). The
            # waiters are released, never cancelled: a cancellation would reach the callers as
            # if they had been cancelled, and a ledger problem must not fail a request.
            log.error("ledger batch of %d rows was not written", len(batch))
        for _, done in batch:
            if not done.done():
                done.set_result(None)
        queue.busy = False
        if queue.pending:
            self._next_batch(loop, queue)

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
