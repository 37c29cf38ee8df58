"""What the request pipeline hands to the ledger: one record per request, one per model attempt.

These are plain frozen dataclasses so the ledger, the simulator and telemetry can read them
without importing the request path. Money is `Decimal` (USD), times are timezone-aware UTC.
No prompt or answer text lives here unless content capture is on (`RequestRecord.content`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

Tier = Literal["local", "frontier"]
AttemptOutcome = Literal["ok", "error", "rejected"]
RequestStatus = Literal["ok", "error"]

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One call to one model, successful or not.

    `unit_price_in`/`unit_price_out` are USD per million tokens as applied, so anyone can recompute
    `cost_usd` from the row. `possibly_billed` is True when the upstream may have charged for a call
    whose answer we never received in full (e.g. the connection dropped mid-body).
    `over_reservation` is True when a frontier model reported usage beyond what the request
    could cost (more prompt tokens than its byte bound, or more output than the `max_tokens`
    it was sent): billed beyond its budget reservation.
    """

    model: str
    provider: str
    tier: Tier
    tokens_in: int
    tokens_out: int
    latency_ms: float
    outcome: AttemptOutcome
    cost_usd: Decimal
    unit_price_in: Decimal
    unit_price_out: Decimal
    error_class: str | None = None
    purpose: str = "answer"  # answer, verify, self-consistency; learning: shadow, judge
    possibly_billed: bool = False
    tokens_estimated: bool = False
    over_reservation: bool = False


@dataclass(frozen=True, slots=True)
class CapturedContent:
    """Prompt and answer text; present only when the policy turns content capture on."""

    prompt: str
    answer: str


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One routed request, as the ledger stores it.

    `cost_usd` always equals the sum of the attempts' `cost_usd`. `savings_usd` is
    `baseline_cost_usd - cost_usd`. `user` is already hashed unless `user_is_hashed` is False
    (the policy allowed plain identifiers).
    """

    request_id: str
    created_at: datetime
    policy_name: str
    policy_version: str
    status: RequestStatus
    tier: Tier | None
    model: str | None
    decision_rule: str
    decision_score: float | None
    decision_threshold: float | None
    attempts: tuple[AttemptRecord, ...]
    cost_usd: Decimal
    local_cost_usd: Decimal
    baseline_model: str
    baseline_cost_usd: Decimal
    baseline_estimated: bool
    savings_usd: Decimal
    price_table_version: str
    latency_ms: float
    prompt_hash: str
    prompt_tokens_estimate: int
    team: str | None = None
    app: str | None = None
    user: str | None = None
    user_is_hashed: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)
    verification: str | None = None  # "passed" | "failed" | "skipped" | None
    escalation_reason: str | None = None
    error_class: str | None = None
    content: CapturedContent | None = None
    artefact_version: str | None = None  # version of the classifier artefact that decided
