"""Row 11, continued: JSON-like arguments and metadata are bounded at validation.

A `response_format` nested 3,000 deep never left the process (the encoder ran out of
recursion), yet its attempts were `BackendUnavailableError`, possibly billed, and $0.077 of a $1
daily cap was charged per request. A 5 MB metadata key, or 200,000 keys in one row, were
accepted. Both are now refused before any call: nothing is sent, billed, charged or recorded.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from router.budget import MemoryBudgetStore, windows_for
from router.errors import InvalidRequestError
from router.policy._model import Budgets, Cap
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT, make_router

TEAM = {"team": "support"}
# The documented bounds (docs/security.md; router/_request_checks.py)
MAX_JSON_DEPTH, MAX_METADATA_KEY, MAX_METADATA_KEYS, MAX_METADATA_CHARS = 64, 64, 32, 4096


def _schema(levels: int) -> dict[str, Any]:
    """A JSON schema `levels` objects deep: JSON depth 4 + 2 * levels."""
    node: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"a": node}}
    return {"type": "json_schema", "json_schema": {"name": "deep", "schema": node}}


ATTACKS: dict[str, dict[str, Any]] = {
    "response_format nested 3,000 deep": {"response_format": _schema(3000)},
    "response_format one level too deep": {"response_format": _schema(MAX_JSON_DEPTH // 2 - 1)},
    "response_format with 20,000 properties": {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"properties": {f"p{i}": {} for i in range(20_000)}},
        }
    },
    "response_format holding a set": {"response_format": {"type": "json_object", "x": {1}}},
    "a 5 MB metadata key": {"metadata": {**TEAM, "k" * 5_000_000: "v"}},
    "200,000 metadata keys": {"metadata": {**TEAM, **{f"k{i}": "v" for i in range(200_000)}}},
    "metadata over the total size": {
        "metadata": {**TEAM, **{f"k{i}": "v" * 200 for i in range(MAX_METADATA_CHARS // 200 + 1)}}
    },
    "an empty metadata key": {"metadata": {**TEAM, "": "v"}},
}


def _budget_router(servers: Servers) -> tuple[Any, Any, MemoryBudgetStore, Budgets]:
    budgets = Budgets(teams={"support": Cap(daily_usd=Decimal("1.00"))})
    policy = policy_for(servers).model_copy(update={"budgets": budgets})
    store = MemoryBudgetStore()
    router, ledger, clock = make_router(policy, budget_store=store)
    return router, (ledger, clock), store, budgets


@pytest.mark.parametrize("what", ATTACKS)
def test_unbounded_arguments_are_refused_before_any_call(servers: Servers, what: str) -> None:
    router, (ledger, clock), store, budgets = _budget_router(servers)
    kwargs = {"metadata": TEAM, **ATTACKS[what]}
    started = time.monotonic()
    with pytest.raises(InvalidRequestError) as info:
        router.complete(LONG_PROMPT, **kwargs)
    took = time.monotonic() - started
    router.close()
    assert len(str(info.value)) < 300  # names the problem, never echoes the value
    upstream = sum(len(s.requests) for s in servers)
    spent = store.spent(windows_for(budgets, "support", None, clock.now())[0])
    ok = upstream == 0 and spent == 0 and ledger.records == []
    record(
        11,
        f"refused at validation: {what}",
        f"{took * 1000:.0f} ms, {upstream} upstream calls, ${spent} charged",
        "refused, 0 calls, $0",
        ok,
    )
    assert ok


def test_bounded_arguments_within_the_limits_still_go_through(servers: Servers) -> None:
    _, openai, _ = servers
    router, (ledger, _), _, _ = _budget_router(servers)
    metadata = {**TEAM, "k" * MAX_METADATA_KEY: "v" * 256}
    fmt = _schema(MAX_JSON_DEPTH // 2 - 2)  # JSON depth exactly MAX_JSON_DEPTH
    answer = router.complete(LONG_PROMPT, metadata=metadata, response_format=fmt)
    router.close()
    assert answer.model == "gpt-5.4" and len(openai.requests) == 1
    assert ledger.records[0].tags == {"k" * MAX_METADATA_KEY: "v" * 256}


def test_the_documented_bounds_are_the_enforced_ones() -> None:
    from router import _request_checks as checks  # noqa: PLC0415

    enforced = (
        checks.MAX_JSON_DEPTH,
        checks.MAX_METADATA_KEY,
        checks.MAX_METADATA_KEYS,
        checks.MAX_METADATA_CHARS,
    )
    assert enforced == (MAX_JSON_DEPTH, MAX_METADATA_KEY, MAX_METADATA_KEYS, MAX_METADATA_CHARS)
