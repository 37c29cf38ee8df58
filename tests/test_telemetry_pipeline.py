"""Spans and metrics from real routed requests over the loopback servers."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from router.errors import AllAttemptsFailedError
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply, Usage
from tests.support import LONG_PROMPT, loopback_policy, make_router

SECRET_PROMPT = "My account number is 99887766 and I need a refund for order 4321. " * 4
SECRET_ANSWER = "Refund approved for the customer with the blue umbrella."


@pytest.fixture
def otel():
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[reader])
    yield tracer_provider, meter_provider, spans, reader
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


def _route(servers, otel, prompt, **policy_overrides):
    tracer_provider, meter_provider, _, _ = otel
    router, ledger, _ = make_router(
        loopback_policy(*servers, **policy_overrides),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    try:
        return router.complete(prompt), ledger
    finally:
        router.close()


def _tree(spans):
    by_id = {s.context.span_id: s for s in spans}
    return {s.name: (by_id[s.parent.span_id].name if s.parent else None) for s in spans}


def _metrics(reader):
    found = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                found[metric.name] = [
                    (dict(p.attributes), getattr(p, "value", getattr(p, "sum", None)))
                    for p in metric.data.data_points
                ]
    return found


def test_local_answer_span_tree_and_attributes(servers, otel):
    servers[0].script(Reply(text=SECRET_ANSWER, usage=Usage(40, 9)))
    res, _ = _route(servers, otel, "hello there")
    spans = otel[2].get_finished_spans()
    assert _tree(spans) == {
        "route": None,
        "router.score": "route",
        "chat qwen3.5:9b": "route",
        "router.ledger.write": "route",
    }
    root = next(s for s in spans if s.name == "route")
    attempt = next(s for s in spans if s.name == "chat qwen3.5:9b")
    assert root.attributes["router.tier"] == "local"
    assert root.attributes["router.decision.rule"] == "token-count"
    assert root.attributes["router.policy.name"] == "test"
    assert root.attributes["router.cost_usd"] == 0.0
    assert root.attributes["router.savings_usd"] == pytest.approx(float(res.savings_usd))
    assert attempt.attributes["gen_ai.provider.name"] == "ollama"
    assert attempt.attributes["gen_ai.usage.input_tokens"] == 40
    assert attempt.attributes["gen_ai.usage.output_tokens"] == 9
    metrics = _metrics(otel[3])
    assert ({"router.tier": "local", "router.status": "ok"}, 1) in metrics["router.requests"]


def test_fallback_after_429_shows_each_attempt(servers, otel):
    _, openai, anthropic = servers
    openai.script(*[Reply(status=429, retry_after=0)] * 3)
    anthropic.script(Reply(text="ok", usage=Usage(5, 5)))
    res, _ = _route(servers, otel, LONG_PROMPT)
    assert res.model == "anthropic/claude-opus-4-6"
    spans = otel[2].get_finished_spans()
    gpt = [s for s in spans if s.name == "chat gpt-5.4"]
    opus = [s for s in spans if s.name == "chat anthropic/claude-opus-4-6"]
    assert len(gpt) == 3 and all(s.status.status_code is StatusCode.ERROR for s in gpt)
    assert {s.attributes["error.type"] for s in gpt} == {"RateLimitError"}
    assert len(opus) == 1 and opus[0].status.status_code is StatusCode.UNSET
    root = next(s for s in spans if s.name == "route")
    assert root.attributes["router.escalation_reason"] == "frontier-fallback"
    metrics = _metrics(otel[3])
    assert ({"router.escalation_reason": "frontier-fallback"}, 1) in metrics["router.escalations"]


def test_failure_marks_the_root_span_without_message_text(servers, otel):
    _, openai, anthropic = servers
    openai.script(Reply(status=401))
    anthropic.script(Reply(status=401))
    tracer_provider, meter_provider, spans, _ = otel
    router, _, _ = make_router(
        loopback_policy(*servers), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    with pytest.raises(AllAttemptsFailedError):
        router.complete(SECRET_PROMPT)
    router.close()
    root = next(s for s in spans.get_finished_spans() if s.name == "route")
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes["error.type"] == "AllAttemptsFailedError"
    assert not root.status.description


def test_no_prompt_or_answer_text_anywhere_by_default(servers, otel, monkeypatch):
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    servers[1].script(Reply(text=SECRET_ANSWER))
    _route(servers, otel, SECRET_PROMPT)
    dump = json.dumps(
        [
            {
                "attributes": dict(s.attributes),
                "events": [dict(e.attributes or {}) for e in s.events],
                "status": s.status.description,
            }
            for s in otel[2].get_finished_spans()
        ],
        default=str,
    )
    dump += json.dumps(_metrics(otel[3]), default=str)
    assert "99887766" not in dump and "blue umbrella" not in dump


def test_escalation_after_failed_verification_is_traced(servers, otel):
    ollama, openai, _ = servers
    ollama.script(Reply(text=""))
    openai.script(Reply(text="a real answer"))
    res, _ = _route(servers, otel, "hello there", verify={"structural": {}})
    assert res.escalation_reason == "verification-failed"
    spans = otel[2].get_finished_spans()
    tree = _tree(spans)
    assert tree["router.verify"] == "route"
    assert tree["chat qwen3.5:9b"] == "route" and tree["chat gpt-5.4"] == "route"
    root = next(s for s in spans if s.name == "route")
    assert root.attributes["router.escalated"] is True
    assert root.attributes["router.escalation_reason"] == "verification-failed"
    assert root.attributes["router.verification"] == "failed"
    assert root.attributes["router.tier"] == "frontier"
    metrics = _metrics(otel[3])
    assert any(value == 1 for _, value in metrics["router.verification.failures"])
