"""Row 5, timeouts: a frontier call that times out after the request was sent may be billed.

The loopback server receives the request and answers only after the deadline. Figure: the
timed-out attempt is recorded as `BackendTimeoutError` with `possibly_billed` set (finance sees
it in the ledger), and the budget counts it at its maximum cost. A timeout while connecting (the
request never left), like a refused connection, is `BackendUnreachableError`: not flagged, and
a budget does not charge it. A local timeout is never flagged.
"""

from __future__ import annotations

import socket
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from router import Router
from router._accounting import attempt_failed
from router._fakes import FakeClock, MemoryLedger
from router.backends._litellm_errors import map_litellm_error
from router.budget import MemoryBudgetStore, windows_for
from router.errors import (
    AllAttemptsFailedError,
    BackendTimeoutError,
    BackendUnavailableError,
    BackendUnreachableError,
    BadRequestError,
)
from router.ledger import open_ledger, verify
from router.ledger._schema import AttemptRow
from router.policy._model import Budgets, Cap
from router.pricing import load_price_table
from router.testing import Reply, Usage
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT

# Slow: each case waits out a real deadline (8 s); CI runs it (`-m slow`).
pytestmark = pytest.mark.slow

TIMEOUT_S = 2.0  # generous: the answer that follows must arrive within it on a loaded machine


def _policy(servers: Servers, *, timeout_s: float = TIMEOUT_S, **sections):
    policy = policy_for(servers, **sections)
    models = tuple(m.model_copy(update={"timeout_s": timeout_s}) for m in policy.frontier.models)
    return policy.model_copy(
        update={"frontier": policy.frontier.model_copy(update={"models": models})}
    )


def _attempt_rows(url: str) -> list[AttemptRow]:
    engine = sa.create_engine(url)
    with Session(engine) as db:
        rows = list(db.scalars(sa.select(AttemptRow).order_by(AttemptRow.seq)))
    engine.dispose()
    return rows


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
def test_a_frontier_timeout_after_sending_is_possibly_billed(
    servers: Servers, tmp_path, streamed: bool
) -> None:
    _, openai, _ = servers
    openai.script(Reply(text="late", latency=2.5 * TIMEOUT_S), Reply(text="on time"))
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    router = Router(_policy(servers), ledger=open_ledger(url), clock=FakeClock(), classifier=None)
    if streamed:
        text = "".join(chunk.text for chunk in router.stream(LONG_PROMPT))
    else:
        text = router.complete(LONG_PROMPT).text
    router.close()

    assert text == "on time"
    assert len(openai.requests) == 2  # the timed-out request did reach the provider
    rows = _attempt_rows(url)
    assert [(a.outcome, a.error_class, bool(a.possibly_billed)) for a in rows] == [
        ("error", "BackendTimeoutError", True),
        ("ok", None, False),
    ]
    assert verify(url).ok
    record(
        5,
        f"frontier timeout after sending ({'streamed' if streamed else 'non-streaming'})",
        f"attempts {len(rows)}, timed-out attempt possibly_billed={bool(rows[0].possibly_billed)}",
        "flagged possibly billed",
        bool(rows[0].possibly_billed),
    )


def test_a_frontier_call_past_the_request_deadline_is_possibly_billed(servers: Servers) -> None:
    """The request's own deadline (not the model's timeout) cuts the call: it had been sent."""
    _, openai, anthropic = servers
    openai.script(Reply(text="too late", latency=6.0))
    policy = _policy(servers, timeout_s=60, retries={"deadline_s": 1.5})
    ledger = MemoryLedger()
    router = Router(policy, ledger=ledger, clock=FakeClock(), classifier=None)
    with pytest.raises(AllAttemptsFailedError):
        router.complete(LONG_PROMPT)
    router.close()
    assert len(openai.requests) == 1 and len(anthropic.requests) == 0
    [rec] = ledger.records
    [attempt] = rec.attempts
    assert (attempt.error_class, attempt.possibly_billed) == ("BackendTimeoutError", True)


def test_the_budget_counts_a_timed_out_frontier_call_at_its_maximum(servers: Servers) -> None:
    _, openai, _ = servers
    openai.script(Reply(latency=2.5 * TIMEOUT_S), Reply(text="ok", usage=Usage(1000, 100)))
    budgets = Budgets(teams={"support": Cap(daily_usd=Decimal(100))})
    policy = _policy(servers).model_copy(update={"budgets": budgets})
    store = _RecordingStore()
    router = Router(policy, ledger=None, clock=FakeClock(), classifier=None, budget_store=store)
    res = router.complete(LONG_PROMPT, metadata={"team": "support"}, max_tokens=500)
    router.close()
    window = windows_for(budgets, "support", None, FakeClock().start)[0]
    [maximum] = store.reservations  # the call's maximum cost: prompt tokens + max_tokens
    assert res.cost_usd == load_price_table().unit_price("gpt-5.4").cost(1000, 100)
    assert store.spent(window) == maximum + res.cost_usd and store.reserved(window) == 0


class _RecordingStore(MemoryBudgetStore):
    def __init__(self) -> None:
        super().__init__()
        self.reservations: list[Decimal] = []

    def reserve(self, windows, amount):
        self.reservations.append(amount)
        return super().reserve(windows, amount)


def _mapped(cause: BaseException):
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("litellm wrapper") from inner
    except RuntimeError as exc:
        return map_litellm_error(exc, model="gpt-5.4", provider="openai")


def test_only_timeouts_after_connecting_are_mapped_as_timeouts() -> None:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    assert type(_mapped(httpx.ConnectTimeout("x", request=request))) is BackendUnreachableError
    assert type(_mapped(httpx.PoolTimeout("x", request=request))) is BackendUnreachableError
    assert type(_mapped(httpx.ConnectError("x", request=request))) is BackendUnreachableError
    assert type(_mapped(httpx.ReadError("x", request=request))) is BackendUnavailableError
    assert type(_mapped(httpx.ReadTimeout("x", request=request))) is BackendTimeoutError
    assert type(_mapped(httpx.WriteTimeout("x", request=request))) is BackendTimeoutError
    assert type(_mapped(TimeoutError())) is BackendTimeoutError


def test_a_local_timeout_is_never_possibly_billed() -> None:
    class Local:
        model, provider, tier = "qwen3.5:9b", "ollama", "local"

    class Frontier:
        model, provider, tier = "gpt-5.4", "openai", "frontier"

    prices = load_price_table(local_models=frozenset({"qwen3.5:9b"}))
    timeout = BackendTimeoutError("timed out", model="m", provider="p")
    assert not attempt_failed(Local(), timeout, 1.0, prices).possibly_billed
    assert attempt_failed(Frontier(), timeout, 1.0, prices).possibly_billed
    refused = BadRequestError("bad", model="m", provider="p")
    assert not attempt_failed(Frontier(), refused, 1.0, prices).possibly_billed


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_frontier_connection_is_not_possibly_billed_nor_charged(
    servers: Servers,
) -> None:
    """Nothing was sent, so nothing was billed: the budget gets its reservation back."""
    dead = f"http://127.0.0.1:{_closed_port()}/v1"
    policy = _policy(servers)
    models = tuple(m.model_copy(update={"api_base": dead}) for m in policy.frontier.models[:1])
    budgets = Budgets(teams={"support": Cap(daily_usd=Decimal(100))})
    policy = policy.model_copy(
        update={
            "frontier": policy.frontier.model_copy(update={"models": models}),
            "budgets": budgets,
        }
    )
    store, ledger = _RecordingStore(), MemoryLedger()
    router = Router(policy, ledger=ledger, clock=FakeClock(), classifier=None, budget_store=store)
    with pytest.raises(AllAttemptsFailedError):
        router.complete(LONG_PROMPT, metadata={"team": "support"}, max_tokens=500)
    router.close()
    [rec] = ledger.records
    assert rec.attempts and {a.error_class for a in rec.attempts} == {"BackendUnreachableError"}
    assert not any(a.possibly_billed for a in rec.attempts)
    window = windows_for(budgets, "support", None, FakeClock().start)[0]
    assert store.reservations  # the call was reserved for, then given back
    assert store.spent(window) == 0 and store.reserved(window) == 0
