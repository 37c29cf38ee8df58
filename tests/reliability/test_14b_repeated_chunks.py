"""Row 14, continued: litellm ends a stream after about 100 identical chunks.

litellm's loop guard stops a stream whose model repeats the same chunk 100 times; we reported
it as `BackendUnavailableError` "check network access", which sends the reader to the wrong
place. It is now `RepetitiveOutputError`, saying what happened; the attempt is possibly billed
(the model had generated those tokens), and the next model is tried when nothing had reached
the caller yet.
"""

from __future__ import annotations

import pytest

from router.backends import LiteLLMBackend, ModelRequest
from router.errors import RepetitiveOutputError
from router.testing import Reply
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT, OPENAI_KEY, make_router

pytestmark = pytest.mark.filterwarnings("ignore:Unclosed client session:ResourceWarning")
LOOPING = "again " * 150  # 150 identical chunks after the first


async def test_a_looping_stream_says_what_happened(servers: Servers) -> None:
    _, openai, _ = servers
    openai.script(Reply(text=LOOPING))
    backend = LiteLLMBackend("gpt-5.4", api_base=openai.url + "/v1", api_key=OPENAI_KEY)
    request = ModelRequest(messages=({"role": "user", "content": "hi"},), timeout_s=10)
    chunks = 0
    with pytest.raises(RepetitiveOutputError) as info:
        async for _ in backend.stream(request):
            chunks += 1
    message = str(info.value)
    ok = "same chunk" in message and "network" not in message and "again" not in message
    record(
        14,
        "litellm stops a stream after 100 identical chunks",
        f"{type(info.value).__name__} after {chunks} chunks",
        "a distinct error saying the model was looping",
        ok,
    )
    assert ok


def test_a_looping_stream_is_recorded_as_possibly_billed(servers: Servers) -> None:
    _, openai, anthropic = servers
    openai.script(Reply(text=LOOPING))
    router, ledger, _ = make_router(policy_for(servers))
    with pytest.raises(RepetitiveOutputError):
        "".join(chunk.text for chunk in router.stream(LONG_PROMPT))
    router.close()
    [attempt] = ledger.records[0].attempts
    assert attempt.error_class == "RepetitiveOutputError" and attempt.possibly_billed
    assert len(anthropic.requests) == 0  # text had reached the caller: no fallback mid-answer
