"""Row 12: secret leakage: a planted API key and prompt text, hunted everywhere they could leak.

Bad keys (401 from both frontier servers), validation errors, DEBUG logs of every library on the
path (router, litellm, httpx, httpcore, openai, ollama), spans (in-memory exporter), exceptions
(str, repr and the whole __cause__/__context__ chain), stdout/stderr and the ledger's SQLite file.
Figure: occurrences of the key or the prompt text: 0.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from router import Router
from router._fakes import FakeClock
from router.errors import RouterError
from router.ledger import open_ledger
from router.policy import Frontier
from router.testing import AnthropicServer, OllamaServer, OpenAIServer
from tests.reliability._figures import record
from tests.support import loopback_policy

KEY = "sk-live-PLANTED-4c1d2e9f8a7b6c5d3e2f"
CANARY = "CANARY-prompt-text-7f3a9c"
PROMPT = f"My secret plan is {CANARY}. Explain it in detail, step by step. " * 10
LOGGERS = ("", "router", "LiteLLM", "LiteLLM Router", "httpx", "httpcore", "openai", "ollama")


def _chain(exc: BaseException) -> list[str]:
    texts, seen, cause = [], set(), exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        texts += [str(cause), repr(cause), repr(getattr(cause, "args", ()))]
        texts += [str(a) for a in getattr(cause, "attempts", ())]
        cause = cause.__cause__ or cause.__context__
    return texts


def _count(texts: list[str]) -> dict[str, int]:
    return {
        "key": sum(t.count(KEY) for t in texts),
        "prompt": sum(t.count(CANARY) for t in texts),
    }


def _failing_router(tmp_path: Path, servers: tuple, spans: InMemorySpanExporter) -> Router:
    ollama, openai, anthropic = servers
    policy = loopback_policy(ollama, openai, anthropic)
    models = tuple(m.model_copy(update={"api_key": KEY}) for m in policy.frontier.models)
    policy = policy.model_copy(update={"frontier": Frontier(models=models)})
    tracer = TracerProvider()
    tracer.add_span_processor(SimpleSpanProcessor(spans))
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    return Router(policy, ledger=ledger, clock=FakeClock(), classifier=None, tracer_provider=tracer)


def test_a_planted_key_and_prompt_appear_in_no_log_span_error_or_ledger_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    spans = InMemorySpanExporter()
    errors: list[str] = []
    with (
        OllamaServer() as ollama,
        OpenAIServer(api_key="sk-the-right-key") as openai,
        AnthropicServer(api_key="sk-ant-the-right-key") as anthropic,
    ):
        router = _failing_router(tmp_path, (ollama, openai, anthropic), spans)
        bad_calls = [
            {"prompt": PROMPT},  # 401 from both frontier models: bad keys
            {"messages": [{"role": CANARY, "content": PROMPT}]},
            {"prompt": PROMPT, "metadata": {"team": CANARY * 20}},
            {"prompt": PROMPT, "response_format": {"type": CANARY}},
            {"prompt": PROMPT, "api_key": KEY},
            {"prompt": PROMPT, "max_tokens": -1},
        ]
        for kwargs in bad_calls:
            with pytest.raises(RouterError) as info:
                router.complete(**kwargs)
            errors += _chain(info.value)
        assert router.complete(f"Short {CANARY}").tier == "local"  # one success, for its spans
        router.close()
        sent = [str(r.headers) for r in openai.requests + anthropic.requests]

    out, err = capfd.readouterr()
    logs = [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    span_text = [s.to_json() for s in spans.get_finished_spans()]
    ledger = [(tmp_path / "ledger.db").read_bytes().decode("latin-1")]
    found = {
        "errors": _count(errors),
        "logs": _count(logs),
        "spans": _count(span_text),
        "stdout/stderr": _count([out, err]),
        "ledger": _count(ledger),
    }
    total = sum(n for where in found.values() for n in where.values())
    assert any(KEY in headers for headers in sent)  # the key was really used, so it could leak
    assert len(caplog.records) > 0 and len(span_text) > 0
    record(
        12,
        "secret leakage: key or prompt text in logs, spans, errors, stdio, ledger",
        f"{total} ({found})",
        "0",
        total == 0,
    )
    assert total == 0, found
