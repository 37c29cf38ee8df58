"""A library never writes to its host's stdout or stderr: litellm's "Give Feedback / Get Help"
banner (printed on every failed call) is kept out, and only litellm's writes are dropped."""

from __future__ import annotations

import asyncio
import sys

import pytest

from router._offline import litellm
from router.backends import LiteLLMBackend, ModelRequest
from router.errors import RouterError
from router.testing import OpenAIServer, Reply, Usage
from tests.support import LONG_PROMPT, loopback_policy, make_router

REQUEST = ModelRequest(messages=({"role": "user", "content": "hello there"},), timeout_s=5)


async def _fail_once(backend: LiteLLMBackend, *, stream: bool) -> None:
    with pytest.raises(RouterError):
        if stream:
            async for _ in backend.stream(REQUEST):
                pass
        else:
            await backend.complete(REQUEST)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("reply", [Reply(status=500), Reply(status=400), Reply(status=401)])
async def test_a_failing_frontier_call_prints_nothing(capfd, reply, stream):
    with OpenAIServer(api_key="sk-test") as server:
        server.script(reply)
        backend = LiteLLMBackend("gpt-5.4", api_base=server.url + "/v1", api_key="sk-test")
        await _fail_once(backend, stream=stream)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert litellm().suppress_debug_info is False  # litellm's own switch is left alone


async def test_an_unknown_provider_prints_nothing(capfd):
    backend = LiteLLMBackend("nosuchprovider-model-x", api_base="http://127.0.0.1:9", api_key="k")
    await _fail_once(backend, stream=False)
    assert capfd.readouterr() == ("", "")


def test_a_failing_request_through_the_router_prints_nothing(capfd):
    with OpenAIServer() as openai, OpenAIServer() as other:
        policy = loopback_policy("http://127.0.0.1:9", openai, other)
        openai.script(*[Reply(status=503)] * 3)
        router, _, _ = make_router(policy)
        with pytest.raises(RouterError):
            router.complete(LONG_PROMPT)
        router.close()
    assert capfd.readouterr() == ("", "")


async def test_the_hosts_own_prints_during_a_call_still_arrive(capsys):
    """Only writes made inside the litellm call are dropped, not the application's."""
    original = sys.stdout
    with OpenAIServer(api_key="sk-test") as server:
        server.script(Reply(status=500, latency=0.3))
        backend = LiteLLMBackend("gpt-5.4", api_base=server.url + "/v1", api_key="sk-test")

        async def host_prints() -> None:
            await asyncio.sleep(0.1)  # while the call is in flight
            print("the application's own line")

        await asyncio.gather(_fail_once(backend, stream=False), host_prints())
    assert capsys.readouterr().out == "the application's own line\n"
    assert sys.stdout is original  # put back once no call is in flight


async def test_a_successful_call_prints_nothing_and_leaves_stdout_alone(capsys):
    original = sys.stdout
    with OpenAIServer(api_key="sk-test") as server:
        server.script(Reply(text="hi", usage=Usage(3, 1)))
        backend = LiteLLMBackend("gpt-5.4", api_base=server.url + "/v1", api_key="sk-test")
        res = await backend.complete(REQUEST)
    assert res.text == "hi" and sys.stdout is original
    assert capsys.readouterr() == ("", "")
