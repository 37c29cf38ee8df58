"""Time bounds for a streamed answer: the whole stream, and each wait between chunks.

A timeout context held open across the `yield`s of an async generator does not bound a stream:
the router's sync `stream()` (and any caller that steps a generator from several tasks) runs
each step in a task of its own, so the timeout is armed on a task that has moved on and never
fires. Here every wait gets its own timeout, entered and left within one step: the remaining
share of `total_s` (the request's deadline), and at most `stall_s` (the model's read timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def bounded(
    opening: Callable[[], Awaitable[AsyncIterator[T]]], *, total_s: float, stall_s: float
) -> AsyncIterator[T]:
    """The items of the stream `opening()` starts, raising `TimeoutError` once `total_s` have
    passed since the start or `stall_s` since the last item (or the start)."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + total_s

    def wait() -> float:
        return max(0.0, min(stall_s, ends - loop.time()))

    async with asyncio.timeout(wait()):
        items = await opening()
    try:
        while True:
            async with asyncio.timeout(wait()):
                try:
                    item = await anext(items)
                except StopAsyncIteration:
                    return
            yield item
    finally:
        close = getattr(items, "aclose", None)
        if close is not None:
            await close()
