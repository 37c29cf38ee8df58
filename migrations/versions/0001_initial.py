"""The initial ledger: requests, attempts and request_content.

Revision ID: 0001
Revises:
Create Date: 2025-11-30

Migrations are append-only: never edit a released one, add a new revision instead.
Types are spelled out here (not imported from the package) so this file never changes meaning.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# NUMERIC(20, 10) exact USD; on SQLite an integer count of 1e-10 USD (SQLite has no decimal).
MONEY = sa.Numeric(20, 10, asdecimal=True).with_variant(sa.BigInteger(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)
TAGS = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("request_id", sa.String(), primary_key=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("recorded_at", UTC_TIME, nullable=False),
        *(_text(n) for n in ("ingest", "policy_name", "policy_version", "status")),
        _text("tier", nullable=True),
        _text("model", nullable=True),
        _text("decision_rule"),
        sa.Column("decision_score", sa.Double(), nullable=True),
        sa.Column("decision_threshold", sa.Double(), nullable=True),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("cost_usd", MONEY, nullable=False),
        sa.Column("local_cost_usd", MONEY, nullable=False),
        _text("baseline_model"),
        sa.Column("baseline_cost_usd", MONEY, nullable=False),
        sa.Column("baseline_estimated", sa.Boolean(), nullable=False),
        sa.Column("savings_usd", MONEY, nullable=False),
        _text("price_table_version"),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        _text("prompt_hash"),
        sa.Column("prompt_tokens_estimate", sa.Integer(), nullable=False),
        *(_text(n, nullable=True) for n in ("team", "app", "user_id")),
        sa.Column("user_is_hashed", sa.Boolean(), nullable=False),
        sa.Column("tags", TAGS, nullable=False),
        *(_text(n, nullable=True) for n in ("verification", "escalation_reason", "error_class")),
    )
    for column in ("created_at", "team", "app", "model", "tier"):
        op.create_index(f"ix_requests_{column}", "requests", [column])
    op.create_index("ix_requests_tier_latency", "requests", ["tier", "latency_ms", "created_at"])

    op.create_table(
        "attempts",
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        *(_text(n) for n in ("model", "provider", "tier", "purpose", "outcome")),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("tokens_estimated", sa.Boolean(), nullable=False),
        sa.Column("unit_price_in", MONEY, nullable=False),
        sa.Column("unit_price_out", MONEY, nullable=False),
        sa.Column("cost_usd", MONEY, nullable=False),
        sa.Column("possibly_billed", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        _text("error_class", nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.request_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "seq"),
    )
    op.create_index("ix_attempts_model", "attempts", ["model"])

    op.create_table(
        "request_content",
        sa.Column("request_id", sa.String(), primary_key=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.request_id"], ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("request_content")
    op.drop_index("ix_attempts_model", table_name="attempts")
    op.drop_table("attempts")
    op.drop_index("ix_requests_tier_latency", table_name="requests")
    for column in ("created_at", "team", "app", "model", "tier"):
        op.drop_index(f"ix_requests_{column}", table_name="requests")
    op.drop_table("requests")
