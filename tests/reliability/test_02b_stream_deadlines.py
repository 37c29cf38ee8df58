"""Row 2, continued: a stream is bounded by its deadline, and a stall between chunks too.

Once the first chunk arrived, a stream outlived its deadline: a frontier stream with a 1.5 s
deadline ran 20.4 s, a local stream stalling 8 s between chunks with a 3 s deadline ran 24 s.
The backends held one timeout open across their `yield`s, armed on the task that started the
stream; the sync `stream()` runs each step in a task of its own, so it never fired. Now each
wait for a chunk is bounded by what is left of the deadline and by the model's read timeout.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from router.errors import BackendTimeoutError, RouterError
from router.testing import Reply
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT, SHORT_PROMPT, make_router

pytestmark = [
    pytest.mark.slow,  # each waits out a real deadline or stall of a second or two
    pytest.mark.filterwarnings("ignore:Unclosed client session:ResourceWarning"),
]
DEADLINE_S, SLACK_S = 2.0, 1.0
TEXT = " ".join(f"word{i}" for i in range(20))


def _timed(router: Any, prompt: str) -> tuple[float, BaseException | None, int]:
    started, error, received = time.monotonic(), None, 0
    try:
        for chunk in router.stream(prompt):
            received += len(chunk.text)
    except RouterError as exc:
        error = exc
    return time.monotonic() - started, error, received


@pytest.mark.parametrize("tier", ["frontier", "local"])
def test_a_stream_ends_at_its_deadline(servers: Servers, tier: str) -> None:
    ollama, openai, _ = servers
    server, prompt, delay = (
        (openai, LONG_PROMPT, 0.3)
        if tier == "frontier"
        else (
            ollama,
            SHORT_PROMPT,
            8.0,
        )
    )
    server.script(Reply(text="warm"), Reply(text=TEXT, chunk_delay=delay))
    warming, _, _ = make_router(policy_for(servers))  # first use imports and connects: slow
    assert "".join(c.text for c in warming.stream(prompt)) == "warm"
    warming.close()
    router, _, _ = make_router(
        policy_for(servers, retries={"deadline_s": DEADLINE_S}, local={"read_timeout_s": 60.0})
    )
    took, error, received = _timed(router, prompt)
    router.close()
    ok = isinstance(error, BackendTimeoutError) and took <= DEADLINE_S + SLACK_S
    record(
        2,
        f"{tier} stream with a {DEADLINE_S:g} s deadline, chunks every {delay:g} s",
        f"{type(error).__name__} after {took:.2f} s ({received} characters delivered)",
        f"typed error within the deadline (+{SLACK_S:g} s)",
        ok,
    )
    assert ok


async def test_a_stall_between_chunks_is_bounded_by_the_read_timeout(servers: Servers) -> None:
    ollama, _, _ = servers
    ollama.script(Reply(text="warm"), Reply(text=TEXT, chunk_delay=5.0))
    router, _, _ = make_router(
        policy_for(servers, retries={"deadline_s": 60.0}, local={"read_timeout_s": 1.0})
    )
    assert "".join([c.text async for c in router.astream(SHORT_PROMPT)]) == "warm"
    started = time.monotonic()
    with pytest.raises(RouterError) as info:
        _ = [c async for c in router.astream(SHORT_PROMPT)]
    took = time.monotonic() - started
    await router.aclose()
    router.close()
    ok = took <= 1.0 + SLACK_S and "did not answer in time" in str(info.value)
    record(
        2,
        "local stream stalling 5 s, read timeout 1 s, deadline 60 s",
        f"{type(info.value).__name__} after {took:.2f} s",
        f"typed error at the read timeout (+{SLACK_S:g} s)",
        ok,
    )
    assert ok
