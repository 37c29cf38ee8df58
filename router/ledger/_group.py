"""Group commit: the rows of requests finishing together share one ledger transaction.

Two ways to acknowledge a row, chosen when the writer is built:

- Awaited (no journal): each request waits for its own row before it returns to its caller, so
  "acknowledged means committed" (to the ledger's configured durability). While one batch is
  being written on a worker thread, the rows of requests that finish meanwhile queue up and go
  in the next batch, one transaction and one commit for all of them. A batch starts on the
  event loop's next turn, not inside `submit`: the rows submitted in the same turn (requests
  finishing together, or the callers of the batch just written coming back with their next
  rows) share it, instead of the first going alone and the rest waiting a whole write. Alone
  (concurrency 1) a request's row is written on the next turn.
- Journaled (a SQLite ledger with the default `process-crash` durability): `submit` appends the
  row to this process's write-ahead journal (`router/ledger/_journal.py`), which already
  survives the process being killed, and returns; nothing is awaited. The rows gathered over
  `delay_s` then go to the database in one transaction in the background, and the journal is
  emptied once they are in. A report may therefore miss the last `delay_s` (plus one commit)
  of requests; `flush()` (and `Router.aclose()`/`close()`) waits for them.

It is asyncio-native: no thread of its own (a batch is written on the event loop's default
executor), so nothing is left running across a `fork()`. The queue is per event loop, since a
future belongs to the loop that made it.
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
    from router.ledger._journal import Journal
    from router.ledger._ledger import Ledger

MAX_BATCH = 500  # rows per transaction: bounds how long one commit holds the write lock
JOURNAL_DELAY_S = 0.05  # journaled rows gathered this long into one background transaction
log = logging.getLogger("router")


Waiter = tuple["RequestRecord", "asyncio.Future[None] | None"]


@dataclass
class _Queue:
    """Rows waiting for the next batch on one event loop; `writing` while a batch is written,
    `timer` while journaled rows are being gathered."""

    pending: list[Waiter] = field(default_factory=list)
    writing: asyncio.Future[None] | None = None
    timer: asyncio.TimerHandle | None = None
    starting: asyncio.Handle | None = None  # the next batch starts on the loop's next turn


class GroupCommit:
    """Ledger writes batched across concurrent requests. Never raises."""

    def __init__(
        self, ledger: Ledger, *, journal: Journal | None = None, delay_s: float = JOURNAL_DELAY_S
    ) -> None:
        self.ledger = ledger
        self.journal = journal
        self._delay_s = delay_s
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def record(self, rec: RequestRecord) -> None:
        """Return once `rec` is acknowledged (journaled, or written in a batch)."""
        written = self.submit(rec)
        if written is not None:
            await written

    def submit(self, rec: RequestRecord) -> Awaitable[None] | None:
        """Queue `rec`. Journaled: the row is kept once this returns, and None is returned.
        Otherwise: what to await for the row; when no batch is being written, the write
        starts on a worker thread on the loop's next turn, so the caller can do other work
        meanwhile. Cancelling the awaitable (a plain future: no `shield` layer, one future
        and one callback less per row) does not stop the row from being written."""
        loop = asyncio.get_running_loop()
        queue = self._queue(loop)
        if self._journaled(rec):
            queue.pending.append((rec, None))
            self._schedule(loop, queue)
            return None
        done: asyncio.Future[None] = loop.create_future()
        queue.pending.append((rec, done))
        if queue.writing is None:
            self._cancel_timer(queue)
            self._start_soon(loop, queue)
        return done

    async def flush(self) -> None:
        """Wait until every row queued on the running loop is in the database (or outbox)."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        while queue is not None and (queue.pending or queue.writing is not None):
            if queue.writing is None:
                self._cancel_timer(queue)
                self._next_batch(loop, queue)
            if queue.writing is not None:
                await asyncio.wait([queue.writing])
                await asyncio.sleep(0)  # let the batch's done-callback run first

    def close(self) -> None:
        """Write what is still queued here and now (its loop may be gone), then release the
        journal. Call after the loops that submitted rows have finished."""
        for queue in list(self._queues.values()):
            self._cancel_timer(queue)
            self._cancel_start(queue)
            batch, queue.pending = queue.pending, []
            self._write(*_split(batch))
        if self.journal is not None:
            self.journal.close()

    # -- batches ---------------------------------------------------------------------------

    def _queue(self, loop: asyncio.AbstractEventLoop) -> _Queue:
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        return queue

    def _journaled(self, rec: RequestRecord) -> bool:
        """Append `rec` to the journal; False (write it awaited) when there is none or the
        disk refused it."""
        if self.journal is None:
            return False
        try:
            self.journal.append(rec)
        except OSError as exc:
            log.warning("ledger journal: append failed (%s); writing directly", exc.strerror)
            return False
        return True

    def _schedule(self, loop: asyncio.AbstractEventLoop, queue: _Queue) -> None:
        """Start the next batch after `delay_s`, unless one is written or already due."""
        if queue.writing is not None or queue.timer is not None:
            return
        if len(queue.pending) >= MAX_BATCH:
            self._next_batch(loop, queue)
            return
        queue.timer = loop.call_later(self._delay_s, self._due, loop, queue)

    def _due(self, loop: asyncio.AbstractEventLoop, queue: _Queue) -> None:
        queue.timer = None
        if queue.writing is None and queue.pending:
            self._next_batch(loop, queue)

    def _start_soon(self, loop: asyncio.AbstractEventLoop, queue: _Queue) -> None:
        """Start the next batch on the loop's next turn, with every row submitted until then."""
        if queue.starting is None:
            queue.starting = loop.call_soon(self._start, loop, queue)

    def _start(self, loop: asyncio.AbstractEventLoop, queue: _Queue) -> None:
        queue.starting = None
        if queue.writing is None and queue.pending:
            self._next_batch(loop, queue)

    @staticmethod
    def _cancel_start(queue: _Queue) -> None:
        if queue.starting is not None:
            queue.starting.cancel()
            queue.starting = None

    @staticmethod
    def _cancel_timer(queue: _Queue) -> None:
        if queue.timer is not None:
            queue.timer.cancel()
            queue.timer = None

    def _next_batch(self, loop: asyncio.AbstractEventLoop, queue: _Queue) -> None:
        batch = queue.pending[:MAX_BATCH]
        del queue.pending[:MAX_BATCH]
        records, journaled = _split(batch)
        try:
            writing = loop.run_in_executor(None, self._write, records, journaled)
        except RuntimeError:  # the loop's executor is shut down: write here rather than lose it
            self._write(records, journaled)
            _release(batch)
            if queue.pending:
                self._next_batch(loop, queue)
            return
        queue.writing = writing
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
        _release(batch)
        queue.writing = None
        if any(done is not None for _, done in queue.pending):
            # Someone is waiting: no gathering delay, but the callers just released come
            # back with their next rows before the next turn's batch starts.
            self._start_soon(loop, queue)
        elif queue.pending:
            self._schedule(loop, queue)

    def _write(self, records: Sequence[RequestRecord], journaled: int = 0) -> None:
        """On a worker thread: one transaction when the ledger can batch, else row by row.
        The `journaled` rows among them are settled once written (to the database, or else
        to the outbox)."""
        record_many = getattr(self.ledger, "record_many", None)
        if record_many is not None:
            _guarded(record_many, records)
        else:
            for rec in records:
                _guarded(self.ledger.record, rec)
        if journaled and self.journal is not None:
            self.journal.settled(journaled)


def _split(batch: list[Waiter]) -> tuple[list[RequestRecord], int]:
    """The batch's records, and how many of them were journaled (nobody awaits those)."""
    return [rec for rec, _ in batch], sum(done is None for _, done in batch)


def _release(batch: list[Waiter]) -> None:
    for _, done in batch:
        if done is not None and not done.done():
            done.set_result(None)


def _guarded(write: Callable[[Any], None], arg: object) -> None:
    try:
        write(arg)
    except Exception:  # the ledger promises not to raise; this is the belt to its braces
        log.exception("ledger write failed")
