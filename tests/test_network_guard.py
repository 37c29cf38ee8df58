"""router.testing.network_guard(): only loopback hosts can be looked up or connected to.

The guard wraps whatever `socket` functions are in place when it starts. `fake_network`
replaces them first with stand-ins that refuse every non-loopback host themselves, so a broken
guard makes these tests fail without a single packet leaving the machine.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable
from typing import Any

import httpx
import ollama
import pytest

from router.testing import (
    NetworkBlockedError,
    NetworkGuard,
    OllamaServer,
    Reply,
    network_guard,
)
from router.testing._guard import is_loopback

pytest_plugins = ["pytester"]

PUBLIC_IP = "203.0.113.7"  # TEST-NET-3: never routed, and never reached here anyway


class ReachedNetwork(AssertionError):
    """A call got past the guard to the (stand-in) network."""


def _local(host: object) -> bool:
    # Deliberately independent of the guard's own `is_loopback`.
    name = host.decode() if isinstance(host, bytes) else str(host)
    return name in ("localhost", "::1") or name.startswith("127.")


@pytest.fixture
def fake_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stand-ins under the guard: loopback goes to the real functions, anything else is refused."""
    reached: list[str] = []

    def gate(real: Callable[..., Any], host_of: Callable[..., object], name: str) -> Any:
        def fake(*args: Any, **kwargs: Any) -> Any:
            host = host_of(*args)
            if host is not None and not _local(host):
                reached.append(str(host))
                raise ReachedNetwork(f"{host} reached the network layer")
            return real(*args, **kwargs)

        fake.__name__ = name
        return fake

    for func in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        monkeypatch.setattr(
            socket, func, gate(getattr(socket, func), lambda h, *_: h, f"fake_{func}")
        )
    monkeypatch.setattr(
        socket,
        "create_connection",
        gate(socket.create_connection, lambda a, *_: a[0], "fake_create_connection"),
    )
    for method in ("connect", "connect_ex"):
        real = getattr(socket.socket, method)
        host_of = lambda s, a: a[0] if isinstance(a, tuple) else None  # noqa: E731
        monkeypatch.setattr(socket.socket, method, gate(real, host_of, f"fake_{method}"))
    return reached


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "[::1]",
        "localhost",
        "LOCALHOST",
        "::ffff:127.0.0.1",
        "svc.localhost",
    ],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [
        "8.8.8.8",
        "10.0.0.1",
        "192.168.1.1",
        "0.0.0.0",
        "::",
        "2001:db8::1",
        "example.com",
        "api.openai.com",
        "127.0.0.1.nip.io",
        "localhost.example.com",
    ],
)
def test_non_loopback_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_blocks_connect_to_a_public_address(fake_network: list[str]) -> None:
    with network_guard() as guard, socket.socket() as sock:
        with pytest.raises(NetworkBlockedError, match=re.escape(PUBLIC_IP)) as info:
            sock.connect((PUBLIC_IP, 443))
        with pytest.raises(NetworkBlockedError, match=re.escape(PUBLIC_IP)):
            sock.connect_ex((PUBLIC_IP, 443))
        with pytest.raises(NetworkBlockedError, match=re.escape(PUBLIC_IP)):
            socket.create_connection((PUBLIC_IP, 443), timeout=1)
    assert info.value.host == PUBLIC_IP
    assert not isinstance(info.value, OSError)  # clients must not retry it as a connect error
    assert guard.blocked == [PUBLIC_IP] * 3
    assert fake_network == []


def test_blocks_dns_lookups_and_counts_them(fake_network: list[str]) -> None:
    with network_guard() as guard:
        with pytest.raises(NetworkBlockedError, match=re.escape("api.openai.com")):
            socket.getaddrinfo("api.openai.com", 443)
        with pytest.raises(NetworkBlockedError, match=re.escape("api.openai.com")):
            socket.gethostbyname("api.openai.com")
        with pytest.raises(NetworkBlockedError, match=re.escape("example.com")):
            socket.create_connection(("example.com", 80), timeout=1)
        with (
            socket.socket() as sock,
            pytest.raises(NetworkBlockedError, match=re.escape("example.org")),
        ):
            sock.connect(("example.org", 80))  # connect() resolves names by itself
        socket.getaddrinfo("localhost", 80)
    assert guard.lookups == {"api.openai.com": 2, "example.org": 1, "localhost": 1}
    assert set(guard.lookups) - {"localhost", "127.0.0.1"} == {"api.openai.com", "example.org"}
    assert fake_network == []


async def test_blocks_asyncio_and_http_clients(fake_network: list[str]) -> None:
    with network_guard() as guard:
        with pytest.raises(NetworkBlockedError, match=re.escape(PUBLIC_IP)):
            await asyncio.open_connection(PUBLIC_IP, 443)
        with pytest.raises(NetworkBlockedError, match=re.escape("api.anthropic.com")):
            await asyncio.open_connection("api.anthropic.com", 443)
        with pytest.raises(NetworkBlockedError, match=re.escape("api.openai.com")):
            httpx.get("https://api.openai.com/v1/models")
        async with httpx.AsyncClient() as client:
            with pytest.raises(NetworkBlockedError, match=re.escape("ollama.com")):
                await client.get("https://ollama.com/api/tags")
    assert set(guard.blocked) == {PUBLIC_IP, "api.anthropic.com", "api.openai.com", "ollama.com"}
    assert fake_network == []


async def test_allows_loopback(fake_network: list[str]) -> None:
    with network_guard() as guard, OllamaServer() as server:
        server.script(Reply(text="local answer"))
        async with ollama.AsyncClient(host=server.url) as client:
            response = await client.chat("qwen3.5:9b", [{"role": "user", "content": "hi"}])
        port = int(server.url.rsplit(":", 1)[1])
        assert httpx.get(f"http://localhost:{port}/").text == "Ollama is running"
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        await writer.wait_closed()
        with socket.create_connection(("localhost", port), timeout=1):
            pass
    assert response.message.content == "local answer"
    assert guard.blocked == []
    assert guard.lookups and set(guard.lookups) <= {"127.0.0.1", "localhost"}
    assert fake_network == []


def test_allow_list_lets_named_hosts_through(fake_network: list[str]) -> None:
    with network_guard(allow=["db.test"]) as guard:
        with pytest.raises(ReachedNetwork):
            socket.getaddrinfo("db.test", 5432)  # past the guard, stopped by the stand-in
        with pytest.raises(NetworkBlockedError):
            socket.getaddrinfo("other.test", 5432)
    assert guard.blocked == ["other.test"]
    assert fake_network == ["db.test"]


def test_restores_socket_functions_even_after_an_error() -> None:
    before = (socket.getaddrinfo, socket.create_connection, socket.socket.connect)
    with pytest.raises(KeyError), NetworkGuard():
        assert socket.getaddrinfo is not before[0]
        raise KeyError("boom")
    assert (socket.getaddrinfo, socket.create_connection, socket.socket.connect) == before


def test_guards_nest() -> None:
    before = socket.getaddrinfo
    with NetworkGuard() as outer, NetworkGuard() as inner:
        socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo is before
    assert outer.lookups == inner.lookups == {"localhost": 1}


def test_network_guard_fixture(network_guard: NetworkGuard) -> None:
    socket.getaddrinfo("localhost", 80)
    assert network_guard.lookups == {"localhost": 1}
    with pytest.raises(NetworkBlockedError):
        network_guard.check("example.com", "test of")
    network_guard.blocked.clear()  # else the fixture fails this test, as it should


INNER_ARGS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")  # hypothesis: 3 s to import
INNER_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
INNER_TESTS = """
import socket
import pytest

def test_swallows_a_blocked_lookup():
    try:
        socket.getaddrinfo("api.openai.com", 443)
    except Exception:
        pass

@pytest.mark.allow_network
def test_exempt():
    assert socket.getaddrinfo.__name__ == "fake_getaddrinfo"
"""


def test_ini_option_guards_every_test(pytester: pytest.Pytester, fake_network: list[str]) -> None:
    pytester.makeini(INNER_INI + "router_network_guard = true\n")
    pytester.makepyfile(INNER_TESTS)
    result = pytester.runpytest_inprocess(*INNER_ARGS)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*network guard blocked: api.openai.com*"])
    assert fake_network == []


def test_guard_is_off_without_the_ini_option(
    pytester: pytest.Pytester, fake_network: list[str]
) -> None:
    pytester.makeini(INNER_INI)
    pytester.makepyfile(INNER_TESTS)
    result = pytester.runpytest_inprocess(*INNER_ARGS)
    result.assert_outcomes(passed=2)
    assert fake_network == ["api.openai.com"]  # the stand-in refused it: nothing left the machine
