"""The learning store and the learning budget on SQLite and PostgreSQL (migration 0003)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from router.budget import SqlBudgetStore
from router.learning import LearningStore
from router.learning._budget import LearningBudget
from router.learning._feedback import record_feedback
from router.learning._store import Batch
from router.learning._worker import Writer
from router.ledger import summarize

pytest_plugins = ["tests.ledger_helpers.fixtures"]

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def request_row(request_id: str, at: datetime, answered_by: str = "local") -> dict:
    return {
        "request_id": request_id,
        "observed_at": at,
        "features": {"0": 1.5, "70": 1.0},
        "features_version": "hashed-v1",
        "prompt": None,
        "local_model": "qwen3.5:9b",
        "frontier_model": "gpt-5.4",
        "answered_by": answered_by,
        "artefact_version": "abc",
        "decision_score": 0.25,
    }


def label_row(request_id: str, gain: float, at: datetime, source: str = "shadow") -> dict:
    return {
        "request_id": request_id,
        "source": source,
        "gain": gain,
        "weight": 1.0,
        "judge": "exact_answer",
        "labelled_at": at,
        "feedback_score": None,
        "note": None,
    }


def attempt_row(request_id: str, cost: str, at: datetime, purpose: str = "shadow") -> dict:
    return {
        "request_id": request_id,
        "purpose": purpose,
        "seq": 0,
        "created_at": at,
        "model": "gpt-5.4",
        "provider": "openai",
        "tier": "frontier",
        "outcome": "ok",
        "tokens_in": 10,
        "tokens_out": 5,
        "tokens_estimated": False,
        "unit_price_in": Decimal("1.25"),
        "unit_price_out": Decimal("10"),
        "cost_usd": Decimal(cost),
        "possibly_billed": False,
        "latency_ms": 12.5,
        "error_class": None,
    }


def test_rows_round_trip_in_traffic_order_and_labels_upsert(ledger_url: str) -> None:
    store = LearningStore(ledger_url)
    store.write(
        Batch(
            requests=[request_row("b", T0 + timedelta(minutes=1)), request_row("a", T0)],
            labels=[label_row("a", 1.0, T0), label_row("b", 0.0, T0), label_row("a", -1.0, T0)],
            attempts=[attempt_row("a", "0.0001234567", T0)],
        )
    )
    store.write(Batch(requests=[request_row("a", T0)], attempts=[attempt_row("a", "9", T0)]))
    examples = store.examples()
    assert [(e.request_id, e.gain) for e in examples] == [("a", -1.0), ("b", 0.0)]  # last wins
    assert examples[0].features == {"0": 1.5, "70": 1.0} and examples[0].artefact_version == "abc"
    assert store.spend() == {"shadow": Decimal("0.0001234567")}  # a repeat changes nothing
    assert store.features("hashed-v1") == [{0: 1.5, 70: 1.0}, {0: 1.5, 70: 1.0}]
    store.close()


def test_purge_and_feedback_on_each_database(ledger_url: str) -> None:
    store = LearningStore(ledger_url)
    store.write(
        Batch(
            requests=[request_row("old", T0), request_row("new", T0 + timedelta(days=30))],
            labels=[label_row("old", 1.0, T0)],
        )
    )
    later = T0 + timedelta(days=30)
    receipt = record_feedback(store, "new", 0.0, note="bad", keep_note=False, now=later)
    again = record_feedback(store, "new", 0.0, note="bad", keep_note=False, now=later)
    assert (receipt.outcome, again.outcome, receipt.gain) == ("recorded", "unchanged", 1.0)
    done = store.purge(T0 + timedelta(days=1))
    assert (done.requests, done.labels) == (1, 1)
    assert [e.request_id for e in store.examples()] == ["new"]
    assert store.label_counts() == {"feedback": 1}
    store.close()


def test_the_learning_budget_never_overshoots_in_the_shared_store(ledger_url: str) -> None:
    """Ten $0.30 calls race for a $1.00 day: three are admitted, never a fourth."""
    budget = LearningBudget(SqlBudgetStore(ledger_url))

    async def race() -> list[object]:
        return list(
            await asyncio.gather(
                *(budget.reserve(T0, Decimal("1.00"), Decimal("0.30")) for _ in range(10))
            )
        )

    admitted = [r for r in asyncio.run(race()) if r is not None]
    assert len(admitted) == 3
    for reservation in admitted:
        asyncio.run(budget.settle(reservation, Decimal("0.25")))  # cost less than reserved
    assert budget.spent_today(T0) == Decimal("0.75")
    assert asyncio.run(budget.reserve(T0, Decimal("1.00"), Decimal("0.30"))) is None
    assert asyncio.run(budget.reserve(T0, Decimal("1.00"), Decimal("0.20"))) is not None
    budget.store.close()


def test_report_shows_learning_spend_in_its_window(ledger_url: str) -> None:
    store = LearningStore(ledger_url)
    store.write(
        Batch(
            attempts=[
                attempt_row("a", "0.50", T0),
                attempt_row("a", "0.25", T0, purpose="judge"),
                attempt_row("b", "7", T0 - timedelta(days=3)),
            ]
        )
    )
    report = summarize(ledger_url, since=T0 - timedelta(days=1))
    assert report.learning_spend == {"judge": Decimal("0.25"), "shadow": Decimal("0.50")}
    assert report.to_dict()["learning_spend_usd"] == {
        "judge": "0.2500000000",
        "shadow": "0.5000000000",
    }
    assert report.total.cost_usd == 0
    store.close()


def test_the_writer_gathers_rows_but_a_flush_writes_them_at_once(tmp_path) -> None:
    """Rows wait `delay_s` to share a transaction; `flush` (feedback, `Router.aclose`) does not
    wait that out, even for rows queued while an earlier batch is being written."""
    store = LearningStore(f"sqlite:///{tmp_path / 'learn.db'}")
    writer = Writer(store, lambda batch: batch, delay_s=60.0)

    async def scenario() -> tuple[bool, float]:
        writer.add_request(request_row("a", T0))
        await asyncio.sleep(0.05)
        gathered = store.request("a") is None  # still gathering
        started = time.monotonic()
        writer.add_request(request_row("b", T0))
        await writer.flush()
        return gathered, time.monotonic() - started

    gathered, flush_s = asyncio.run(scenario())
    assert gathered and flush_s < 10.0
    assert store.request("a") is not None and store.request("b") is not None
    store.close()
