"""Report rollup: per-day sums of `requests`, and the ids of rows not summed in yet.

`report_rollup` holds, per (day, team, app, tier, model, escalation reason), the request count,
the error / verification-failure / estimated-baseline counts, prompt tokens and the four money
sums; `report_latency` holds latency histograms in fixed log buckets (bucket b covers
[1.02^b, 1.02^(b+1)) ms) per (day, tier) and one of team, app or model (`dim` names which,
`value` is its value): a request counts once under each. NULL dimensions are stored as ''.

Writers pay one narrow insert: a trigger adds each new request's id to `report_pending` in the
rows' own transaction (PostgreSQL: one statement per insert statement; SQLite: per row), so a
row and its "not summed yet" mark commit together, and a replay skipped by `ON CONFLICT DO
NOTHING` marks nothing. Readers fold pending rows into the sums (router/ledger/_rollup.py) and
add up sums + pending rows in one statement, so a report is exact whether or not a fold ran.
UPDATE and DELETE triggers take already-summed old rows out of the sums (and add the new ones),
so hand edits keep the rollup exact. Existing rows are summed in by this migration.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Migrations are append-only: never edit a released one, add a new revision instead.
Types and SQL are spelled out here (not imported from the package) so this file never changes
meaning.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(20, 10, asdecimal=True).with_variant(sa.BigInteger(), "sqlite")
DIMS = ("team", "app", "tier", "model")
SUMS = ("cost_usd", "baseline_cost_usd", "savings_usd", "local_cost_usd")
COUNTS = ("requests", "errors", "verification_failures", "baseline_estimated", "prompt_tokens")
ROLLUP_KEY = ("day", *DIMS, "reason")
LATENCY_KEY = ("dim", "day", "value", "tier", "bucket")
LATENCY_DIMS = "(SELECT 'team' AS dim UNION ALL SELECT 'app' UNION ALL SELECT 'model') AS d"
NOT_PENDING = "NOT EXISTS (SELECT 1 FROM report_pending p WHERE p.request_id = {p}request_id)"


def _create_tables() -> None:
    op.create_table(
        "report_rollup",
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(d, sa.String(), nullable=False) for d in (*DIMS, "reason")),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in COUNTS),
        *(sa.Column(c, MONEY, nullable=False) for c in SUMS),
        sa.PrimaryKeyConstraint(*ROLLUP_KEY),
    )
    op.create_table(
        "report_latency",
        sa.Column("dim", sa.String(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*LATENCY_KEY),
    )
    # no key: appending must cost a writer as little as possible
    op.create_table("report_pending", sa.Column("request_id", sa.String(), nullable=False))


def _latency_value(p: str, ifnull: str) -> str:
    return (
        f"CASE d.dim WHEN 'team' THEN {ifnull}({p}team, '') "
        f"WHEN 'app' THEN {ifnull}({p}app, '') ELSE {ifnull}({p}model, '') END"
    )


def _upsert(table: str, key: Sequence[str], values: Sequence[str], tail: str) -> str:
    """`INSERT ... SELECT <values> <tail> ON CONFLICT DO UPDATE` adding the amounts."""
    names = ", ".join(key)
    columns = COUNTS + SUMS if table == "report_rollup" else ("requests",)
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    return (
        f"INSERT INTO {table} ({names}, {', '.join(columns)}) "
        f"SELECT {', '.join(values)} {tail} "
        f"ON CONFLICT ({names}) DO UPDATE SET {updates}"
    )


class _Dialect:
    """The few spellings that differ between PostgreSQL and SQLite."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"
        self.ifnull = "coalesce" if self.pg else "ifnull"

    def day(self, p: str) -> str:
        return f"({p}created_at AT TIME ZONE 'UTC')::date" if self.pg else f"date({p}created_at)"

    def bucket(self, p: str) -> str:
        if self.pg:
            return f"floor(ln(greatest({p}latency_ms, 0.001)) / ln(1.02))::integer"
        return f"CAST(floor(ln(max({p}latency_ms, 0.001)) / ln(1.02)) AS INTEGER)"

    def sums(self, source: str, sign: str = "", where: str = "true", p: str = "") -> list[str]:
        """Add (or, with sign "-", take away) the rows of `source` in both tables; `p`
        prefixes column names ("NEW." / "OLD." in a SQLite row trigger)."""
        dims = ", ".join(f"{self.ifnull}({p}{d}, '')" for d in DIMS)
        rollup = [
            f"{self.day(p)}, {dims}, {self.ifnull}({p}escalation_reason, '')",
            f"{sign}count(*)",
            f"{sign}sum(CASE WHEN {p}status = 'error' THEN 1 ELSE 0 END)",
            f"{sign}sum(CASE WHEN {p}verification = 'failed' THEN 1 ELSE 0 END)",
            f"{sign}sum(CASE WHEN {p}baseline_estimated THEN 1 ELSE 0 END)",
            f"{sign}sum({p}prompt_tokens_estimate)",
            *(f"{sign}sum({p}{c})" for c in SUMS),
        ]
        latency = [
            "d.dim",
            self.day(p),
            _latency_value(p, self.ifnull),
            f"{p}tier",
            self.bucket(p),
            f"{sign}count(*)",
        ]
        return [
            _upsert(
                "report_rollup",
                ROLLUP_KEY,
                rollup,
                f"FROM {source} WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6",
            ),
            _upsert(
                "report_latency",
                LATENCY_KEY,
                latency,
                f"FROM {source} CROSS JOIN {LATENCY_DIMS} WHERE {p}tier IS NOT NULL AND {where} "
                "GROUP BY 1, 2, 3, 4, 5",
            ),
        ]


# -- PostgreSQL: statement triggers over transition tables ------------------------------------


def _pg_upgrade() -> None:
    pg = _Dialect("postgresql")
    old = "report_old_rows"
    summed = NOT_PENDING.format(p=f"{old}.")
    changed = NOT_PENDING.format(p="report_new_rows.")
    functions = {
        # plpgsql plans a statement when it first runs it, so a function may name a transition
        # table only its own event has
        "report_pending_add": "INSERT INTO report_pending SELECT request_id FROM report_new_rows;",
        "report_rollup_remove": "; ".join(pg.sums(old, "-", summed))  # noqa: S608
        + f"; DELETE FROM report_pending WHERE request_id IN (SELECT request_id FROM {old});",  # noqa: S608
        "report_rollup_change": "; ".join(pg.sums(old, "-", summed))
        + "; "
        + "; ".join(pg.sums("report_new_rows", "", changed))
        + ";",
    }
    for name, body in functions.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
            f"SET search_path FROM CURRENT AS $$ BEGIN {body} RETURN NULL; END $$"
        )
    triggers = {
        "insert": ("NEW TABLE AS report_new_rows", "report_pending_add"),
        "delete": ("OLD TABLE AS report_old_rows", "report_rollup_remove"),
        "update": (
            "OLD TABLE AS report_old_rows NEW TABLE AS report_new_rows",
            "report_rollup_change",
        ),
    }
    for event, (referencing, function) in triggers.items():
        op.execute(
            f"CREATE TRIGGER requests_report_rollup_{event} AFTER {event.upper()} ON requests "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


# -- SQLite: row triggers ----------------------------------------------------------------------


def _sqlite_row(p: str, sign: str) -> str:
    """Add (or take away) one row, `p` being "NEW." or "OLD.", unless it is still pending."""
    statements = _Dialect("sqlite").sums("(SELECT 1) AS one", sign, NOT_PENDING.format(p=p), p)
    return "; ".join(statements) + "; "


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE TRIGGER requests_report_rollup_insert AFTER INSERT ON requests BEGIN "
        "INSERT INTO report_pending (request_id) VALUES (NEW.request_id); END"
    )
    op.execute(
        "CREATE TRIGGER requests_report_rollup_delete AFTER DELETE ON requests BEGIN "  # noqa: S608
        + _sqlite_row("OLD.", "-")
        + "DELETE FROM report_pending WHERE request_id = OLD.request_id; END"
    )
    op.execute(
        "CREATE TRIGGER requests_report_rollup_update AFTER UPDATE ON requests BEGIN "
        + _sqlite_row("OLD.", "-")
        + _sqlite_row("NEW.", "")
        + "END"
    )


def upgrade() -> None:
    _create_tables()
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()  # SQLite without math functions (ln) fails below, not on a write
    for statement in _Dialect(dialect).sums("requests"):
        op.execute(statement)


def downgrade() -> None:
    on = " ON requests" if op.get_bind().dialect.name == "postgresql" else ""
    for event in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS requests_report_rollup_{event}{on}")
    if op.get_bind().dialect.name == "postgresql":
        for name in ("report_pending_add", "report_rollup_remove", "report_rollup_change"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    for table in ("report_pending", "report_latency", "report_rollup"):
        op.drop_table(table)
