"""Row 11: denial of wallet: a 1 MiB prompt, `max_tokens` at the model's maximum, bursts.

Figures: oversized requests are refused before dispatch (0 upstream calls), and the most one
request can cost is bounded by the policy's limits: max_prompt_tokens at the input price plus
max_output_tokens (sent even when the caller sets none) at the output price.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from router.errors import InvalidRequestError, PromptTooLongError
from router.policy import Limits, Policy
from router.pricing import LocalCostModel, load_price_table
from router.testing import Reply
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import make_router

MIB = 1024 * 1024
GPT_MAX_OUTPUT = 128_000  # GPT-5.4's own output maximum


def _cap(limits: Limits, model: str) -> Decimal:
    """The most one request can cost on `model` under `limits`."""
    price = load_price_table({}, LocalCostModel(), frozenset()).unit_price(model)
    return price.cost(limits.max_prompt_tokens, limits.max_output_tokens)


def _upstream(servers: Servers) -> int:
    return sum(len(s.requests) for s in servers)


def test_oversized_requests_are_refused_before_dispatch(servers: Servers) -> None:
    router, ledger, _ = make_router(policy_for(servers))
    attacks = {
        "1 MiB prompt": ({"prompt": "a" * MIB}, PromptTooLongError),
        "700k-char prompt over max_prompt_tokens": (
            {"prompt": "word " * 140_000},
            PromptTooLongError,
        ),
        "max_tokens at the model maximum": (
            {"prompt": "hi", "max_tokens": GPT_MAX_OUTPUT},
            InvalidRequestError,
        ),
    }
    for what, (kwargs, error) in attacks.items():
        started = time.monotonic()
        with pytest.raises(error):
            router.complete(**kwargs)
        took = time.monotonic() - started
        record(
            11,
            f"refused before dispatch: {what}",
            f"{took * 1000:.0f} ms, 0 upstream calls",
            "refused, 0 calls",
            _upstream(servers) == 0,
        )
    router.close()
    assert _upstream(servers) == 0 and ledger.records == []


async def test_a_burst_of_maximal_requests_costs_at_most_the_per_request_cap(
    servers: Servers,
) -> None:
    _, openai, _ = servers
    openai.responder = lambda _req: Reply(text="expensive " * 50_000)  # as long as allowed
    limits = Limits(max_prompt_chars=20_000, max_prompt_tokens=4_000, max_output_tokens=500)
    router, ledger, _ = make_router(policy_for(servers).model_copy(update={"limits": limits}))
    prompt = "Explain this in depth, word by word. " * 400  # about 3,200 tokens
    results = await asyncio.gather(*(router.acomplete(prompt) for _ in range(32)))
    await router.aclose()
    router.close()

    sent = [r.body.get("max_completion_tokens", r.body.get("max_tokens")) for r in openai.requests]
    assert sent == [500] * 32  # the policy's cap, though the caller set none
    cap = _cap(limits, "gpt-5.4")
    worst = max(r.cost_usd for r in results)
    spent = sum(r.cost_usd for r in ledger.records)
    ok = worst <= cap and spent <= 32 * cap
    record(
        11,
        "burst of 32 maximal requests",
        f"worst ${worst:.6f}/request, total ${spent:.4f}",
        f"<= ${cap:.6f}/request (policy cap)",
        ok,
    )
    assert ok


def test_per_request_cost_cap_of_the_default_limits() -> None:
    limits = Policy().limits
    caps = {m: _cap(limits, m) for m in ("gpt-5.4", "anthropic/claude-opus-4-6")}
    figure = ", ".join(f"{m} ${c:.4f}" for m, c in caps.items())
    record(
        11,
        "most one attacker request can cost (default limits)",
        figure,
        "bounded by limits.max_prompt_tokens and max_output_tokens",
        True,
    )
    assert all(Decimal(0) < c < Decimal(5) for c in caps.values())
