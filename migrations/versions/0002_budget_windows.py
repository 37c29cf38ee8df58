"""Budget windows: frontier spend and reservations per team/app and UTC day/month.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Migrations are append-only: never edit a released one, add a new revision instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# NUMERIC(20, 10) exact USD; on SQLite an integer count of 1e-10 USD (as in 0001).
MONEY = sa.Numeric(20, 10, asdecimal=True).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "budget_windows",
        sa.Column("scope", sa.String(), primary_key=True),
        sa.Column("period", sa.String(), primary_key=True),
        sa.Column("spent_usd", MONEY, nullable=False),
        sa.Column("reserved_usd", MONEY, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("budget_windows")
