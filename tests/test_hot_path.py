"""The request path's hidden per-request costs stay gone (see docs/performance.md)."""

from __future__ import annotations

from router import Router
from router._fakes import MemoryLedger
from router.testing import AnthropicServer, OllamaServer, OpenAIServer
from tests.support import LONG_PROMPT, loopback_policy


def _open_connections(server: OpenAIServer) -> int:
    httpd = server._httpd
    assert httpd is not None
    with httpd._lock:
        return len(httpd._open)


def test_frontier_calls_reuse_one_connection_whatever_the_deadline_left() -> None:
    """litellm keys its HTTP client cache on the `timeout` it is given. Passing each request's
    remaining deadline built a new client, and a new connection, for every call (about a third
    of the router's added latency); the timeout passed must not vary per request."""
    with (
        OllamaServer() as ollama,
        OpenAIServer(keep_alive=True) as openai,
        AnthropicServer() as anthropic,
    ):
        # the real clock: every request starts with a slightly different deadline left
        router = Router(loopback_policy(ollama, openai, anthropic), ledger=MemoryLedger())
        try:
            for _ in range(4):
                assert router.complete(LONG_PROMPT).tier == "frontier"
            assert len(openai.requests) == 4
            assert _open_connections(openai) == 1
        finally:
            router.close()
