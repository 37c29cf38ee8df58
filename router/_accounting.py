"""Money: what each attempt cost, what the baseline would have cost, and the ledger record.

Savings method (docs/reports.md): the baseline is the policy's baseline frontier model. When that
model answered with reported usage, its real tokens are used. Otherwise its prompt tokens are
counted with tiktoken and its output tokens estimated from the answer actually given, and the
record is marked `baseline_estimated`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from router._records import ZERO, AttemptRecord, CapturedContent, RequestRecord
from router._request import RoutedRequest
from router.backends import Backend, ModelRequest, ModelResponse
from router.backends._usage import estimate_tokens, prompt_token_bound
from router.errors import RouterError
from router.policy import Policy
from router.pricing import PriceTable

log = logging.getLogger("router")
_POSSIBLY_BILLED = frozenset(
    {
        "BackendUnavailableError",
        "MalformedResponseError",
        "BackendTimeoutError",
        "RequestCancelledError",  # the call was out when the caller went away
        "RepetitiveOutputError",  # stopped mid-answer: it had generated (and billed) tokens
    }
)


def attempt_succeeded(
    backend: Backend,
    response: ModelResponse,
    latency_ms: float,
    prices: PriceTable,
    purpose: str = "answer",
    *,
    sent: ModelRequest | None = None,
) -> AttemptRecord:
    """A call that answered, at the usage it reported; flagged `over_reservation` when that is
    more than the request `sent` could cost (see `over_reservation`)."""
    unit = prices.unit_price(backend.model)
    return AttemptRecord(
        model=backend.model,
        provider=backend.provider,
        tier=backend.tier,
        tokens_in=response.input_tokens,
        tokens_out=response.output_tokens,
        latency_ms=latency_ms,
        outcome="ok",
        cost_usd=unit.cost(response.input_tokens, response.output_tokens),
        unit_price_in=unit.input_per_mtok,
        unit_price_out=unit.output_per_mtok,
        tokens_estimated=response.usage_estimated,
        purpose=purpose,
        over_reservation=over_reservation(backend, response, sent),
    )


def over_reservation(backend: Backend, response: ModelResponse, sent: ModelRequest | None) -> bool:
    """A frontier answer billed beyond the request's reservation: more prompt tokens than the
    byte bound of what was sent, or more output tokens than its `max_tokens`. Logged."""
    if sent is None or backend.tier != "frontier" or response.usage_estimated:
        return False
    prompt_bound = prompt_token_bound(sent.messages)
    output_bound = sent.max_tokens if sent.max_tokens is not None else response.output_tokens
    if response.input_tokens <= prompt_bound and response.output_tokens <= output_bound:
        return False
    log.warning(
        "usage beyond its reservation: provider=%s model=%s tokens_in=%d (bound %d) "
        "tokens_out=%d (max_tokens %s); settled at the reported usage",
        backend.provider,
        backend.model,
        response.input_tokens,
        prompt_bound,
        response.output_tokens,
        sent.max_tokens,
    )
    return True


def attempt_failed(
    backend: Backend,
    error: RouterError,
    latency_ms: float,
    prices: PriceTable,
    purpose: str = "answer",
) -> AttemptRecord:
    """A failed call costs nothing we can see; a frontier call that may have been billed (a
    dropped or unreadable body, or a timeout after it was sent) is flagged as possibly billed."""
    unit = prices.unit_price(backend.model)
    dropped = type(error).__name__ in _POSSIBLY_BILLED
    return AttemptRecord(
        model=backend.model,
        provider=backend.provider,
        tier=backend.tier,
        tokens_in=0,
        tokens_out=0,
        latency_ms=latency_ms,
        outcome="error",
        cost_usd=ZERO,
        unit_price_in=unit.input_per_mtok,
        unit_price_out=unit.output_per_mtok,
        error_class=type(error).__name__,
        possibly_billed=dropped and backend.tier == "frontier",
        purpose=purpose,
    )


@dataclass(frozen=True, slots=True)
class Baseline:
    model: str
    cost_usd: Decimal
    estimated: bool


def baseline_cost(
    policy: Policy, prices: PriceTable, request: RoutedRequest, answer: ModelResponse | None
) -> Baseline:
    model = policy.frontier.baseline
    if answer is None:
        return Baseline(model, ZERO, True)
    if answer.model == model and not answer.usage_estimated:
        return Baseline(model, prices.cost(model, answer.input_tokens, answer.output_tokens), False)
    tokens_out = estimate_tokens(answer.text)
    return Baseline(model, prices.cost(model, request.prompt_tokens, tokens_out), True)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the pipeline learned about one request, ready to be written down."""

    request: RoutedRequest
    attempts: tuple[AttemptRecord, ...]
    answer: ModelResponse | None
    answered_by: Backend | None
    rule: str
    score: float | None
    threshold: float | None
    latency_ms: float
    verification: str | None = None
    escalation_reason: str | None = None
    error: RouterError | None = None
    artefact_version: str | None = None


def build_record(
    outcome: Outcome, policy: Policy, prices: PriceTable, created_at: datetime
) -> RequestRecord:
    request, attempts = outcome.request, outcome.attempts
    cost = sum((a.cost_usd for a in attempts), ZERO)
    local_cost = sum((a.cost_usd for a in attempts if a.tier == "local"), ZERO)
    base = baseline_cost(policy, prices, request, outcome.answer)
    backend = outcome.answered_by
    capture = policy.privacy.capture_content and outcome.answer is not None
    return RequestRecord(
        request_id=request.request_id,
        created_at=created_at,
        policy_name=policy.name,
        policy_version=policy.version,
        status="ok" if outcome.error is None else "error",
        tier=backend.tier if backend else None,
        model=backend.model if backend else None,
        decision_rule=outcome.rule,
        decision_score=outcome.score,
        decision_threshold=outcome.threshold,
        attempts=attempts,
        cost_usd=cost,
        local_cost_usd=local_cost,
        baseline_model=base.model,
        baseline_cost_usd=base.cost_usd,
        baseline_estimated=base.estimated,
        savings_usd=base.cost_usd - cost,
        price_table_version=prices.version,
        latency_ms=outcome.latency_ms,
        prompt_hash=request.prompt_hash,
        prompt_tokens_estimate=request.prompt_tokens,
        team=request.team,
        app=request.app,
        user=_user(request.user, policy.privacy.hash_users),
        user_is_hashed=policy.privacy.hash_users,
        tags=dict(request.tags),
        verification=outcome.verification,
        escalation_reason=outcome.escalation_reason,
        error_class=type(outcome.error).__name__ if outcome.error else None,
        content=_content(request, outcome.answer) if capture else None,
        artefact_version=outcome.artefact_version,
    )


def _user(user: str | None, hashed: bool) -> str | None:
    if user is None or not hashed:
        return user
    return hashlib.sha256(user.encode()).hexdigest()[:32]


_NUL_SYMBOL = "\u2400"  # "SYMBOL FOR NUL": PostgreSQL refuses NUL in text, SQLite keeps it


def _content(request: RoutedRequest, answer: ModelResponse | None) -> CapturedContent:
    """The captured text, each NUL stored as U+2400 so both databases keep the row alike."""
    prompt = "\n\n".join(f"{m['role']}: {m['content']}" for m in request.messages)
    text = answer.text if answer else ""
    return CapturedContent(
        prompt=prompt.replace("\x00", _NUL_SYMBOL), answer=text.replace("\x00", _NUL_SYMBOL)
    )
