"""The learning store: labelled requests, their labels, learning spend and artefact history;
and, on `requests`, the version of the classifier artefact that decided each request.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10

Migrations are append-only: never edit a released one, add a new revision instead.
Types are spelled out here (not imported from the package) so this file never changes meaning.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# NUMERIC(20, 10) exact USD; on SQLite an integer count of 1e-10 USD (as in 0001).
MONEY = sa.Numeric(20, 10, asdecimal=True).with_variant(sa.BigInteger(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(), nullable=nullable)


def _number(name: str, *, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, sa.Double(), nullable=nullable)


def upgrade() -> None:
    op.add_column("requests", _text("artefact_version", nullable=True))
    op.create_table(
        "learning_requests",
        sa.Column("request_id", sa.String(), primary_key=True),
        sa.Column("observed_at", UTC_TIME, nullable=False),
        sa.Column("features", JSON, nullable=False),
        _text("features_version"),
        sa.Column("prompt", sa.Text(), nullable=True),
        _text("local_model"),
        _text("frontier_model", nullable=True),
        _text("answered_by"),
        _text("artefact_version", nullable=True),
        _number("decision_score", nullable=True),
    )
    op.create_index("ix_learning_requests_observed_at", "learning_requests", ["observed_at"])
    op.create_table(
        "learning_labels",
        sa.Column("request_id", sa.String(), primary_key=True),
        sa.Column("source", sa.String(), primary_key=True),
        _number("gain"),
        _number("weight"),
        _text("judge"),
        sa.Column("labelled_at", UTC_TIME, nullable=False),
        _number("feedback_score", nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_learning_labels_labelled_at", "learning_labels", ["labelled_at"])
    op.create_table(
        "learning_attempts",
        sa.Column("request_id", sa.String(), primary_key=True),
        sa.Column("purpose", sa.String(), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        *(_text(n) for n in ("model", "provider", "tier", "outcome")),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("tokens_estimated", sa.Boolean(), nullable=False),
        sa.Column("unit_price_in", MONEY, nullable=False),
        sa.Column("unit_price_out", MONEY, nullable=False),
        sa.Column("cost_usd", MONEY, nullable=False),
        sa.Column("possibly_billed", sa.Boolean(), nullable=False),
        _number("latency_ms"),
        _text("error_class", nullable=True),
    )
    op.create_index("ix_learning_attempts_created_at", "learning_attempts", ["created_at"])
    op.create_table(
        "learning_artefacts",
        sa.Column("version", sa.String(), primary_key=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        _text("status"),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("holdout", sa.Integer(), nullable=False),
        _number("candidate_value", nullable=True),
        _number("champion_value", nullable=True),
        _text("champion_version", nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("learning_artefacts")
    op.drop_index("ix_learning_attempts_created_at", table_name="learning_attempts")
    op.drop_table("learning_attempts")
    op.drop_index("ix_learning_labels_labelled_at", table_name="learning_labels")
    op.drop_table("learning_labels")
    op.drop_index("ix_learning_requests_observed_at", table_name="learning_requests")
    op.drop_table("learning_requests")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("artefact_version")
