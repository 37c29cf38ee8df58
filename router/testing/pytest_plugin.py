"""pytest plugin (entry point `router_testing`): loopback model servers and a network guard.

Fixtures: `ollama_server`, `openai_server`, `anthropic_server` (started for one test, stopped
after it) and `network_guard` (blocks non-loopback connections and DNS lookups during the test,
and fails it if anything was blocked, even where a library swallowed the error).

To guard every test, set `router_network_guard = true` in the pytest ini options, or add an
autouse fixture in your conftest.py that requests `network_guard`. Mark a test
`@pytest.mark.allow_network` to exempt it from the ini-wide guard.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from router.testing._anthropic import AnthropicServer
from router.testing._guard import NetworkGuard
from router.testing._ollama import OllamaServer
from router.testing._openai import OpenAIServer

_INI = "router_network_guard"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _INI,
        "Block non-loopback connections and DNS lookups in every test (router.testing).",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_network: exempt a test from the router_network_guard ini option"
    )


def _guarded() -> Iterator[NetworkGuard]:
    with NetworkGuard() as guard:
        yield guard
    if guard.blocked:
        pytest.fail(f"network guard blocked: {', '.join(sorted(set(guard.blocked)))}")


@pytest.fixture
def network_guard() -> Iterator[NetworkGuard]:
    """Only loopback hosts can be reached; `guard.lookups` counts DNS lookups by host."""
    yield from _guarded()


@pytest.fixture(autouse=True)
def _router_network_guard_ini(request: pytest.FixtureRequest) -> Iterator[None]:
    if not request.config.getini(_INI) or request.node.get_closest_marker("allow_network"):
        yield
        return
    for _guard in _guarded():
        yield


@pytest.fixture
def ollama_server() -> Iterator[OllamaServer]:
    """A running `OllamaServer` serving `qwen3.5:9b`."""
    with OllamaServer() as server:
        yield server


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A running `OpenAIServer` that requires the key `sk-test`."""
    with OpenAIServer(api_key="sk-test") as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[AnthropicServer]:
    """A running `AnthropicServer` that requires the key `sk-ant-test`."""
    with AnthropicServer(api_key="sk-ant-test") as server:
        yield server
