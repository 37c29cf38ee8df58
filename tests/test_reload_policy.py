"""`Router.reload_policy`: a running router switches policy atomically, never mixing two."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from router.errors import PolicyError
from router.policy import LocalModel, Price, Routing
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply
from tests.support import LONG_PROMPT, SHORT_PROMPT, loopback_policy, make_router


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


def priced(servers, name: str, usd_per_mtok: int):
    """A policy routing long prompts to GPT-5.4 at its own negotiated price."""
    price = Price(input_per_mtok=Decimal(usd_per_mtok), output_per_mtok=Decimal(usd_per_mtok))
    return loopback_policy(*servers, name=name, prices={"gpt-5.4": price})


def test_reload_switches_routing_for_the_next_request(servers):
    _, openai, _ = servers
    router, ledger, _ = make_router(loopback_policy(*servers))
    assert router.complete(LONG_PROMPT).tier == "frontier"
    lenient = loopback_policy(*servers, name="lenient", routing=Routing(rule="token-count"))
    assert router.reload_policy(lenient) is router.policy is lenient
    assert router.complete(LONG_PROMPT).tier == "local"  # limit 1500 tokens now
    router.close()
    assert [r.policy_name for r in ledger.records] == ["test", "lenient"]
    assert len(openai.requests) == 1


def test_a_broken_policy_is_refused_and_the_old_one_stays(servers, tmp_path: Path):
    router, _, _ = make_router(loopback_policy(*servers))
    broken = tmp_path / "broken.yaml"
    broken.write_text("routing:\n  threshold: 7\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"broken.yaml:2: routing.threshold"):
        router.reload_policy(broken)
    assert router.policy.name == "test"
    assert router.complete(SHORT_PROMPT).tier == "local"
    router.close()


def test_reload_can_move_the_local_model_to_another_server(servers):
    with OllamaServer() as other:
        other.script(Reply(text="from the new host"))
        router, _, _ = make_router(loopback_policy(*servers))
        moved = loopback_policy(*servers, local=LocalModel(host=other.url, read_timeout_s=5))
        router.reload_policy(moved)
        assert router.complete(SHORT_PROMPT).text == "from the new host"
        router.close()


def test_concurrent_requests_see_the_old_or_the_new_policy_never_a_mix(servers):
    """32 requests in flight while another thread flips between two policies: each ledger row's
    policy name must match the price its frontier attempt was charged at (prices come from the
    policy's snapshot), and both policies must have served requests."""
    _, openai, _ = servers
    openai.responder = lambda request: Reply(text="ok", latency=0.02)
    first, second = priced(servers, "a", 1), priced(servers, "b", 2)
    router, ledger, _ = make_router(first)
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            for policy in (second, first):
                router.reload_policy(policy)
                stop.wait(0.003)

    async def traffic() -> None:
        await asyncio.gather(*(router.acomplete(LONG_PROMPT) for _ in range(32)))

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        asyncio.run(traffic())
    finally:
        stop.set()
        flipper.join()
        router.close()

    expected = {"a": Decimal(1), "b": Decimal(2)}
    seen = {r.policy_name for r in ledger.records}
    assert len(ledger.records) == 32 and seen == {"a", "b"}
    for record in ledger.records:
        [attempt] = record.attempts
        assert attempt.unit_price_in == expected[record.policy_name], record.request_id
    versions = {(r.policy_name, r.price_table_version) for r in ledger.records}
    assert len(versions) == 2  # one price table per policy, never crossed
