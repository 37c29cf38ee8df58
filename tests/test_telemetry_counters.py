"""The counters are in-process sums reported by observable instruments: an exporter must read
what synchronous counters `add()`-ed per request would have given it (docs/telemetry.md)."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions
from opentelemetry.sdk.metrics import (
    Counter,
    MeterProvider,
    ObservableCounter,
    ObservableUpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader, Sum

from router._records import RequestRecord
from router.telemetry import Telemetry
from router.telemetry._counters import SERIES_MAX, Sums
from tests.test_telemetry import (
    CLAUDE,
    GPT,
    LOCAL,
    POLICY,
    answer_locally,
    failed_attempt,
    ok_attempt,
    record,
    routed,
)

COUNTERS = (
    "router.requests",
    "router.escalations",
    "router.cost",
    "router.savings",
    "router.verification.failures",
)


def requests() -> list[RequestRecord]:
    """A mix: local answers, an escalation, a failed verification, a failure, no team."""
    escalated = record(
        (failed_attempt(LOCAL), ok_attempt(GPT, "0.0015")), GPT, escalation_reason="local-failed"
    )
    failed = record((ok_attempt(CLAUDE, "0.005"),), CLAUDE, verification="failed")
    error = record((failed_attempt(GPT, "RateLimitError"),), None, error_class="AllAttemptsFailed")
    local = record((ok_attempt(LOCAL, "0"),), LOCAL)
    return [local, escalated, failed, error, replace(local, team=None), escalated]


def sums(reader: InMemoryMetricReader) -> dict[str, Any]:
    """name -> (unit, description, monotonic, temporality, {attributes: value})."""
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, Any] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name in COUNTERS:
                    assert isinstance(m.data, Sum)
                    points = {frozenset(p.attributes.items()): p.value for p in m.data.data_points}
                    found[m.name] = (
                        m.unit,
                        m.description,
                        m.data.is_monotonic,
                        m.data.aggregation_temporality,
                        points,
                    )
    return found


def synchronous_reference(records: list[RequestRecord], reader: InMemoryMetricReader) -> None:
    """The counters as they were before they became observable: one `add()` per point."""
    meter = MeterProvider(metric_readers=[reader]).get_meter("router")
    req = "{request}"
    requests = meter.create_counter(
        "router.requests", unit=req, description="Routed requests, by tier and status"
    )
    escalations = meter.create_counter(
        "router.escalations",
        unit=req,
        description="Requests answered by a backend other than the first choice, by reason",
    )
    cost = meter.create_counter("router.cost", unit="USD", description="What model attempts cost")
    savings = meter.create_up_down_counter(
        "router.savings",
        unit="USD",
        description="Baseline cost minus actual cost (negative when routing cost more)",
    )
    failures = meter.create_counter(
        "router.verification.failures", unit=req, description="Answers that failed verification"
    )
    for r in records:
        requests.add(1, known({"router.tier": r.tier, "router.status": r.status}))
        savings.add(float(r.savings_usd), known({"router.tier": r.tier, "router.team": r.team}))
        if r.escalation_reason is not None:
            escalations.add(1, {"router.escalation_reason": r.escalation_reason})
        if r.verification == "failed":
            failures.add(1, known({"router.tier": r.tier, "router.model": r.model}))
        for a in r.attempts:
            spent_on = {
                "router.tier": a.tier,
                "gen_ai.request.model": a.model,
                "router.team": r.team,
                "router.attempt.purpose": a.purpose,
            }
            cost.add(float(a.cost_usd), known(spent_on))


def known(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def route_all(telemetry: Telemetry, records: list[RequestRecord]) -> None:
    for r in records:
        with telemetry.request(routed(team=r.team), POLICY) as t:
            t.finish(r)


def test_an_exporter_reads_what_synchronous_counters_gave():
    records = requests()
    ours, reference = InMemoryMetricReader(), InMemoryMetricReader()
    route_all(Telemetry(meter_provider=MeterProvider(metric_readers=[ours])), records)
    synchronous_reference(records, reference)
    assert sums(ours) == sums(reference)
    assert set(sums(ours)) == set(COUNTERS)


def test_counters_stay_cumulative_or_delta_as_the_reader_prefers():
    records = requests()
    delta = {
        Counter: AggregationTemporality.DELTA,
        ObservableCounter: AggregationTemporality.DELTA,
        ObservableUpDownCounter: AggregationTemporality.DELTA,
    }
    cumulative, deltas = InMemoryMetricReader(), InMemoryMetricReader(preferred_temporality=delta)
    telemetry = Telemetry(meter_provider=MeterProvider(metric_readers=[cumulative, deltas]))
    on = frozenset({("router.tier", "local"), ("router.status", "ok")})
    route_all(telemetry, records[:1])
    assert sums(cumulative)["router.requests"][4][on] == 1
    assert sums(deltas)["router.requests"][4][on] == 1
    route_all(telemetry, records[:1] * 2)
    assert sums(cumulative)["router.requests"][4][on] == 3
    assert sums(deltas)["router.requests"][4][on] == 2


def test_telemetries_on_one_provider_share_their_counters():
    """A reloaded policy builds a new `Telemetry`; the SDK keeps the first observable
    instrument's callbacks, so both must count into the same sums."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    answer_locally(Telemetry(meter_provider=provider))
    answer_locally(Telemetry(meter_provider=provider))
    on = frozenset({("router.tier", "local"), ("router.status", "ok")})
    assert sums(reader)["router.requests"][4] == {on: 2}


def test_telemetries_on_the_global_provider_share_their_counters():
    """The global provider is one whether it is still the API's proxy or an SDK set later."""
    first, second = Telemetry(), Telemetry(meter_provider=metrics.get_meter_provider())
    assert first._instruments.counters is second._instruments.counters


def test_series_past_the_cardinality_limit_are_summed_into_one_overflow_series():
    lock = threading.Lock()
    teams = Sums(lock, lambda team: {"router.team": team})
    with lock:
        for i in range(SERIES_MAX + 5):
            teams.add(1, f"team-{i}")
        teams.add(1, "team-0")
    observed = teams.observe(CallbackOptions())
    assert len(observed) == SERIES_MAX + 1
    assert observed[0].value == 2
    assert (observed[-1].attributes, observed[-1].value) == ({"otel.metric.overflow": True}, 5)


def test_no_count_is_lost_while_a_reader_collects_from_another_thread():
    reader = InMemoryMetricReader()
    telemetry = Telemetry(meter_provider=MeterProvider(metric_readers=[reader]))
    done = record((ok_attempt(LOCAL, "0"),), LOCAL)

    def count() -> None:
        for _ in range(500):
            telemetry._instruments.counters.record(done)

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        reader.get_metrics_data()
    for thread in threads:
        thread.join()
    on = frozenset({("router.tier", "local"), ("router.status", "ok")})
    assert sums(reader)["router.requests"][4] == {on: 2000}
