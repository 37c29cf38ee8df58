"""Attempts: flag usage reported beyond the request's budget reservation.

A frontier model that reports more prompt tokens than the byte bound of what it was sent, or
more output tokens than the `max_tokens` it was sent, billed beyond what the request reserved
(issue 20, item 6). Existing rows are not flagged.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-06

Migrations are append-only: never edit a released one, add a new revision instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(
            sa.Column("over_reservation", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("over_reservation")
