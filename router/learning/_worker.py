"""Per event loop: the learning tasks (bounded) and the row writer (batched, off the loop).

`Worker.submit` starts a task unless `max_pending` are already running (then the work is dropped
and counted: learning never queues without bound). `Writer` gathers rows for `delay_s` (0.2 s by
default: a commit, a thread hand-off and a statement per table cost the same for one row or a
hundred) and writes them on a worker thread, one transaction and one executemany per table per
batch; `flush()` writes what is queued at once and waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from router.learning._store import Batch, LearningStore, Row

if TYPE_CHECKING:
    from router.learning._loop import LearningStats

log = logging.getLogger("router")


class Worker:
    """The learning tasks and the row writer of one event loop."""

    def __init__(self, writer: Writer, max_pending: int, max_calls: int) -> None:
        self.writer = writer
        self.calls = asyncio.Semaphore(max_calls)
        self.tasks: set[asyncio.Task[None]] = set()
        self._max_pending = max_pending

    def submit(self, work: Any, stats: LearningStats) -> None:
        if len(self.tasks) >= self._max_pending:
            work.close()
            stats.dropped += 1
            if stats.dropped in (1, 10, 100) or stats.dropped % 1000 == 0:
                log.warning("learning: %d request(s) dropped: the queue is full", stats.dropped)
            return
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, timeout_s: float) -> None:
        if self.tasks:
            _done, late = await asyncio.wait(set(self.tasks), timeout=timeout_s)
            for task in late:
                task.cancel()
            if late:
                log.warning("learning: %d comparison(s) cancelled at close", len(late))
                await asyncio.wait(late)
        await self.writer.flush()


class Writer:
    """Batches rows and writes them on a worker thread, one transaction per batch."""

    def __init__(
        self, store: LearningStore, prepare: Callable[[Batch], Batch], delay_s: float
    ) -> None:
        self._store = store
        self._prepare = prepare
        self._delay_s = delay_s
        self._pending = Batch()
        self._task: asyncio.Task[None] | None = None
        self._hurry: asyncio.Future[None] | None = None  # set while gathering: flush wakes it
        self._flushing = 0  # flush() calls waiting: no gathering delay meanwhile

    def add(self, rows: Batch) -> None:
        self._pending.requests.extend(rows.requests)
        self._pending.labels.extend(rows.labels)
        self._pending.attempts.extend(rows.attempts)
        self._start()

    def add_request(self, row: Row) -> None:
        """`add(Batch(requests=[row]))` without the batch: the one call every kept request makes."""
        self._pending.requests.append(row)
        self._start()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def flush(self) -> None:
        """Write what is queued now (without waiting out the gathering delay)."""
        self._flushing += 1
        try:
            while self._task is not None and not self._task.done():
                _wake(self._hurry)
                await asyncio.shield(self._task)
        finally:
            self._flushing -= 1

    async def _run(self) -> None:
        while self._pending:
            await self._gather()
            batch, self._pending = self._pending, Batch()
            try:
                await asyncio.to_thread(self._write, batch)
            except Exception as exc:
                log.warning(
                    "learning: %d row(s) not stored (%s: %s)",
                    len(batch.requests) + len(batch.labels) + len(batch.attempts),
                    type(exc).__name__,
                    exc,
                )

    async def _gather(self) -> None:
        """Let rows finishing together share a batch: wait `delay_s`, or until `flush`."""
        if self._flushing:
            return
        loop = asyncio.get_running_loop()
        self._hurry = hurry = loop.create_future()
        timer = loop.call_later(self._delay_s, _wake, hurry)
        try:
            await hurry
        finally:
            timer.cancel()
            self._hurry = None

    def _write(self, batch: Batch) -> None:
        self._store.write(self._prepare(batch))


def _wake(hurry: asyncio.Future[None] | None) -> None:
    if hurry is not None and not hurry.done():
        hurry.set_result(None)
