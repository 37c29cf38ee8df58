"""The ledger's tables: `requests` (one row per request), `attempts`, `request_content`,
`budget_windows` (budget burn per team/app and period), the report rollup (`report_rollup`,
`report_latency`, `report_pending`; see router/ledger/_rollup.py), and the learning store
(`learning_requests`, `learning_labels`, `learning_attempts`, `learning_artefacts`; see
router/learning).

`request_id` is the idempotency key: writing the same request twice keeps the first row.
Money columns are exact (`Money`), times are UTC (`UTCDateTime`). Any change here needs a new
migration in `migrations/versions/` (migrations are append-only); `tests/test_migrations.py`
fails when the two disagree.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, false
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from router.ledger._types import Money, UTCDateTime

TAGS_TYPE = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of the ledger tables; `Base.metadata` is what migrations must produce."""


class RequestRow(Base):
    """One routed request: the decision, what it cost, and what the baseline would have cost."""

    __tablename__ = "requests"

    request_id: Mapped[str] = mapped_column(String, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ingest: Mapped[str] = mapped_column(String)  # "direct" or "outbox"
    policy_name: Mapped[str] = mapped_column(String)
    policy_version: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    tier: Mapped[str | None] = mapped_column(String)
    model: Mapped[str | None] = mapped_column(String)
    decision_rule: Mapped[str] = mapped_column(String)
    decision_score: Mapped[float | None]
    decision_threshold: Mapped[float | None]
    attempt_count: Mapped[int]
    cost_usd: Mapped[Decimal] = mapped_column(Money)
    local_cost_usd: Mapped[Decimal] = mapped_column(Money)
    baseline_model: Mapped[str] = mapped_column(String)
    baseline_cost_usd: Mapped[Decimal] = mapped_column(Money)
    baseline_estimated: Mapped[bool]
    savings_usd: Mapped[Decimal] = mapped_column(Money)
    price_table_version: Mapped[str] = mapped_column(String)
    latency_ms: Mapped[float]
    prompt_hash: Mapped[str] = mapped_column(String)
    prompt_tokens_estimate: Mapped[int]
    team: Mapped[str | None] = mapped_column(String)
    app: Mapped[str | None] = mapped_column(String)
    user_id: Mapped[str | None] = mapped_column(String)
    user_is_hashed: Mapped[bool]
    tags: Mapped[dict[str, Any]] = mapped_column(TAGS_TYPE)
    verification: Mapped[str | None] = mapped_column(String)
    escalation_reason: Mapped[str | None] = mapped_column(String)
    error_class: Mapped[str | None] = mapped_column(String)
    artefact_version: Mapped[str | None] = mapped_column(String)  # the classifier that decided

    __table_args__ = (
        Index("ix_requests_created_at", "created_at"),
        Index("ix_requests_team", "team"),
        Index("ix_requests_app", "app"),
        Index("ix_requests_model", "model"),
        # Latency percentiles by tier read this index in order, without touching the table;
        # it also serves every filter on tier (the single-column index went: migration 0007).
        Index("ix_requests_tier_latency", "tier", "latency_ms", "created_at"),
    )


class AttemptRow(Base):
    """One call to one model; `seq` is its position in the request (0 = first)."""

    __tablename__ = "attempts"

    request_id: Mapped[str] = mapped_column(
        String, ForeignKey("requests.request_id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    model: Mapped[str] = mapped_column(String)
    provider: Mapped[str] = mapped_column(String)
    tier: Mapped[str] = mapped_column(String)
    purpose: Mapped[str] = mapped_column(String)
    outcome: Mapped[str] = mapped_column(String)
    tokens_in: Mapped[int]
    tokens_out: Mapped[int]
    tokens_estimated: Mapped[bool]
    unit_price_in: Mapped[Decimal] = mapped_column(Money)
    unit_price_out: Mapped[Decimal] = mapped_column(Money)
    cost_usd: Mapped[Decimal] = mapped_column(Money)
    possibly_billed: Mapped[bool]
    latency_ms: Mapped[float]
    error_class: Mapped[str | None] = mapped_column(String)
    # usage reported beyond the request's reservation (migration 0005)
    over_reservation: Mapped[bool] = mapped_column(server_default=false(), default=False)

    __table_args__ = (Index("ix_attempts_model", "model"),)


class ContentRow(Base):
    """Prompt and answer text, written only when the policy turned content capture on."""

    __tablename__ = "request_content"

    request_id: Mapped[str] = mapped_column(
        String, ForeignKey("requests.request_id", ondelete="CASCADE"), primary_key=True
    )
    prompt: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)


class BudgetWindowRow(Base):
    """Frontier spend and in-flight reservations in one budget window (see router/budget).

    `scope` is `team:NAME` or `app:NAME`; `period` is `day:YYYY-MM-DD` or `month:YYYY-MM` (UTC).
    Caps live in the policy, not here, so changing a cap takes effect at once.
    """

    __tablename__ = "budget_windows"

    scope: Mapped[str] = mapped_column(String, primary_key=True)
    period: Mapped[str] = mapped_column(String, primary_key=True)
    spent_usd: Mapped[Decimal] = mapped_column(Money)
    reserved_usd: Mapped[Decimal] = mapped_column(Money)


class LearningRequestRow(Base):
    """A request the learning loop may label: what the model is trained on, instead of the text.

    `features` is `hashed_features(prompt)` (index -> value); `prompt` is kept only under
    `privacy.capture_content`. Sensitive and local-only requests are never stored here. `task`
    is the request's `metadata["task"]` (a labelled file row's `task`), the tag a classifier
    with per-task offsets scores it with (migration 0008).
    """

    __tablename__ = "learning_requests"

    request_id: Mapped[str] = mapped_column(String, primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    features: Mapped[dict[str, Any]] = mapped_column(TAGS_TYPE)
    features_version: Mapped[str] = mapped_column(String)
    prompt: Mapped[str | None] = mapped_column(Text)
    local_model: Mapped[str] = mapped_column(String)
    frontier_model: Mapped[str | None] = mapped_column(String)
    answered_by: Mapped[str] = mapped_column(String)  # tier that answered the caller
    artefact_version: Mapped[str | None] = mapped_column(String)
    decision_score: Mapped[float | None]
    task: Mapped[str | None] = mapped_column(String)

    __table_args__ = (Index("ix_learning_requests_observed_at", "observed_at"),)


class LearningLabelRow(Base):
    """One gain label, `quality(frontier) - quality(local)` in [-1, 1], and where it came from.

    One per request and source, so a repeated feedback or replayed file changes nothing.
    """

    __tablename__ = "learning_labels"

    request_id: Mapped[str] = mapped_column(String, primary_key=True)
    # shadow | escalation | verified | feedback | file
    source: Mapped[str] = mapped_column(String, primary_key=True)
    gain: Mapped[float]
    weight: Mapped[float]
    judge: Mapped[str] = mapped_column(String)
    labelled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    feedback_score: Mapped[float | None]
    note: Mapped[str | None] = mapped_column(Text)  # feedback text: only under content capture

    __table_args__ = (Index("ix_learning_labels_labelled_at", "labelled_at"),)


class LearningAttemptRow(Base):
    """A paid call made to learn, not to answer: a shadow comparison or a pairwise judgement.

    Never part of a request's cost or savings; `router report` shows it as learning spend.
    """

    __tablename__ = "learning_attempts"

    request_id: Mapped[str] = mapped_column(String, primary_key=True)
    purpose: Mapped[str] = mapped_column(String, primary_key=True)  # "shadow" | "judge"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    model: Mapped[str] = mapped_column(String)
    provider: Mapped[str] = mapped_column(String)
    tier: Mapped[str] = mapped_column(String)
    outcome: Mapped[str] = mapped_column(String)
    tokens_in: Mapped[int]
    tokens_out: Mapped[int]
    tokens_estimated: Mapped[bool]
    unit_price_in: Mapped[Decimal] = mapped_column(Money)
    unit_price_out: Mapped[Decimal] = mapped_column(Money)
    cost_usd: Mapped[Decimal] = mapped_column(Money)
    possibly_billed: Mapped[bool]
    latency_ms: Mapped[float]
    error_class: Mapped[str | None] = mapped_column(String)

    __table_args__ = (Index("ix_learning_attempts_created_at", "created_at"),)


class LearningArtefactRow(Base):
    """Each candidate `router learn` built, whether it was promoted, and on what evidence."""

    __tablename__ = "learning_artefacts"

    version: Mapped[str] = mapped_column(String, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String)  # "promoted" | "rejected"
    labels: Mapped[int]
    holdout: Mapped[int]
    candidate_value: Mapped[float | None]
    champion_value: Mapped[float | None]
    champion_version: Mapped[str | None] = mapped_column(String)
    reason: Mapped[str] = mapped_column(Text)


class RollupRow(Base):
    """Sums of `requests` per UTC day and dimensions, for reports (migration 0006,
    router/ledger/_rollup.py). NULL dimensions are stored as ''. Rows not summed in yet are
    listed in `report_pending`."""

    __tablename__ = "report_rollup"

    day: Mapped[date] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String, primary_key=True)
    app: Mapped[str] = mapped_column(String, primary_key=True)
    tier: Mapped[str] = mapped_column(String, primary_key=True)
    model: Mapped[str] = mapped_column(String, primary_key=True)
    reason: Mapped[str] = mapped_column(String, primary_key=True)  # escalation reason
    requests: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    verification_failures: Mapped[int] = mapped_column(BigInteger)
    baseline_estimated: Mapped[int] = mapped_column(BigInteger)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_usd: Mapped[Decimal] = mapped_column(Money)
    baseline_cost_usd: Mapped[Decimal] = mapped_column(Money)
    savings_usd: Mapped[Decimal] = mapped_column(Money)
    local_cost_usd: Mapped[Decimal] = mapped_column(Money)


class LatencyRow(Base):
    """Request latencies as histograms per day, tier and one of team, app or model (`dim` says
    which, `value` is its value; each request counts once under each): bucket b counts latencies
    in [1.02^b, 1.02^(b+1)) ms, so a percentile read from it is within 1%."""

    __tablename__ = "report_latency"

    dim: Mapped[str] = mapped_column(String, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String, primary_key=True)
    tier: Mapped[str] = mapped_column(String, primary_key=True)
    bucket: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    requests: Mapped[int] = mapped_column(BigInteger)


class PendingRow(Base):
    """A request written since the rollup last summed the rows in (a trigger adds it in the
    row's own transaction; a report folds and deletes it). No key: appending stays cheap."""

    __tablename__ = "report_pending"

    request_id: Mapped[str] = mapped_column(String)

    __mapper_args__ = {"primary_key": ("request_id",)}  # noqa: RUF012 - the ORM needs one


metadata = Base.metadata
