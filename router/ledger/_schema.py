"""The ledger's tables: `requests` (one row per request), `attempts`, `request_content`, and
`budget_windows` (budget burn per team/app and period).

`request_id` is the idempotency key: writing the same request twice keeps the first row.
Money columns are exact (`Money`), times are UTC (`UTCDateTime`). Any change here needs a new
migration in `migrations/versions/` (migrations are append-only); `tests/test_migrations.py`
fails when the two disagree.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
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

    __table_args__ = (
        Index("ix_requests_created_at", "created_at"),
        Index("ix_requests_team", "team"),
        Index("ix_requests_app", "app"),
        Index("ix_requests_model", "model"),
        Index("ix_requests_tier", "tier"),
        # Latency percentiles by tier read this index in order, without touching the table.
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


metadata = Base.metadata
