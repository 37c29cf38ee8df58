"""Property: the ledger's accounting invariant holds for any records written to SQLite.

For generated requests (any number of attempts, token counts, unit prices with more decimals
than the ledger stores, local and frontier tiers, duplicates re-sent): each stored row's cost is
the sum of its stored attempts' costs, `verify()` finds no problem, and the report's totals
(overall and grouped) equal the exact sum of the rows, in `Decimal`.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from router._records import AttemptRecord, RequestRecord
from router.ledger import open_ledger, summarize, verify
from router.ledger._engine import resolve_url
from router.ledger._schema import AttemptRow, RequestRow
from tests.ledger_helpers.builders import T0, hours, make_record

prices = st.decimals(min_value=0, max_value=200, places=12, allow_nan=False)
tokens = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def attempts(draw: st.DrawFn) -> AttemptRecord:
    tier = draw(st.sampled_from(["local", "frontier"]))
    p_in, p_out = draw(prices), draw(prices)
    t_in, t_out = draw(tokens), draw(tokens)
    return AttemptRecord(
        model="gpt-5.4" if tier == "frontier" else "qwen3.5:9b",
        provider="openai" if tier == "frontier" else "ollama",
        tier=tier,
        tokens_in=t_in,
        tokens_out=t_out,
        latency_ms=draw(st.floats(0, 1e5)),
        outcome=draw(st.sampled_from(["ok", "error", "rejected"])),
        cost_usd=(t_in * p_in + t_out * p_out) / Decimal(1_000_000),
        unit_price_in=p_in,
        unit_price_out=p_out,
    )


@st.composite
def records(draw: st.DrawFn) -> list[RequestRecord]:
    count = draw(st.integers(1, 12))
    out = []
    for i in range(count):
        atts = draw(st.lists(attempts(), min_size=0, max_size=4))
        baseline = draw(st.decimals(min_value=0, max_value=50, places=10, allow_nan=False))
        team = draw(st.sampled_from(["a", "b", None]))
        created = T0 + hours(draw(st.integers(0, 24 * 60)))
        out.append(
            make_record(
                f"r{i}", attempts=atts, baseline=str(baseline), team=team, created_at=created
            )
        )
    resent = draw(st.lists(st.sampled_from(out), max_size=3))  # a client retrying
    return out + resent


def stored_costs(url: str) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    engine = create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(select(RequestRow.request_id, RequestRow.cost_usd)).all())
            sums: dict[str, Decimal] = {}
            for rid, cost in conn.execute(select(AttemptRow.request_id, AttemptRow.cost_usd)):
                sums[rid] = sums.get(rid, Decimal(0)) + cost
            return rows, sums
    finally:
        engine.dispose()


@pytest.mark.slow  # hypothesis batches through a real ledger
@settings(max_examples=40, deadline=None)
@given(batch=records())
def test_row_cost_is_the_sum_of_attempts_and_reports_add_up(batch: list[RequestRecord]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        with open_ledger(url, outbox_dir=Path(tmp) / "outbox") as ledger:
            for rec in batch:
                ledger.record(rec)
        rows, attempt_sums = stored_costs(url)
        assert len(rows) == len({r.request_id for r in batch})
        for rid, cost in rows.items():
            assert cost == attempt_sums.get(rid, Decimal(0)), rid
        result = verify(url)  # recomputing from rounded unit prices: within 1e-9 USD
        assert result.ok, result.problems[:3]
        total = summarize(url).total
        assert total.cost_usd == sum(rows.values(), Decimal(0))
        assert total.requests == len(rows)
        by_team = summarize(url, group_by="team").rows
        assert sum((r.cost_usd for r in by_team), Decimal(0)) == total.cost_usd
        assert sum((r.savings_usd for r in by_team), Decimal(0)) == total.savings_usd
