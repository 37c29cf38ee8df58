"""Row 4, streamed: the retry budget and circuit breaker guard `astream()` as they guard
`acomplete()`.

The storm itself (100% HTTP 503, budget and breaker) runs streamed in test_04_retry_storm.py,
parametrised over `acomplete` and `astream`; this file covers what only streams have.
Retries happen only before the first delta reaches the caller: after it, a failure is
the backend's typed error, the attempt is recorded (possibly billed) and nothing is retried.
"""

from __future__ import annotations

import time

import pytest

from router.backends import ModelChunk, ModelRequest
from router.errors import (
    AllAttemptsFailedError,
    BackendUnavailableError,
    RouterError,
    ServerError,
)
from router.testing import Reply
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT, SHORT_PROMPT, make_router

# Slow: waits out real backoffs and a deadline (4 s); CI runs it (`-m slow`).
pytestmark = pytest.mark.slow

CONCURRENCY, WAVES, COOLDOWN_S, RATIO = 64, 3, 30.0, 0.2
ANSWER = "A long frontier answer that is cut off halfway through its stream. " * 20


async def _text(router, prompt: str) -> str:
    parts = [chunk.text async for chunk in router.astream(prompt)]
    return "".join(parts)


async def test_a_stream_that_failed_before_its_first_delta_is_retried(servers: Servers) -> None:
    _, openai, _ = servers
    openai.script(Reply(status=503), Reply(drop="before_headers"), Reply(text="third time"))
    router, ledger, clock = make_router(policy_for(servers))
    assert await _text(router, LONG_PROMPT) == "third time"
    await router.aclose()
    router.close()
    [rec] = ledger.records
    assert [(a.model, a.outcome, a.error_class) for a in rec.attempts] == [
        ("gpt-5.4", "error", "ServerError"),
        ("gpt-5.4", "error", "BackendUnavailableError"),
        ("gpt-5.4", "ok", None),
    ]
    assert len(clock.sleeps) == 2  # backed off twice, on the injected clock
    assert len(openai.requests) == 3


async def test_after_the_first_delta_a_failure_is_typed_recorded_and_not_retried(
    servers: Servers,
) -> None:
    _, openai, anthropic = servers
    openai.script(Reply(text=ANSWER, drop="mid_body"), Reply(text="never asked"))
    router, ledger, _ = make_router(policy_for(servers))
    received: list[str] = []
    with pytest.raises(BackendUnavailableError) as info:
        async for chunk in router.astream(LONG_PROMPT):
            received.append(chunk.text)
    await router.aclose()
    router.close()
    assert "".join(received) and ANSWER.startswith("".join(received))
    assert (info.value.model, info.value.provider) == ("gpt-5.4", "openai")
    assert len(openai.requests) == 1 and len(anthropic.requests) == 0  # no retry, no fallback
    [rec] = ledger.records
    assert rec.status == "error" and rec.error_class == "BackendUnavailableError"
    assert [(a.outcome, a.possibly_billed) for a in rec.attempts] == [("error", True)]


async def test_a_mid_stream_5xx_after_the_first_delta_is_possibly_billed(
    servers: Servers,
) -> None:
    """A frontier model that had started answering has billed the call, whatever broke next."""

    class HalfThen503:
        """A frontier backend whose stream breaks with a 503 after its first delta."""

        model, provider, tier = "gpt-5.4", "openai", "frontier"

        async def complete(self, request: ModelRequest):  # pragma: no cover - not called
            raise NotImplementedError

        async def stream(self, request: ModelRequest):
            yield ModelChunk(delta="Half an ")
            raise ServerError("openai:gpt-5.4 failed (HTTP 503)", model="gpt-5.4", status_code=503)

        async def aclose(self) -> None:
            return None

    router, ledger, _ = make_router(policy_for(servers), frontier=[HalfThen503()])
    with pytest.raises(ServerError):
        await _text(router, LONG_PROMPT)
    router.close()
    [rec] = ledger.records
    assert [(a.error_class, a.possibly_billed) for a in rec.attempts] == [("ServerError", True)]


async def test_a_held_local_stream_that_breaks_is_retried_whole(servers: Servers) -> None:
    """With verifiers on nothing of a local answer reaches the caller before it is checked, so a
    local stream that breaks midway may still be retried."""
    ollama, openai, _ = servers
    ollama.script(Reply(text="Paris is the capital " * 30, drop="mid_body"), Reply(text="Paris."))
    policy = policy_for(servers).model_copy(update={"verify": {"structural": {}}})
    router, ledger, _ = make_router(policy)
    assert await _text(router, SHORT_PROMPT) == "Paris."
    await router.aclose()
    router.close()
    assert len(ollama.requests) == 2 and len(openai.requests) == 0
    outcomes = [(a.tier, a.outcome) for a in ledger.records[0].attempts]
    assert outcomes == [("local", "error"), ("local", "ok")]


async def test_a_streamed_probe_that_fails_reopens_the_breaker(servers: Servers) -> None:
    _, openai, anthropic = servers
    openai.responder = lambda _req: Reply(status=503)
    anthropic.responder = lambda _req: Reply(text="from claude")
    policy = policy_for(
        servers, retries={"max_attempts": 1, "breaker_failures": 2, "breaker_cooldown_s": 10}
    )
    router, _, clock = make_router(policy)
    for _ in range(2):
        assert await _text(router, LONG_PROMPT) == "from claude"
    assert len(openai.requests) == 2  # two failures: open
    assert await _text(router, LONG_PROMPT) == "from claude"
    assert len(openai.requests) == 2  # skipped while open
    await clock.sleep(10)
    assert await _text(router, LONG_PROMPT) == "from claude"
    assert len(openai.requests) == 3  # the probe went out, failed: open again
    assert await _text(router, LONG_PROMPT) == "from claude"
    assert len(openai.requests) == 3
    await router.aclose()
    router.close()


def test_the_sync_stream_api_is_guarded_too(servers: Servers) -> None:
    _, openai, anthropic = servers
    for server in (openai, anthropic):
        server.responder = lambda _req: Reply(status=503)
    policy = policy_for(servers, retries={"breaker_failures": 3, "breaker_cooldown_s": 60})
    router, _, _ = make_router(policy)
    for _ in range(4):
        with pytest.raises(RouterError):
            list(router.stream(LONG_PROMPT))
    calls = len(openai.requests) + len(anthropic.requests)
    router.close()
    assert calls <= 2 * 3  # each model: at most breaker_failures calls before it opens


async def test_a_streamed_request_past_its_deadline_fails_as_complete_does(
    servers: Servers,
) -> None:
    """A hanging local model: the stream ends, within the deadline, with the same typed error
    (`AllAttemptsFailedError` naming the timeout) and ledger row as `complete()`."""
    ollama = servers[0]
    ollama.script(Reply(text="warm"), Reply(hang=True), Reply(hang=True))
    policy = policy_for(
        servers,
        local={"read_timeout_s": 60.0},
        routing={"escalate_when_local_down": False},
        retries={"deadline_s": 1.5},
    )
    router, ledger, _ = make_router(policy)
    assert await _text(router, SHORT_PROMPT) == "warm"
    failures = []
    for call in (router.acomplete(SHORT_PROMPT), _text(router, SHORT_PROMPT)):
        started = time.monotonic()
        with pytest.raises(AllAttemptsFailedError) as info:
            await call
        assert time.monotonic() - started < 1.5 + 1.0
        failures.append([type(a.error).__name__ for a in info.value.attempts])
    await router.aclose()
    router.close()
    assert failures[0] == failures[1] and "BackendTimeoutError" in failures[0]
    rows = [[(a.outcome, a.error_class) for a in r.attempts] for r in ledger.records[1:]]
    assert rows[0] == rows[1] and [r.status for r in ledger.records] == ["ok", "error", "error"]
