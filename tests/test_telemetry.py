"""Telemetry: the span tree, its attributes, the metrics, and content kept out unless asked.

Providers are built per test and passed in; the global providers are never set.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from router._completion import Decision
from router._records import ZERO, AttemptRecord, RequestRecord, Tier
from router._request import RoutedRequest
from router.backends import Backend, ModelChunk, ModelRequest, ModelResponse
from router.errors import (
    AllAttemptsFailedError,
    AttemptFailure,
    BackendUnavailableError,
    RateLimitError,
)
from router.policy import Policy
from router.telemetry import CAPTURE_ENV_VAR, Telemetry, configure_console

PROMPT = "Summarise the Zanzibar merger memo for the board"
ANSWER = "The Zanzibar merger closes in Q3 pending approval"
SYSTEM = "You are terse and careful"
ERROR_TEXT = "upstream said: Summarise the Zanzibar merger memo"  # an error message quoting content
POLICY = Policy(name="test-policy", version="7")
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FakeBackend:
    """Just enough of a `Backend` for telemetry, which never calls it."""

    model: str
    provider: str
    tier: Tier
    host: str | None = None

    async def complete(self, request: ModelRequest) -> ModelResponse:
        raise NotImplementedError

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]:
        raise NotImplementedError

    async def aclose(self) -> None:
        pass


LOCAL: Backend = FakeBackend("qwen3.5:9b", "ollama", "local", host="http://127.0.0.1:11434")
GPT: Backend = FakeBackend("gpt-5.4", "openai", "frontier")
CLAUDE: Backend = FakeBackend("anthropic/claude-opus-4-6", "anthropic", "frontier")


# -- fixtures and builders ------------------------------------------------------------------------


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def providers(
    exporter: InMemorySpanExporter, reader: InMemoryMetricReader
) -> Iterator[tuple[TracerProvider, MeterProvider]]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[reader])
    yield tracer_provider, meter_provider
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture
def telemetry(providers: tuple[TracerProvider, MeterProvider]) -> Telemetry:
    return Telemetry(*providers, capture_content=False)


@pytest.fixture
def capturing(providers: tuple[TracerProvider, MeterProvider]) -> Telemetry:
    return Telemetry(*providers, capture_content=True)


def routed(*, sensitive: bool = False, team: str | None = "support") -> RoutedRequest:
    return RoutedRequest(
        request_id="req-1",
        messages=({"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}),
        sensitive=sensitive,
        team=team,
        app="helpdesk",
        max_tokens=256,
        temperature=0.2,
        token_count=20,
    )


def model_request(request: RoutedRequest) -> ModelRequest:
    return ModelRequest(
        messages=request.messages,
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        timeout_s=30.0,
    )


def ok_attempt(
    backend: Backend, cost: str, tokens: tuple[int, int] = (20, 10), ms: float = 400.0
) -> AttemptRecord:
    return AttemptRecord(
        model=backend.model,
        provider=backend.provider,
        tier=backend.tier,
        tokens_in=tokens[0],
        tokens_out=tokens[1],
        latency_ms=ms,
        outcome="ok",
        cost_usd=Decimal(cost),
        unit_price_in=ZERO,
        unit_price_out=ZERO,
    )


def failed_attempt(
    backend: Backend, error: str = "BackendUnavailableError", ms: float = 50.0
) -> AttemptRecord:
    return replace(ok_attempt(backend, "0", (0, 0), ms), outcome="error", error_class=error)


def record(
    attempts: tuple[AttemptRecord, ...],
    answered_by: Backend | None,
    *,
    baseline: str = "0.002",
    escalation_reason: str | None = None,
    verification: str | None = "skipped",
    error_class: str | None = None,
    latency_ms: float = 1500.0,
) -> RequestRecord:
    cost = sum((a.cost_usd for a in attempts), ZERO)
    return RequestRecord(
        request_id="req-1",
        created_at=CREATED,
        policy_name=POLICY.name,
        policy_version=POLICY.version,
        status="ok" if error_class is None else "error",
        tier=answered_by.tier if answered_by else None,
        model=answered_by.model if answered_by else None,
        decision_rule="classifier",
        decision_score=0.2,
        decision_threshold=0.5,
        attempts=attempts,
        cost_usd=cost,
        local_cost_usd=ZERO,
        baseline_model="gpt-5.4",
        baseline_cost_usd=Decimal(baseline),
        baseline_estimated=True,
        savings_usd=Decimal(baseline) - cost,
        price_table_version="test",
        latency_ms=latency_ms,
        prompt_hash="0" * 64,
        prompt_tokens_estimate=20,
        team="support",
        app="helpdesk",
        verification=verification,
        escalation_reason=escalation_reason,
        error_class=error_class,
    )


# -- the three request shapes, driven the way the pipeline drives them ---------------------------


def answer_locally(telemetry: Telemetry, request: RoutedRequest | None = None) -> None:
    request = request or routed()
    with telemetry.request(request, POLICY) as t:
        with t.stage("router.score"):
            t.set_decision(Decision("local", "classifier", 0.2, 0.5, "difficulty 0.200 < 0.500"))
        with t.attempt(LOCAL, model_request(request)) as attempt:
            attempt.set_response(ModelResponse(ANSWER, "qwen3.5:9b", 20, 10, "stop"))
        t.finish(record((ok_attempt(LOCAL, "0"),), LOCAL))
        with t.stage("router.ledger.write"):
            pass


def escalate_after_local_failure(telemetry: Telemetry) -> None:
    request = routed()
    with telemetry.request(request, POLICY) as t:
        with t.stage("router.score"):
            t.set_decision(Decision("local", "classifier", 0.2, 0.5, "difficulty 0.200 < 0.500"))
        try:
            with t.attempt(LOCAL, model_request(request)):
                raise BackendUnavailableError(ERROR_TEXT, model=LOCAL.model, provider="ollama")
        except BackendUnavailableError:
            pass  # the pipeline moves on to the frontier
        with t.attempt(GPT, model_request(request)) as attempt:
            attempt.set_response(ModelResponse(ANSWER, "gpt-5.4-2026-03-01", 20, 10, "stop"))
        attempts = (failed_attempt(LOCAL), ok_attempt(GPT, "0.0015"))
        t.finish(record(attempts, GPT, escalation_reason="local-failed"))
        with t.stage("router.ledger.write"):
            pass


def fail_everywhere(telemetry: Telemetry) -> None:
    request = routed()
    failures = []
    with pytest.raises(AllAttemptsFailedError), telemetry.request(request, POLICY) as t:
        t.set_decision(Decision("frontier", "classifier", 0.9, 0.5, "difficulty 0.900 >= 0.500"))
        for backend in (GPT, CLAUDE):
            error = RateLimitError(ERROR_TEXT, model=backend.model, provider=backend.provider)
            try:
                with t.attempt(backend, model_request(request)):
                    raise error
            except RateLimitError:
                failures.append(AttemptFailure(backend.model, backend.provider, error))
        attempts = (failed_attempt(GPT, "RateLimitError"), failed_attempt(CLAUDE, "RateLimitError"))
        t.finish(record(attempts, None, baseline="0", error_class="AllAttemptsFailedError"))
        with t.stage("router.ledger.write"):
            pass
        raise AllAttemptsFailedError(failures)


# -- helpers to read what was exported ------------------------------------------------------------


def spans_by_name(exporter: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    result: dict[str, list[ReadableSpan]] = {}
    for span in exporter.get_finished_spans():
        result.setdefault(span.name, []).append(span)
    return result


def only(spans: dict[str, list[ReadableSpan]], name: str) -> ReadableSpan:
    [span] = spans[name]
    return span


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """metric name -> [(attributes, data point)]."""
    data = reader.get_metrics_data()
    assert data is not None
    result: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    result.setdefault(metric.name, []).append((dict(point.attributes or {}), point))
    return result


def value(found: dict[str, list[tuple[dict[str, Any], Any]]], name: str, **where: Any) -> Any:
    [point] = [p for a, p in found[name] if a == where]
    return point.sum if isinstance(point, HistogramDataPoint) else point.value


def every_string(exporter: InMemorySpanExporter, reader: InMemoryMetricReader) -> list[str]:
    """Every name, attribute value, event and status text exported, as strings."""
    strings: list[str] = []
    for span in exporter.get_finished_spans():
        strings += [span.name, str(span.status.description)]
        strings += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
        for event in span.events:
            strings += [event.name] + [f"{k}={v}" for k, v in (event.attributes or {}).items()]
    for series in points(reader).values():
        strings += [f"{k}={v}" for attributes, _ in series for k, v in attributes.items()]
    return strings


# -- spans ----------------------------------------------------------------------------------------


def test_local_answer_span_tree_and_attributes(
    telemetry: Telemetry, exporter: InMemorySpanExporter
):
    answer_locally(telemetry)

    spans = spans_by_name(exporter)
    assert sorted(spans) == ["chat qwen3.5:9b", "route", "router.ledger.write", "router.score"]
    root, attempt = only(spans, "route"), only(spans, "chat qwen3.5:9b")
    assert root.parent is None
    for child in (only(spans, "router.score"), attempt, only(spans, "router.ledger.write")):
        assert parent_id(child) == span_id(root)
        assert child.context is not None and root.context is not None
        assert child.context.trace_id == root.context.trace_id
    assert root.kind is SpanKind.INTERNAL
    assert attempt.kind is SpanKind.CLIENT
    assert only(spans, "router.score").kind is SpanKind.INTERNAL
    assert attrs(root) == {
        "gen_ai.operation.name": "chat",
        "router.policy.name": "test-policy",
        "router.policy.version": "7",
        "router.request_id": "req-1",
        "router.team": "support",
        "router.app": "helpdesk",
        "router.sensitive": False,
        "router.tier": "local",
        "router.decision.rule": "classifier",
        "router.score": 0.2,
        "router.threshold": 0.5,
        "router.status": "ok",
        "router.model": "qwen3.5:9b",
        "router.escalated": False,
        "router.verification": "skipped",
        "router.cost_usd": 0.0,
        "router.baseline_cost_usd": 0.002,
        "router.savings_usd": 0.002,
    }
    assert attrs(attempt) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "qwen3.5:9b",
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.temperature": 0.2,
        "router.tier": "local",
        "server.address": "127.0.0.1",
        "server.port": 11434,
        "gen_ai.response.model": "qwen3.5:9b",
        "gen_ai.usage.input_tokens": 20,
        "gen_ai.usage.output_tokens": 10,
        "gen_ai.response.finish_reasons": ("stop",),
    }
    assert all(s.status.status_code is StatusCode.UNSET for s in exporter.get_finished_spans())


def test_escalation_marks_the_failed_attempt_and_the_root_records_why(
    telemetry: Telemetry, exporter: InMemorySpanExporter
):
    escalate_after_local_failure(telemetry)

    spans = spans_by_name(exporter)
    root, local, gpt = (
        only(spans, "route"),
        only(spans, "chat qwen3.5:9b"),
        only(spans, "chat gpt-5.4"),
    )
    assert parent_id(local) == parent_id(gpt) == span_id(root)
    assert local.start_time is not None and gpt.start_time is not None
    assert local.start_time < gpt.start_time

    assert local.status.status_code is StatusCode.ERROR
    assert local.status.description is None
    assert attrs(local)["error.type"] == "BackendUnavailableError"
    assert [(e.name, dict(e.attributes or {})) for e in local.events] == [
        ("exception", {"exception.type": "BackendUnavailableError"})
    ]
    assert "gen_ai.response.model" not in attrs(local)

    assert gpt.status.status_code is StatusCode.UNSET
    assert "error.type" not in attrs(gpt)
    assert attrs(gpt)["gen_ai.provider.name"] == "openai"
    assert attrs(gpt)["gen_ai.response.model"] == "gpt-5.4-2026-03-01"
    assert "server.address" not in attrs(gpt)  # the fake frontier backend exposes no URL

    assert root.status.status_code is StatusCode.UNSET
    assert {k: attrs(root)[k] for k in ("router.tier", "router.model", "router.escalated")} == {
        "router.tier": "frontier",
        "router.model": "gpt-5.4",
        "router.escalated": True,
    }
    assert attrs(root)["router.escalation_reason"] == "local-failed"
    assert attrs(root)["router.cost_usd"] == 0.0015
    assert attrs(root)["router.savings_usd"] == pytest.approx(0.0005)


def test_failed_request_marks_the_root_without_the_message(
    telemetry: Telemetry, exporter: InMemorySpanExporter, reader: InMemoryMetricReader
):
    fail_everywhere(telemetry)

    spans = spans_by_name(exporter)
    root = only(spans, "route")
    assert root.status.status_code is StatusCode.ERROR
    assert root.status.description is None
    assert attrs(root)["error.type"] == "AllAttemptsFailedError"
    assert attrs(root)["router.status"] == "error"
    assert "router.tier" in attrs(root)  # the decision's tier; no answering model
    assert "router.model" not in attrs(root)
    assert [(e.name, dict(e.attributes or {})) for e in root.events] == [
        ("exception", {"exception.type": "AllAttemptsFailedError"})
    ]
    for attempt in (only(spans, "chat gpt-5.4"), only(spans, "chat anthropic/claude-opus-4-6")):
        assert attempt.status.status_code is StatusCode.ERROR
        assert attrs(attempt)["error.type"] == "RateLimitError"
        assert attrs(attempt)["http.response.status_code"] == 429
    assert (
        attrs(only(spans, "chat anthropic/claude-opus-4-6"))["gen_ai.provider.name"] == "anthropic"
    )
    assert only(spans, "router.ledger.write").status.status_code is StatusCode.UNSET
    assert not [s for s in every_string(exporter, reader) if "Zanzibar" in s or "upstream" in s]


def test_stage_failure_marks_only_that_stage(telemetry: Telemetry, exporter: InMemorySpanExporter):
    with telemetry.request(routed(), POLICY) as t:
        try:
            with t.stage("router.verify"):
                raise ValueError(PROMPT)
        except ValueError:
            pass
    spans = spans_by_name(exporter)
    verify = only(spans, "router.verify")
    assert verify.status.status_code is StatusCode.ERROR
    assert attrs(verify) == {"error.type": "ValueError"}
    assert only(spans, "route").status.status_code is StatusCode.UNSET


def test_cancelled_request_is_an_error(telemetry: Telemetry, exporter: InMemorySpanExporter):
    with pytest.raises(asyncio.CancelledError), telemetry.request(routed(), POLICY):
        raise asyncio.CancelledError
    assert attrs(only(spans_by_name(exporter), "route"))["error.type"] == "CancelledError"


def test_finish_counts_a_request_once(telemetry: Telemetry, reader: InMemoryMetricReader):
    with telemetry.request(routed(), POLICY) as t:
        done = record((ok_attempt(LOCAL, "0"),), LOCAL)
        t.finish(done)
        t.finish(done)
    assert (
        value(points(reader), "router.requests", **{"router.tier": "local", "router.status": "ok"})
        == 1
    )


# -- metrics --------------------------------------------------------------------------------------


def test_metrics_of_an_escalated_request(telemetry: Telemetry, reader: InMemoryMetricReader):
    escalate_after_local_failure(telemetry)
    found = points(reader)

    assert (
        value(found, "router.requests", **{"router.tier": "frontier", "router.status": "ok"}) == 1
    )
    assert value(found, "router.escalations", **{"router.escalation_reason": "local-failed"}) == 1
    assert (
        value(
            found, "router.request.duration", **{"router.tier": "frontier", "router.status": "ok"}
        )
        == 1.5
    )
    assert value(
        found, "router.savings", **{"router.tier": "frontier", "router.team": "support"}
    ) == pytest.approx(0.0005)
    cost_on = {
        "gen_ai.request.model": "gpt-5.4",
        "router.tier": "frontier",
        "router.team": "support",
    }
    assert value(found, "router.cost", **cost_on, **{"router.attempt.purpose": "answer"}) == 0.0015
    assert "router.verification.failures" not in found

    gpt = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-5.4",
        "router.tier": "frontier",
    }
    local = {
        **gpt,
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "qwen3.5:9b",
        "router.tier": "local",
    }
    assert value(found, "gen_ai.client.token.usage", **gpt, **{"gen_ai.token.type": "input"}) == 20
    assert value(found, "gen_ai.client.token.usage", **gpt, **{"gen_ai.token.type": "output"}) == 10
    assert not [
        a
        for a, _ in found["gen_ai.client.token.usage"]
        if a["gen_ai.request.model"] == "qwen3.5:9b"
    ]
    assert value(found, "gen_ai.client.operation.duration", **gpt) == 0.4
    assert (
        value(
            found,
            "gen_ai.client.operation.duration",
            **local,
            **{"error.type": "BackendUnavailableError"},
        )
        == 0.05
    )


def test_metric_units_and_histogram_buckets(telemetry: Telemetry, reader: InMemoryMetricReader):
    answer_locally(telemetry)
    data = reader.get_metrics_data()
    assert data is not None
    metrics = {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    assert {name: m.unit for name, m in metrics.items()} == {
        "router.requests": "{request}",
        "router.cost": "USD",
        "router.savings": "USD",
        "router.request.duration": "s",
        "gen_ai.client.token.usage": "{token}",
        "gen_ai.client.operation.duration": "s",
    }
    [(_, duration)] = points(reader)["gen_ai.client.operation.duration"]
    assert duration.explicit_bounds[:3] == (0.01, 0.02, 0.04)
    [(_, tokens), _] = points(reader)["gen_ai.client.token.usage"]
    assert tokens.explicit_bounds[:3] == (1, 4, 16)


def test_negative_savings_and_verification_failures_are_counted(
    telemetry: Telemetry, reader: InMemoryMetricReader
):
    with telemetry.request(routed(team=None), POLICY) as t:
        costly = record(
            (ok_attempt(CLAUDE, "0.005"),), CLAUDE, baseline="0.002", verification="failed"
        )
        t.finish(replace(costly, team=None))
    found = points(reader)
    assert value(found, "router.savings", **{"router.tier": "frontier"}) == pytest.approx(-0.003)
    on = {"router.tier": "frontier", "router.model": "anthropic/claude-opus-4-6"}
    assert value(found, "router.verification.failures", **on) == 1


def test_failed_request_metrics(telemetry: Telemetry, reader: InMemoryMetricReader):
    fail_everywhere(telemetry)
    found = points(reader)
    assert value(found, "router.requests", **{"router.status": "error"}) == 1
    assert "router.escalations" not in found
    assert "gen_ai.client.token.usage" not in found
    errors = [a.get("error.type") for a, _ in found["gen_ai.client.operation.duration"]]
    assert errors == ["RateLimitError", "RateLimitError"]


def test_budget_burn_is_a_gauge_per_team(telemetry: Telemetry, reader: InMemoryMetricReader):
    telemetry.budget_burn("support", 0.25)
    telemetry.budget_burn("support", 0.75)
    telemetry.budget_burn("research", 0.1)
    found = points(reader)
    assert value(found, "router.budget.burn", **{"router.team": "support"}) == 0.75
    assert value(found, "router.budget.burn", **{"router.team": "research"}) == 0.1


# -- content capture ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scenario", [answer_locally, escalate_after_local_failure, fail_everywhere]
)
def test_without_capture_no_content_is_recorded(
    scenario: Any,
    telemetry: Telemetry,
    exporter: InMemorySpanExporter,
    reader: InMemoryMetricReader,
):
    scenario(telemetry)
    strings = every_string(exporter, reader)
    assert strings  # the search below looked at something
    for text in (PROMPT, ANSWER, SYSTEM, "Zanzibar"):
        assert not [s for s in strings if text in s]
    assert not [
        s for s in strings if s.startswith(("gen_ai.input.messages", "gen_ai.output.messages"))
    ]


def test_with_capture_the_messages_are_recorded_on_attempt_spans(
    capturing: Telemetry, exporter: InMemorySpanExporter, reader: InMemoryMetricReader
):
    answer_locally(capturing)
    spans = spans_by_name(exporter)
    attempt = attrs(only(spans, "chat qwen3.5:9b"))
    assert json.loads(attempt["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": SYSTEM}]},
        {"role": "user", "parts": [{"type": "text", "content": PROMPT}]},
    ]
    assert json.loads(attempt["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": ANSWER}],
            "finish_reason": "stop",
        }
    ]
    # Only the attempt span carries content: not the root, not the stages, not the metrics.
    holding = {s.split("=", 1)[0] for s in every_string(exporter, reader) if "Zanzibar" in s}
    assert holding == {"gen_ai.input.messages", "gen_ai.output.messages"}


def test_capture_on_records_the_prompt_of_a_failed_attempt_but_never_the_error_message(
    capturing: Telemetry, exporter: InMemorySpanExporter
):
    escalate_after_local_failure(capturing)
    local = only(spans_by_name(exporter), "chat qwen3.5:9b")
    assert PROMPT in attrs(local)["gen_ai.input.messages"]
    assert "gen_ai.output.messages" not in attrs(local)
    assert not [e for e in local.events if "upstream" in str(e.attributes)]


def test_sensitive_requests_never_record_content(
    capturing: Telemetry, exporter: InMemorySpanExporter, reader: InMemoryMetricReader
):
    answer_locally(capturing, routed(sensitive=True))
    assert attrs(only(spans_by_name(exporter), "route"))["router.sensitive"] is True
    assert not [s for s in every_string(exporter, reader) if "Zanzibar" in s]


@pytest.mark.parametrize(
    ("env", "argument", "expected"),
    [
        (None, None, False),
        ("true", None, True),
        ("TRUE", None, True),
        ("span_only", None, True),
        ("false", None, False),
        ("no_content", None, False),
        ("true", False, False),
        (None, True, True),
    ],
)
def test_capture_switch_reads_the_standard_env_var(
    monkeypatch: pytest.MonkeyPatch,
    providers: tuple[TracerProvider, MeterProvider],
    env: str | None,
    argument: bool | None,
    expected: bool,
):
    if env is None:
        monkeypatch.delenv(CAPTURE_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(CAPTURE_ENV_VAR, env)
    assert Telemetry(*providers, capture_content=argument).capture_content is expected


# -- context, providers, console -----------------------------------------------------------------


def test_spans_are_current_inside_their_blocks(telemetry: Telemetry):
    request = routed()
    with telemetry.request(request, POLICY) as t:
        assert trace.get_current_span() is t.span
        with t.attempt(GPT, model_request(request)) as attempt:
            assert trace.get_current_span() is attempt.span
        with t.stage("router.score") as score:
            assert trace.get_current_span() is score
        assert trace.get_current_span() is t.span
    assert trace.get_current_span() is not t.span


def test_root_joins_the_callers_trace(
    telemetry: Telemetry,
    providers: tuple[TracerProvider, MeterProvider],
    exporter: InMemorySpanExporter,
):
    with providers[0].get_tracer("app").start_as_current_span("handler") as handler:
        answer_locally(telemetry)
    assert parent_id(only(spans_by_name(exporter), "route")) == handler.get_span_context().span_id


async def test_streaming_without_activation_keeps_the_tree_and_the_context_clean(
    telemetry: Telemetry, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
):
    """Each step of a streamed answer may run in its own task (as `Router.stream` does)."""
    request = routed()

    async def stream() -> Any:
        with telemetry.request(request, POLICY, activate=False) as t:
            assert trace.get_current_span() is not t.span
            with t.stage("router.score"):
                pass
            with t.attempt(LOCAL, model_request(request)) as attempt:
                for word in ANSWER.split():
                    yield word
                attempt.set_response(ModelResponse(ANSWER, LOCAL.model, 20, 10, "stop"))

    chunks = stream()
    with caplog.at_level(logging.ERROR, logger="opentelemetry"):
        for _ in range(3):
            await asyncio.ensure_future(anext(chunks))
        await asyncio.ensure_future(chunks.aclose())
    assert not caplog.records
    spans = spans_by_name(exporter)
    root = span_id(only(spans, "route"))
    assert (
        parent_id(only(spans, "chat qwen3.5:9b")) == parent_id(only(spans, "router.score")) == root
    )


def test_without_an_sdk_the_global_no_op_providers_are_used():
    """No provider given and none installed: spans come from the API's global no-op provider
    (nothing recorded, no trace id), and Telemetry installs no provider of its own."""
    providers = trace.get_tracer_provider(), metrics.get_meter_provider()
    telemetry = Telemetry(capture_content=True)
    request = routed()
    with telemetry.request(request, POLICY) as t:
        assert not t.span.is_recording() and not t.span.get_span_context().is_valid
        with t.attempt(LOCAL, model_request(request)) as attempt:
            assert not attempt.span.is_recording()
        with t.stage("router.score") as score:
            assert not score.is_recording()
    answer_locally(telemetry)
    escalate_after_local_failure(telemetry)
    fail_everywhere(telemetry)
    telemetry.budget_burn("support", 0.5)
    assert (trace.get_tracer_provider(), metrics.get_meter_provider()) == providers


def test_configure_console_prints_spans_and_metrics():
    out = io.StringIO()
    tracer_provider, meter_provider = configure_console(out)
    assert trace.get_tracer_provider() is not tracer_provider
    answer_locally(Telemetry(tracer_provider, meter_provider, capture_content=False))
    tracer_provider.shutdown()
    meter_provider.shutdown()  # flushes the metrics
    printed = out.getvalue()
    assert '"name": "route"' in printed
    assert '"name": "chat qwen3.5:9b"' in printed
    assert '"name": "router.requests"' in printed
    assert '"service.name": "cost-router"' in printed
    assert "Zanzibar" not in printed


def test_only_the_request_duration_offers_an_exemplar(
    telemetry: Telemetry, exporter: InMemorySpanExporter, reader: InMemoryMetricReader
):
    """The SDK's default (trace-based) exemplar filter samples points recorded in a sampled
    span's context: the request duration is, and links to the `route` span; the other points
    are recorded outside it, so they pay for no exemplar."""
    answer_locally(telemetry)
    root = only(spans_by_name(exporter), "route")
    found = points(reader)
    [(_, duration)] = found["router.request.duration"]
    assert [e.span_id for e in duration.exemplars] == [span_id(root)]
    for name in ("router.requests", "router.cost", "gen_ai.client.token.usage"):
        assert all(not p.exemplars for _, p in found[name]), name


def test_attribute_sets_are_reused_and_bounded() -> None:
    from router.telemetry._attributes import BUILT_MAX  # noqa: PLC0415
    from router.telemetry._metrics import _Bound  # noqa: PLC0415

    built: list[tuple[str | None, ...]] = []
    bound = _Bound(lambda *key: built.append(key) or {"k": str(key)})
    assert bound("a", None) is bound("a", None) and built == [("a", None)]
    for i in range(BUILT_MAX + 10):
        bound(str(i))
    assert len(bound._sets) <= BUILT_MAX


def test_attempt_span_starts_are_built_once_per_backend_and_settings(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    request = routed()
    sent = [model_request(request), replace(model_request(request), max_tokens=64)]
    with telemetry.request(request, POLICY) as t:
        for backend, model_req in [
            (GPT, sent[0]),
            (GPT, sent[1]),
            (LOCAL, sent[0]),
            (GPT, sent[0]),
        ]:
            with t.attempt(backend, model_req):
                pass
    chats = [s for s in exporter.get_finished_spans() if s.name.startswith("chat")]
    assert [(s.name, attrs(s)["gen_ai.request.max_tokens"]) for s in chats] == [
        ("chat gpt-5.4", 256),
        ("chat gpt-5.4", 64),
        ("chat qwen3.5:9b", 256),
        ("chat gpt-5.4", 256),
    ]
    assert attrs(chats[2])["server.address"] == "127.0.0.1" and "server.address" not in attrs(
        chats[0]
    )
