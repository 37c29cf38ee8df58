"""Requests: drop `ix_requests_tier`, which every query that could use it finds in
`ix_requests_tier_latency` too.

`tier` has two values (local, frontier). Every read of `requests` that filters, groups or orders
by tier (the report's exact latency percentiles, a `--tier` filter, the SQLite percentile scan)
is served by `ix_requests_tier_latency`, whose leading column is `tier`: on a 1,000,000-row
PostgreSQL ledger no plan changed when the index was dropped (docs/performance.md, issue 21,
fourth pass), while every write paid one more B-tree insert per request. The other indexes
stay: `created_at` bounds every period, and `team`, `app` and `model` are the only fast path
to the rows of a rare value (a small team's exact percentiles, a filtered export).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Migrations are append-only: never edit a released one, add a new revision instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_requests_tier", table_name="requests")


def downgrade() -> None:
    op.create_index("ix_requests_tier", "requests", ["tier"])
