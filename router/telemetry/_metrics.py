"""The router's instruments, created once, and how a finished request is counted.

Everything is recorded from the `RequestRecord`, the same object the ledger stores, so metric
totals and ledger totals agree. Money is counted in USD as floats (OpenTelemetry has no decimal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.metrics import Meter

from router.telemetry._attributes import Attributes, known
from router.telemetry._names import OPERATION_CHAT, provider_name

if TYPE_CHECKING:
    from router._records import AttemptRecord, RequestRecord

# Bucket boundaries advised by the GenAI semantic conventions.
_OPERATION_SECONDS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
_TOKENS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
# A routed request may retry and fall back within a deadline of up to an hour.
_REQUEST_SECONDS = (*_OPERATION_SECONDS, 163.84, 327.68, 655.36, 1310.72, 2621.44)


class Instruments:
    """Every instrument the router records to, made from one meter."""

    def __init__(self, meter: Meter) -> None:
        self.requests = meter.create_counter(
            "router.requests", unit="{request}", description="Routed requests, by tier and status"
        )
        self.escalations = meter.create_counter(
            "router.escalations",
            unit="{request}",
            description="Requests answered by a backend other than the first choice, by reason",
        )
        self.cost = meter.create_counter(
            "router.cost", unit="USD", description="What model attempts cost"
        )
        self.savings = meter.create_up_down_counter(
            "router.savings",
            unit="USD",
            description="Baseline cost minus actual cost (negative when routing cost more)",
        )
        self.request_duration = meter.create_histogram(
            "router.request.duration",
            unit="s",
            description="Time to route and answer a request, retries and fallbacks included",
            explicit_bucket_boundaries_advisory=_REQUEST_SECONDS,
        )
        self.verification_failures = meter.create_counter(
            "router.verification.failures",
            unit="{request}",
            description="Answers that failed verification",
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

    def record_request(self, record: RequestRecord) -> None:
        outcome = known({"router.tier": record.tier, "router.status": record.status})
        self.requests.add(1, outcome)
        self.request_duration.record(record.latency_ms / 1000.0, outcome)
        by_team = known({"router.tier": record.tier, "router.team": record.team})
        self.savings.add(float(record.savings_usd), by_team)
        if record.escalation_reason is not None:
            self.escalations.add(1, {"router.escalation_reason": record.escalation_reason})
        if record.verification == "failed":
            self.verification_failures.add(
                1, known({"router.tier": record.tier, "router.model": record.model})
            )
        for attempt in record.attempts:
            self.record_attempt(attempt, team=record.team)

    def record_attempt(self, attempt: AttemptRecord, *, team: str | None) -> None:
        model = _model_attributes(attempt)
        spent_on = known(
            {
                "router.tier": attempt.tier,
                "gen_ai.request.model": attempt.model,
                "router.team": team,
                "router.attempt.purpose": attempt.purpose,
            }
        )
        self.cost.add(float(attempt.cost_usd), spent_on)
        self.operation_duration.record(
            attempt.latency_ms / 1000.0, known({**model, "error.type": attempt.error_class})
        )
        if attempt.outcome != "error":
            self.token_usage.record(attempt.tokens_in, {**model, "gen_ai.token.type": "input"})
            self.token_usage.record(attempt.tokens_out, {**model, "gen_ai.token.type": "output"})

    def record_budget_burn(self, team: str, fraction: float) -> None:
        self.budget_burn.set(fraction, {"router.team": team})


def _model_attributes(attempt: AttemptRecord) -> Attributes:
    return {
        "gen_ai.operation.name": OPERATION_CHAT,
        "gen_ai.provider.name": provider_name(attempt.provider),
        "gen_ai.request.model": attempt.model,
        "router.tier": attempt.tier,
    }
