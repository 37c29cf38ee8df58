"""The router's instruments, created once, and how a finished request is counted.

Everything is recorded from the `RequestRecord`, the same object the ledger stores, so metric
totals and ledger totals agree. Money is counted in USD as floats (OpenTelemetry has no decimal).

Per request that is one point per counter and histogram, so it is kept cheap: the counters
are in-process sums reported at collection (`_counters.py`); the four histogram points a request
makes are recorded with attribute sets built once per distinct key and reused (`_Bound`), and
only `router.request.duration` in the request's trace context, so that an SDK sampling
exemplars links it to the request's trace; the other points are recorded outside it and offer
no exemplar (one costs several microseconds in the SDK, and the duration's already leads from
the metrics to the trace).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import Meter

from router.telemetry._attributes import BUILT_MAX, Attributes, known, known_pair
from router.telemetry._names import OPERATION_CHAT, provider_name

if TYPE_CHECKING:
    from router._records import AttemptRecord, RequestRecord
    from router.telemetry._counters import Counters

# Bucket boundaries advised by the GenAI semantic conventions.
_OPERATION_SECONDS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
_TOKENS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
# A routed request may retry and fall back within a deadline of up to an hour.
_REQUEST_SECONDS = (*_OPERATION_SECONDS, 163.84, 327.68, 655.36, 1310.72, 2621.44)
Key = tuple[str | None, ...]


class _Bound:
    """Attribute sets built once per distinct key (`build(*key)`) and reused. The SDK copies
    what it is given, so sharing one dict between points is safe."""

    def __init__(self, build: Callable[..., Attributes]) -> None:
        self._build = build
        self._sets: dict[Key, Attributes] = {}

    def __call__(self, *key: str | None) -> Attributes:
        found = self._sets.get(key)
        if found is None:
            if len(self._sets) >= BUILT_MAX:  # a flood of team names: start over, stay bounded
                self._sets.clear()
            found = self._sets[key] = self._build(*key)
        return found


class Instruments:
    """Every instrument the router records to: the histograms and the gauge made from one meter,
    and the counters shared by every `Telemetry` on its provider (`_counters.py`)."""

    def __init__(self, meter: Meter, counters: Counters) -> None:
        self.counters = counters
        self.request_duration = meter.create_histogram(
            "router.request.duration",
            unit="s",
            description="Time to route and answer a request, retries and fallbacks included",
            explicit_bucket_boundaries_advisory=_REQUEST_SECONDS,
        )
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Tokens used per model attempt, by token type",
            explicit_bucket_boundaries_advisory=_TOKENS,
        )
        self.operation_duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="Duration of each model attempt",
            explicit_bucket_boundaries_advisory=_OPERATION_SECONDS,
        )
        self.budget_burn = meter.create_gauge(
            "router.budget.burn",
            unit="1",
            description="Fraction of a team's budget spent in the current period",
        )
        # A context with no span: points recorded in it offer no exemplar (see the docstring).
        self._untraced: Context = trace.set_span_in_context(trace.INVALID_SPAN)
        self._outcome = _Bound(known_pair("router.tier", "router.status"))
        self._operation = _Bound(_operation)
        self._tokens = _Bound(_tokens)

    def record_request(self, record: RequestRecord) -> None:
        self.counters.record(record)
        outcome = self._outcome(record.tier, record.status)
        self.request_duration.record(record.latency_ms / 1000.0, outcome)  # in the trace
        for attempt in record.attempts:
            self.record_attempt(attempt)

    def record_attempt(self, attempt: AttemptRecord) -> None:
        untraced, key = self._untraced, (attempt.provider, attempt.model, attempt.tier)
        operation = self._operation(*key, attempt.error_class)
        self.operation_duration.record(attempt.latency_ms / 1000.0, operation, untraced)
        if attempt.outcome != "error":
            self.token_usage.record(attempt.tokens_in, self._tokens(*key, "input"), untraced)
            self.token_usage.record(attempt.tokens_out, self._tokens(*key, "output"), untraced)

    def record_budget_burn(self, team: str, fraction: float) -> None:
        self.budget_burn.set(fraction, {"router.team": team})


def _operation(provider: str, model: str, tier: str, error_type: str | None) -> Attributes:
    return known({**_model_attributes(provider, model, tier), "error.type": error_type})


def _tokens(provider: str, model: str, tier: str, token_type: str) -> Attributes:
    return {**_model_attributes(provider, model, tier), "gen_ai.token.type": token_type}


def _model_attributes(provider: str, model: str, tier: str) -> Attributes:
    return {
        "gen_ai.operation.name": OPERATION_CHAT,
        "gen_ai.provider.name": provider_name(provider),
        "gen_ai.request.model": model,
        "router.tier": tier,
    }
