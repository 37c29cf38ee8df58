"""Read recorded traffic back from the ledger: each request with its model calls, in one pass.

Two ordered queries (requests, and their attempts) are streamed side by side and merged by
request id, so a month of traffic never has to fit in memory at once. The prompt text is read
only when content capture stored it, and only to pick the frontier model by task; it never
leaves this process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Executable, Row, select

from router.ledger._schema import AttemptRow, ContentRow, RequestRow

_BATCH = 1000
R, A = RequestRow, AttemptRow
# Only what the replay reads: no tags, user ids or latencies.
_REQUEST_COLUMNS = (
    R.request_id, R.created_at, R.team, R.app, R.status, R.tier, R.model, R.decision_rule,
    R.decision_score, R.prompt_tokens_estimate, R.verification, R.escalation_reason, R.cost_usd,
    R.baseline_model, R.baseline_cost_usd, R.savings_usd, R.price_table_version,
)  # fmt: skip
_CALL_COLUMNS = (
    A.request_id, A.model, A.tier, A.purpose, A.outcome, A.tokens_in, A.tokens_out, A.cost_usd,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One model call as the ledger recorded it."""

    model: str
    tier: str
    purpose: str
    outcome: str
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as the ledger recorded it: what was decided, called, spent and saved."""

    request_id: str
    created_at: datetime
    team: str | None
    app: str | None
    status: str
    tier: str | None
    model: str | None
    rule: str
    score: float | None
    prompt_tokens: int
    verification: str | None
    escalation_reason: str | None
    cost_usd: Decimal
    baseline_model: str
    baseline_cost_usd: Decimal
    savings_usd: Decimal
    price_table_version: str
    calls: tuple[RecordedCall, ...]
    prompt: str | None = None

    @property
    def answers(self) -> tuple[RecordedCall, ...]:
        """Calls made to answer the request (not verification calls)."""
        return tuple(c for c in self.calls if c.purpose == "answer")

    @property
    def first_tier(self) -> str | None:
        """The tier tried first, i.e. the one the recorded decision chose."""
        answers = self.answers
        return answers[0].tier if answers else None

    def answer_from(self, tier: str) -> RecordedCall | None:
        """The last answer of `tier` that came back (used or rejected), if any."""
        got = [c for c in self.answers if c.tier == tier and c.outcome != "error"]
        return got[-1] if got else None


def read_recorded(engine: Engine, since: datetime | None) -> Iterator[Recorded]:
    """Every request created at or after `since` (all when None), ordered by request id."""
    window = [] if since is None else [RequestRow.created_at >= since]
    requests = (
        select(*_REQUEST_COLUMNS, ContentRow.prompt)
        .outerjoin(ContentRow, ContentRow.request_id == RequestRow.request_id)
        .where(*window)
        .order_by(RequestRow.request_id)
    )
    attempts = (
        select(*_CALL_COLUMNS)
        .join(RequestRow, RequestRow.request_id == AttemptRow.request_id)
        .where(*window)
        .order_by(AttemptRow.request_id, AttemptRow.seq)
    )
    with engine.connect() as conn, engine.connect() as conn2:
        calls = _stream(conn2, attempts)
        pending = next(calls, None)
        for row in _stream(conn, requests):
            mine: list[RecordedCall] = []
            while pending is not None and pending.request_id == row.request_id:
                mine.append(_call(pending))
                pending = next(calls, None)
            yield _recorded(row, tuple(mine))


def _stream(conn: Connection, stmt: Executable) -> Iterator[Row[Any]]:
    yield from conn.execution_options(stream_results=True, yield_per=_BATCH).execute(stmt)


def _call(row: Row[Any]) -> RecordedCall:
    return RecordedCall(
        model=row.model,
        tier=row.tier,
        purpose=row.purpose,
        outcome=row.outcome,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        cost_usd=row.cost_usd,
    )


def _recorded(row: Row[Any], calls: tuple[RecordedCall, ...]) -> Recorded:
    return Recorded(
        request_id=row.request_id,
        created_at=row.created_at,
        team=row.team,
        app=row.app,
        status=row.status,
        tier=row.tier,
        model=row.model,
        rule=row.decision_rule,
        score=row.decision_score,
        prompt_tokens=row.prompt_tokens_estimate,
        verification=row.verification,
        escalation_reason=row.escalation_reason,
        cost_usd=row.cost_usd,
        baseline_model=row.baseline_model,
        baseline_cost_usd=row.baseline_cost_usd,
        savings_usd=row.savings_usd,
        price_table_version=row.price_table_version,
        calls=calls,
        prompt=row.prompt,
    )
