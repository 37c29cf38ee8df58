"""Report rollup: per-day sums of `requests`, kept by triggers in the rows' own transaction.

`report_rollup` holds, per (day, team, app, tier, model, escalation reason), the request count,
the error / verification-failure / estimated-baseline counts, prompt tokens and the four money
sums; `report_latency` holds latency histograms in fixed log buckets (bucket b covers
[1.02^b, 1.02^(b+1)) ms) per (day, tier) and one of team, app or model (`dim` names which,
`value` is its value): a request counts once under each. NULL dimensions are stored as ''.

PostgreSQL: an AFTER INSERT statement trigger appends the batch's sums (`compacted` false);
appending never waits on another writer. Readers fold those rows into the `compacted` ones.
SQLite (one writer at a time): a row trigger adds each request to its compacted row directly
(it needs SQLite's math functions, built in since 3.35 by default).
Either way a row and its sums commit together, and an `INSERT ... ON CONFLICT DO NOTHING`
that skips a duplicate adds nothing. UPDATE and DELETE triggers take the old rows' sums away
(and add the new ones), so a row edited or removed by hand leaves the rollup exact too.
Existing rows are summed in by this migration.

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


def _latency_value(p: str, ifnull: str) -> str:
    return (
        f"CASE d.dim WHEN 'team' THEN {ifnull}({p}team, '') "
        f"WHEN 'app' THEN {ifnull}({p}app, '') ELSE {ifnull}({p}model, '') END"
    )


def _create_tables() -> None:
    op.create_table(
        "report_rollup",
        sa.Column("compacted", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(d, sa.String(), nullable=False) for d in (*DIMS, "reason")),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in COUNTS),
        *(sa.Column(c, MONEY, nullable=False) for c in SUMS),
    )
    op.create_table(
        "report_latency",
        sa.Column("compacted", sa.Boolean(), nullable=False),
        sa.Column("dim", sa.String(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
    )
    for table, key in (("report_rollup", ROLLUP_KEY), ("report_latency", LATENCY_KEY)):
        op.create_index(
            f"ux_{table}_key",
            table,
            list(key),
            unique=True,
            postgresql_where=sa.text("compacted"),
            sqlite_where=sa.text("compacted"),
        )
        op.create_index(
            f"ix_{table}_fresh",
            table,
            ["day"],
            postgresql_where=sa.text("NOT compacted"),
            sqlite_where=sa.text("NOT compacted"),
        )


# -- PostgreSQL: one statement trigger, batch sums appended -----------------------------------

_PG_DAY = "(created_at AT TIME ZONE 'UTC')::date"
_PG_DIMS = "coalesce(team, ''), coalesce(app, ''), coalesce(tier, ''), coalesce(model, '')"
_PG_BUCKET = "floor(ln(greatest(latency_ms, 0.001)) / ln(1.02))::integer"


def _pg_sums(compacted: str, source: str, sign: str = "") -> str:
    """Append (or, with sign "-", take away) the sums of the rows in `source`."""
    # every name below is a constant of this file
    return f"""
    INSERT INTO report_rollup (compacted, {", ".join(ROLLUP_KEY)}, {", ".join(COUNTS)},
                               {", ".join(SUMS)})
    SELECT {compacted}, {_PG_DAY}, {_PG_DIMS}, coalesce(escalation_reason, ''),
           {sign}count(*), {sign}count(*) FILTER (WHERE status = 'error'),
           {sign}count(*) FILTER (WHERE verification = 'failed'),
           {sign}count(*) FILTER (WHERE baseline_estimated), {sign}sum(prompt_tokens_estimate),
           {sign}sum(cost_usd), {sign}sum(baseline_cost_usd), {sign}sum(savings_usd),
           {sign}sum(local_cost_usd)
    FROM {source} GROUP BY 2, 3, 4, 5, 6, 7;
    INSERT INTO report_latency (compacted, {", ".join(LATENCY_KEY)}, requests)
    SELECT {compacted}, d.dim, {_PG_DAY}, {_latency_value("", "coalesce")}, tier, {_PG_BUCKET},
           {sign}count(*)
    FROM {source} CROSS JOIN {LATENCY_DIMS} WHERE tier IS NOT NULL GROUP BY 2, 3, 4, 5, 6;
    """  # noqa: S608


def _pg_upgrade() -> None:
    # plpgsql plans a statement when it first runs it, so the branch naming the transition
    # table an event lacks is never planned.
    op.execute(
        "CREATE FUNCTION report_rollup_apply() RETURNS trigger LANGUAGE plpgsql "
        "SECURITY DEFINER SET search_path FROM CURRENT AS $$ BEGIN "
        "IF TG_OP IN ('DELETE', 'UPDATE') THEN "
        + _pg_sums("false", "report_old_rows", "-")
        + " END IF; IF TG_OP IN ('INSERT', 'UPDATE') THEN "
        + _pg_sums("false", "report_new_rows")
        + " END IF; RETURN NULL; END $$"
    )
    tables = {
        "INSERT": "NEW TABLE AS report_new_rows",
        "DELETE": "OLD TABLE AS report_old_rows",
        "UPDATE": "OLD TABLE AS report_old_rows NEW TABLE AS report_new_rows",
    }
    for event, referencing in tables.items():
        op.execute(
            f"CREATE TRIGGER requests_report_rollup_{event.lower()} AFTER {event} ON requests "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_apply()"
        )
    op.execute(_pg_sums("true", "requests"))


# -- SQLite: row triggers, upserted into the compacted row ------------------------------------

_SQLITE_BUCKET = "CAST(floor(ln(max({p}latency_ms, 0.001)) / ln(1.02)) AS INTEGER)"


def _sqlite_key(p: str) -> str:
    dims = ", ".join(f"ifnull({p}{d}, '')" for d in DIMS)
    return f"date({p}created_at), {dims}"


def _sqlite_upsert(table: str, key: Sequence[str], values: Sequence[str], tail: str) -> str:
    """`INSERT ... SELECT <values> <tail> ON CONFLICT DO UPDATE` adding the new amounts."""
    names = ", ".join(key)
    columns = COUNTS + SUMS if table == "report_rollup" else ("requests",)
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in columns)
    return (
        f"INSERT INTO {table} (compacted, {names}, {', '.join(columns)}) "
        f"SELECT 1, {', '.join(values)} {tail} "
        f"ON CONFLICT ({names}) WHERE compacted DO UPDATE SET {updates}"
    )


def _sqlite_row(p: str, sign: str) -> str:
    """Add (sign "") or take away (sign "-") one row, `p` being "NEW." or "OLD."."""
    rollup = [
        _sqlite_key(p),
        f"ifnull({p}escalation_reason, '')",
        f"{sign}1",
        f"{sign}({p}status = 'error')",
        f"{sign}({p}verification IS 'failed')",
        f"{sign}{p}baseline_estimated",
        f"{sign}{p}prompt_tokens_estimate",
        *(f"{sign}{p}{c}" for c in SUMS),
    ]
    return (
        _sqlite_upsert("report_rollup", ROLLUP_KEY, rollup, "WHERE true")
        + "; "
        + _sqlite_upsert(
            "report_latency",
            LATENCY_KEY,
            _sqlite_latency(p, f"{sign}1"),
            f"FROM {LATENCY_DIMS} WHERE {p}tier IS NOT NULL",
        )
        + "; "
    )


def _sqlite_latency(p: str, count: str) -> list[str]:
    value = _latency_value(p, "ifnull")
    return ["d.dim", f"date({p}created_at)", value, f"{p}tier", _SQLITE_BUCKET.format(p=p), count]


def _sqlite_triggers() -> list[str]:
    body = {
        "INSERT": _sqlite_row("NEW.", ""),
        "DELETE": _sqlite_row("OLD.", "-"),
        "UPDATE": _sqlite_row("OLD.", "-") + _sqlite_row("NEW.", ""),
    }
    return [
        f"CREATE TRIGGER requests_report_rollup_{event.lower()} AFTER {event} ON requests "
        f"BEGIN {statements} END"
        for event, statements in body.items()
    ]


def _sqlite_backfill() -> list[str]:
    group = "GROUP BY 2, 3, 4, 5, 6, 7"
    rollup = [
        _sqlite_key(""),
        "ifnull(escalation_reason, '')",
        "count(*)",
        "sum(status = 'error')",
        "sum(verification IS 'failed')",
        "sum(baseline_estimated)",
        "sum(prompt_tokens_estimate)",
        *(f"sum({c})" for c in SUMS),
    ]
    return [
        _sqlite_upsert("report_rollup", ROLLUP_KEY, rollup, f"FROM requests WHERE true {group}"),
        _sqlite_upsert(
            "report_latency",
            LATENCY_KEY,
            _sqlite_latency("", "count(*)"),
            f"FROM requests CROSS JOIN {LATENCY_DIMS} WHERE tier IS NOT NULL "
            "GROUP BY 2, 3, 4, 5, 6",
        ),
    ]


def _sqlite_upgrade() -> None:
    # A SQLite built without math functions fails here, on `ln`, not later on a write.
    for statement in (*_sqlite_triggers(), *_sqlite_backfill()):
        op.execute(statement)


def upgrade() -> None:
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    for event in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS requests_report_rollup_{event}" + _on_requests())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS report_rollup_apply()")
    for table in ("report_latency", "report_rollup"):
        op.drop_index(f"ix_{table}_fresh", table_name=table)
        op.drop_index(f"ux_{table}_key", table_name=table)
        op.drop_table(table)


def _on_requests() -> str:
    return " ON requests" if op.get_bind().dialect.name == "postgresql" else ""
