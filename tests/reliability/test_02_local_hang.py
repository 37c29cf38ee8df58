"""Row 2: the local model accepts the connection and never answers.

Figure: time to a typed error, within the request's deadline; threads and asyncio tasks left
behind afterwards: 0.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from router.errors import AllAttemptsFailedError, BackendTimeoutError
from router.testing import Reply
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import SHORT_PROMPT, make_router

# Slow: waits out hung backends until their deadlines (4 s); CI runs it (`-m slow`).
pytestmark = pytest.mark.slow

DEADLINE_S = 1.5


def _hanging_policy(servers: Servers):  # type: ignore[no-untyped-def]
    """A warm-up answer (first use loads the tokenizer and clients), then hangs only."""
    ollama = servers[0]
    ollama.script(Reply(text="warm"), *[Reply(hang=True)] * 10)
    return policy_for(
        servers,
        local={"read_timeout_s": 60.0},  # the deadline, not the read timeout, must end it
        routing={"escalate_when_local_down": False},
        retries={"deadline_s": DEADLINE_S},
    )


def _router_threads() -> set[threading.Thread]:
    """Live threads, except the fake servers' own (a hanging handler waits for `stop()`)."""
    return {t for t in threading.enumerate() if not t.name.startswith("router.testing")}


def _leaked(before: set[threading.Thread], grace_s: float = 2.0) -> list[str]:
    """Threads started since `before` still alive after `grace_s` (executors exit lazily)."""
    ends = time.monotonic() + grace_s
    for thread in _router_threads() - before:
        thread.join(max(0.0, ends - time.monotonic()))
    return sorted(t.name for t in _router_threads() - before if t.is_alive())


def test_sync_hang_fails_typed_within_the_deadline_and_leaks_no_thread(servers: Servers) -> None:
    before = _router_threads()
    router, ledger, _ = make_router(_hanging_policy(servers))
    assert router.complete(SHORT_PROMPT).text == "warm"
    started = time.monotonic()
    with pytest.raises(AllAttemptsFailedError) as info:
        router.complete(SHORT_PROMPT)
    took = time.monotonic() - started
    router.close()
    leaked = _leaked(before)

    assert any(isinstance(a.error, BackendTimeoutError) for a in info.value.attempts)
    assert [r.status for r in ledger.records] == ["ok", "error"]
    ok = took <= DEADLINE_S + 0.5 and not leaked
    record(
        2,
        "local hang, sync: time to typed error",
        f"{took:.2f} s",
        f"deadline {DEADLINE_S} s (+0.5 s grace)",
        ok,
    )
    record(2, "local hang, sync: leaked threads", str(len(leaked)), "0", not leaked)
    assert ok, (took, leaked)


async def test_async_hang_fails_typed_within_the_deadline_and_leaks_no_task(
    servers: Servers,
) -> None:
    router, _, _ = make_router(_hanging_policy(servers))
    assert (await router.acomplete(SHORT_PROMPT)).text == "warm"
    tasks_before = asyncio.all_tasks()
    started = time.monotonic()
    with pytest.raises(AllAttemptsFailedError):
        await router.acomplete(SHORT_PROMPT)
    took = time.monotonic() - started
    await router.aclose()
    router.close()
    await asyncio.sleep(0)  # let cancelled callbacks run before counting
    leaked = [t for t in asyncio.all_tasks() - tasks_before if not t.done()]

    ok = took <= DEADLINE_S + 0.5 and not leaked
    record(
        2,
        "local hang, async: time to typed error",
        f"{took:.2f} s",
        f"deadline {DEADLINE_S} s (+0.5 s grace)",
        ok,
    )
    record(2, "local hang, async: leaked asyncio tasks", str(len(leaked)), "0", not leaked)
    assert ok, (took, leaked)
