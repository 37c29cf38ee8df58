"""`router ledger export`: the request rows behind a report, as CSV, under the same filters.

One line per request, oldest first, money as exact decimal strings (ten places), so a
spreadsheet can rebuild any figure of `router report` and reconcile it to the cent. User ids,
prompt hashes and tags are left out: the export is for finance, not for tracing users.
Rows are streamed, so a ledger of millions of rows exports in constant memory.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from router.ledger._access import read_error, reading
from router.ledger._report import Values, make_filters
from router.ledger._schema import RequestRow as R
from router.ledger._types import exact

COLUMNS = (
    "request_id",
    "created_at",
    "team",
    "app",
    "tier",
    "model",
    "status",
    "escalation_reason",
    "verification",
    "policy_name",
    "policy_version",
    "attempt_count",
    "latency_ms",
    "baseline_model",
    "baseline_estimated",
    "price_table_version",
    "cost_usd",
    "local_cost_usd",
    "baseline_cost_usd",
    "savings_usd",
)
_BATCH = 2000


def export_csv(
    out: TextIO,
    engine_or_url: Engine | str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    *,
    team: Values = None,
    app: Values = None,
    tier: Values = None,
    model: Values = None,
) -> int:
    """Write the kept requests to `out` as CSV (header first); return how many rows."""
    filters = make_filters(since, until, team=team, app=app, tier=tier, model=model)
    query = (
        select(*(getattr(R, name) for name in COLUMNS))
        .where(*filters.where())
        .order_by(R.created_at, R.request_id)
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    with reading(engine_or_url) as engine:
        try:
            with engine.connect() as conn:
                streamed = conn.execution_options(stream_results=True, yield_per=_BATCH)
                for row in streamed.execute(query):
                    writer.writerow(_cell(value) for value in row)
                    count += 1
        except SQLAlchemyError as exc:
            raise read_error(engine, exc) from exc
    return count


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return exact(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
