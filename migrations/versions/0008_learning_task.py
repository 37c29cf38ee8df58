"""Learning requests: the request's task, so `router learn` fits per-task offsets as `router
adapt` does and scores its held-back labels with their tasks.

`task` is the request's `metadata["task"]` (a labelled file row's `task`): a tag the caller
chose, at most 256 characters, never prompt text. Rows stored before this revision have none,
which a fit reads as "no task" (issue 18).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

Migrations are append-only: never edit a released one, add a new revision instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("learning_requests") as batch:
        batch.add_column(sa.Column("task", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("learning_requests") as batch:
        batch.drop_column("task")
