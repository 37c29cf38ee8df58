"""Shared builders for request-path tests: a policy and router wired to the loopback servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks._common import SHARED_DATA_ENV, find_shared_data
from router import Router
from router._fakes import FakeClock, MemoryLedger
from router.policy import Frontier, FrontierModel, LocalModel, Policy, Retries, Routing
from router.testing import AnthropicServer, OllamaServer, OpenAIServer

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"


def loopback_policy(
    ollama: OllamaServer | str,
    openai: OpenAIServer | str,
    anthropic: AnthropicServer | str,
    **overrides: Any,
) -> Policy:
    """A policy whose local and frontier endpoints are the given servers (or URLs)."""

    def url(server: Any) -> str:
        return server if isinstance(server, str) else server.url

    policy = Policy(
        name="test",
        # Generous: a loopback answer takes milliseconds, but CI once saw the 1 s connect
        # timeout fire on a loaded machine. Tests of timeouts set their own.
        local=LocalModel(host=url(ollama), read_timeout_s=30, connect_timeout_s=5),
        frontier=Frontier(
            models=(
                FrontierModel(model="gpt-5.4", api_base=url(openai) + "/v1", api_key=OPENAI_KEY),
                FrontierModel(
                    model="anthropic/claude-opus-4-6",
                    api_base=url(anthropic),
                    api_key=ANTHROPIC_KEY,
                ),
            ),
        ),
        routing=Routing(rule="token-count", token_count_threshold=50),
        retries=Retries(max_attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05, deadline_s=20),
    )
    return policy.model_copy(update=overrides)


def make_router(policy: Policy, **seams: Any) -> tuple[Router, MemoryLedger, FakeClock]:
    ledger, clock = MemoryLedger(), FakeClock()
    seams.setdefault("classifier", None)
    return Router(policy, ledger=ledger, clock=clock, **seams), ledger, clock


LONG_PROMPT = "Prove that the sum of the first n odd numbers is n squared, step by step. " * 8
SHORT_PROMPT = "What is the capital of France?"


def shared_data_file(name: str) -> Path:
    """A file of the shared outcome data, found relative to the repository (or through
    $ROUTER_SHARED_DATA); the calling test is skipped, saying what is missing, when it is not
    there (a fresh clone without the data)."""
    path = find_shared_data() / name
    if not path.is_file():
        pytest.skip(f"shared data file {path} is missing (set {SHARED_DATA_ENV} to the folder)")
    return path
