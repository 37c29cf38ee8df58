"""Cold start is not billed to a model's latency: what is slow the first time (litellm's import,
tiktoken's tables, Ollama's client) loads before an attempt is timed, and `Router.warm_up()`
loads it before the first request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from router import Router
from router._fakes import FakeClock, MemoryLedger
from router.backends import ModelChunk, ModelRequest, ModelResponse
from router.policy import Policy, Routing
from tests.support import LONG_PROMPT, SHORT_PROMPT

ROOT = Path(__file__).resolve().parent.parent
START_S, CALL_S = 5.0, 0.05


class SlowToStart:
    """A backend whose first use loads something slow (as LiteLLMBackend imports litellm), on a
    fake clock: the one-time load takes START_S, every call CALL_S."""

    __test__ = False

    def __init__(self, clock: FakeClock, model: str, tier: str) -> None:
        self.clock, self._model, self._tier = clock, model, tier
        self.loads = 0

    model = property(lambda self: self._model)
    provider = property(lambda self: "fake")
    tier = property(lambda self: self._tier)

    async def warm_up(self) -> None:
        if not self.loads:
            self.loads += 1
            await self.clock.sleep(START_S)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        await self.warm_up()  # lazily, as the real backends do when nobody warmed them
        await self.clock.sleep(CALL_S)
        return ModelResponse("answer.", self._model, 10, 5, "stop")

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]:
        final = await self.complete(request)
        yield ModelChunk(delta=final.text)
        yield ModelChunk(final=final)

    async def aclose(self) -> None:
        pass


def _router():
    clock = FakeClock()
    local = SlowToStart(clock, "qwen3.5:9b", "local")
    frontier = SlowToStart(clock, "gpt-5.4", "frontier")
    policy = Policy(routing=Routing(rule="token-count", token_count_threshold=50))
    seams = {"clock": clock, "ledger": MemoryLedger(), "classifier": None}
    router = Router(policy, local=local, frontier=[frontier], **seams)
    return router, local, frontier


def test_the_first_attempt_times_the_call_not_the_load():
    router, _, frontier = _router()
    res = router.complete(LONG_PROMPT)
    router.close()
    (attempt,) = res.attempts
    assert attempt.model == "gpt-5.4" and frontier.loads == 1
    assert attempt.latency_ms < 1000  # the call (50 ms), not the 5 s load before it
    assert res.latency_ms >= START_S * 1000  # the request itself did wait for the load


def test_a_first_stream_times_the_call_not_the_load():
    router, _, _ = _router()
    chunks = list(router.stream(LONG_PROMPT))
    router.close()
    (attempt,) = chunks[-1].completion.attempts
    assert attempt.latency_ms < 1000


def test_warm_up_loads_every_backend_before_the_first_request():
    router, local, frontier = _router()
    router.warm_up()
    assert (local.loads, frontier.loads) == (1, 1)
    first = router.complete(SHORT_PROMPT)
    router.close()
    assert first.tier == "local" and first.latency_ms < 1000


async def test_awarm_up_is_the_async_twin():
    router, local, frontier = _router()
    await router.awarm_up()
    res = await router.acomplete(LONG_PROMPT)
    await router.aclose()
    router.close()
    assert (local.loads, frontier.loads) == (1, 1) and res.latency_ms < 1000


FIRST_REQUEST = """
import json, sys
from router import Router, load_policy
from router.demo import simulated_models
from router.testing import load_demo_workload

workload = load_demo_workload()[:40]
with simulated_models(workload) as models:
    with Router(models.wire(load_policy("default")), ledger=None) as router:
        if sys.argv[1] == "warm":
            router.warm_up()
        res = next(r for r in map(router.complete, (w.prompt for w in workload))
                   if r.tier == "frontier")
print(json.dumps({"request_ms": res.latency_ms, "attempt_ms": res.attempts[-1].latency_ms}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_the_real_first_frontier_attempt_excludes_litellms_import(tmp_path, mode):
    """In a fresh process against the loopback servers: litellm's import (seconds) is not in the
    first frontier attempt's latency; after warm_up() it is not in the request's either."""
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST, mode],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=240,
        check=True,
    )
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["attempt_ms"] < 1500, figures
    if mode == "warm":
        assert figures["request_ms"] < 1500, figures
