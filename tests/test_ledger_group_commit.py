"""The ledger's fast path keeps its promises: the durability option is what SQLite runs with,
group commit writes every row exactly once and only then acknowledges the request, and one bad
row in a batch does not push the others to the outbox."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine

from router import Router
from router._records import CapturedContent, RequestRecord
from router.errors import LedgerError
from router.ledger import SQLLedger, open_ledger
from router.ledger._admin import upgrade_ledger
from router.ledger._convert import attempt_rows, from_json_line, request_row
from router.ledger._engine import create_ledger_engine, resolve_url
from router.ledger._group import GroupCommit
from router.ledger._journal import Journal
from router.ledger._outbox import PENDING, REJECTED, Outbox
from router.ledger._schema import RequestRow
from router.ledger._write import _insert_via_core, _insert_via_driver, _insert_via_json
from router.policy import Policy
from router.policy._model import Ledger as LedgerSection
from router.testing import AnthropicServer, OllamaServer, OpenAIServer
from tests.ledger_helpers.builders import (
    attempt,
    fresh_pg_schema,
    make_record,
    pg_base_url,
    table_rows,
)
from tests.support import LONG_PROMPT, SHORT_PROMPT, loopback_policy

NORMAL, FULL = 1, 2  # PRAGMA synchronous values


def _synchronous(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.exec_driver_sql("PRAGMA synchronous").scalar())


def _ids(url: str) -> list[str]:
    return [row["request_id"] for row in table_rows(url, RequestRow)]


# -- durability option ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("durability", "pragma"), [(None, NORMAL), ("process-crash", NORMAL), ("power-loss", FULL)]
)
def test_open_ledger_runs_sqlite_with_the_durability_asked_for(
    tmp_path: Path, durability: str | None, pragma: int
) -> None:
    kwargs = {} if durability is None else {"durability": durability}
    with open_ledger(f"sqlite:///{tmp_path / 'l.db'}", outbox_dir=tmp_path / "ob", **kwargs) as led:  # type: ignore[arg-type]
        assert _synchronous(led.engine) == pragma
        led.record(make_record("r1"))  # the writing connection too, not just a fresh one
        with led.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_other_engines_keep_the_strictest_setting_by_default(tmp_path: Path) -> None:
    engine = create_ledger_engine(resolve_url(f"sqlite:///{tmp_path / 'b.db'}"))
    try:
        assert _synchronous(engine) == FULL
    finally:
        engine.dispose()


def test_an_unknown_durability_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="durability"):
        open_ledger(f"sqlite:///{tmp_path / 'l.db'}", durability="eventually")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        LedgerSection.model_validate({"durability": "eventually"})


@pytest.mark.parametrize(
    ("durability", "pragma"), [("process-crash", NORMAL), ("power-loss", FULL)]
)
def test_the_policy_option_reaches_the_routers_ledger(
    tmp_path: Path, durability: str, pragma: int
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    policy = Policy.model_validate({"ledger": {"url": url, "durability": durability}})
    router = Router(policy, classifier=None)
    try:
        ledger = router._given.ledger
        assert ledger is not None
        assert _synchronous(ledger.engine) == pragma  # type: ignore[attr-defined]
    finally:
        router.close()


# -- group commit ----------------------------------------------------------------------------------


class SlowBatchLedger:
    """Counts batches; each write takes a while, so concurrent requests pile up behind it."""

    def __init__(self, delay_s: float = 0.01) -> None:
        self.batches: list[list[str]] = []
        self.delay_s = delay_s
        self.lock = threading.Lock()

    def record(self, rec: RequestRecord) -> None:
        self.record_many([rec])

    def record_many(self, records: Sequence[RequestRecord]) -> None:
        time.sleep(self.delay_s)
        with self.lock:
            self.batches.append([r.request_id for r in records])

    def close(self) -> None:
        pass


def test_concurrent_rows_share_batches_and_each_is_written_once() -> None:
    ledger = SlowBatchLedger()
    writer = GroupCommit(ledger)

    async def main() -> None:
        await asyncio.gather(*(writer.record(make_record(f"r{i}")) for i in range(64)))

    asyncio.run(main())
    written = [rid for batch in ledger.batches for rid in batch]
    assert sorted(written) == sorted(f"r{i}" for i in range(64))
    assert len(ledger.batches) < 10  # batched: the first alone, then the rest together


def test_callers_released_together_come_back_in_one_batch() -> None:
    """32 requests at a time, each writing its next row as soon as the last is kept (a busy
    gateway): the rows released by one batch share the next, instead of the first of them
    going alone while the rest wait a whole write."""
    ledger = SlowBatchLedger(delay_s=0.005)
    writer = GroupCommit(ledger)

    async def requester(first: int) -> None:
        for i in range(first, 128, 32):
            await writer.record(make_record(f"r{i}"))

    async def main() -> None:
        await asyncio.gather(*(requester(c) for c in range(32)))

    asyncio.run(main())
    assert [len(batch) for batch in ledger.batches] == [32, 32, 32, 32]


def test_a_lone_row_is_written_on_the_next_loop_turn() -> None:
    ledger = SlowBatchLedger(delay_s=0)
    writer = GroupCommit(ledger)

    async def main() -> None:
        written = writer.submit(make_record("r1"))
        assert written is not None and ledger.batches == []
        await written
        assert ledger.batches == [["r1"]]

    asyncio.run(main())


def test_a_request_is_acknowledged_only_after_its_batch_is_written() -> None:
    release = threading.Event()

    class Gated(SlowBatchLedger):
        def record_many(self, records: Sequence[RequestRecord]) -> None:
            assert release.wait(5)
            super().record_many(records)

    ledger = Gated(delay_s=0)
    writer = GroupCommit(ledger)

    async def main() -> None:
        task = asyncio.create_task(writer.record(make_record("r1")))
        await asyncio.sleep(0.05)
        assert not task.done() and ledger.batches == []
        release.set()
        await task
        assert ledger.batches == [["r1"]]

    asyncio.run(main())


def test_a_cancelled_caller_still_gets_its_row_written() -> None:
    ledger = SlowBatchLedger(delay_s=0.05)
    writer = GroupCommit(ledger)

    async def main() -> None:
        task = asyncio.create_task(writer.record(make_record("r1")))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await writer.record(make_record("r2"))

    asyncio.run(main())
    assert [rid for batch in ledger.batches for rid in batch] == ["r1", "r2"]


def test_rows_are_still_written_when_the_loops_executor_is_gone() -> None:
    ledger = SlowBatchLedger(delay_s=0)
    writer = GroupCommit(ledger)

    async def main() -> None:
        await asyncio.get_running_loop().shutdown_default_executor()
        await asyncio.gather(writer.record(make_record("r1")), writer.record(make_record("r2")))

    asyncio.run(main())
    assert sorted(rid for batch in ledger.batches for rid in batch) == ["r1", "r2"]


def test_a_ledger_without_record_many_is_written_row_by_row() -> None:
    class OneByOne:
        def __init__(self) -> None:
            self.ids: list[str] = []

        def record(self, rec: RequestRecord) -> None:
            if rec.request_id == "boom":
                raise RuntimeError("a ledger that breaks its promise")
            self.ids.append(rec.request_id)

        def close(self) -> None:
            pass

    ledger = OneByOne()
    writer = GroupCommit(ledger)

    async def main() -> None:
        ids = ["a", "boom", "b", "c"]
        await asyncio.gather(*(writer.record(make_record(i)) for i in ids))

    asyncio.run(main())
    assert sorted(ledger.ids) == ["a", "b", "c"]


def test_sqlite_group_commit_writes_every_row_exactly_once_under_concurrency(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    ids = [f"r{i % 150}" for i in range(200)]  # 50 repeats: a retried request counts once
    with open_ledger(url, outbox_dir=tmp_path / "ob") as led:
        writer = GroupCommit(led)

        async def main() -> None:
            await asyncio.gather(*(writer.record(make_record(i)) for i in ids))

        asyncio.run(main())
    assert sorted(_ids(url)) == sorted(set(ids))
    assert not (tmp_path / "ob" / PENDING).exists()


def test_one_invalid_row_in_a_batch_does_not_send_the_others_to_the_outbox(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    bad = make_record("bad", policy_name=None)  # NOT NULL: the database refuses it
    with open_ledger(url, outbox_dir=tmp_path / "ob") as led:
        led.record_many([make_record("a"), bad, make_record("b")])
        assert sorted(_ids(url)) == ["a", "b"]
        led.flush()  # the refused one went to the outbox; its replay refuses it for good
        outbox = (tmp_path / "ob" / REJECTED).read_bytes()
    assert b'"bad"' in outbox and b'"a"' not in outbox and b'"b"' not in outbox


def _journaled_ids(outbox: Path) -> set[str]:
    """Request ids in the write-ahead journals of `outbox` (rows not committed yet)."""
    lines = [line for j in outbox.glob("journal-*.jsonl") for line in j.read_bytes().splitlines()]
    return {from_json_line(line).request_id for line in lines}


@pytest.mark.parametrize("durability", ["process-crash", "power-loss"])
def test_routed_requests_are_kept_when_they_return(tmp_path: Path, durability: str) -> None:
    """Acknowledged means kept: committed, or (process-crash durability on SQLite) in this
    process's journal, which survives the process being killed. After aclose() every row is
    committed and the journal is gone."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    outbox = tmp_path / "ob"
    journaled: list[str] = []
    with OllamaServer() as ollama, OpenAIServer() as openai, AnthropicServer() as anthropic:
        policy = loopback_policy(ollama, openai, anthropic)
        with open_ledger(url, outbox_dir=outbox, durability=durability) as led:  # type: ignore[arg-type]
            router = Router(policy, ledger=led, classifier=None)

            async def one(prompt: str) -> None:
                done = await router.acomplete(prompt)
                if done.request_id not in _ids(url):
                    assert done.request_id in _journaled_ids(outbox)
                    journaled.append(done.request_id)

            async def main() -> None:
                await asyncio.gather(*(one(p) for p in [SHORT_PROMPT, LONG_PROMPT] * 16))
                await router.aclose()
                assert len(_ids(url)) == 32  # aclose() waited for the gathered rows

            asyncio.run(main())
            router.close()
        assert len(set(_ids(url))) == len(_ids(url)) == 32
    assert not list(outbox.glob("journal-*.jsonl"))
    if durability == "power-loss":
        assert not journaled  # no journal: every row was committed before the answer
    else:
        assert journaled  # the answers did not wait for the commit


# -- the SQLite driver path stores what SQLAlchemy Core would ------------------------------------


def _varied_records() -> list[RequestRecord]:
    local = attempt("local", price_in="0", price_out="0")
    failed = attempt("frontier", tokens_in=0, tokens_out=0, outcome="error", error_class="X")
    odd = attempt("frontier", price_in="1.23456789012345", possibly_billed=True)
    return [
        make_record("plain"),
        make_record("several", attempts=(local, failed, odd), tags={"a": "1", "b": "ü"}),
        make_record(
            "captured",
            attempts=(odd,),
            content=CapturedContent(prompt="p\n'; DROP TABLE x; --", answer="a"),
            created_at=datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone(timedelta(hours=2))),
        ),
        make_record("nulls", attempts=(), user=None, team=None, decision_score=None, tags={}),
        make_record("plain", attempts=(local, local)),  # a repeat: the first write wins
        make_record("naive", created_at=datetime(2026, 1, 2, 3, 4, 5)),
        make_record(
            "awkward",
            attempts=(
                attempt("frontier", latency_ms=1e-7),
                attempt("local", latency_ms=3),
                attempt("frontier", price_in="0.00000000025"),  # rounds half to even; 1e-10 digits
            ),
            decision_score=1,  # an int where a float is expected
            latency_ms=0.1 + 0.2,  # a float with no short decimal form
            tags={"q": 'say "hi" \\ \u00e9\U0001f600', "n": "\n\t"},
            content=CapturedContent(prompt='{"json": [1, "two"]} \\u0041 \u2400', answer=""),
        ),
    ]


def _signed_floats() -> RequestRecord:
    """Floats a JSON number cannot carry (NaN, infinities, -0.0); SQLite stores NaN as NULL."""
    return make_record(
        "signed",
        attempts=(attempt("local", latency_ms=float("nan")),),
        decision_score=-0.0,
        decision_threshold=float("inf"),
        latency_ms=float("-inf"),
    )


def _dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            return {
                t: [  # floats by repr: -0.0 is not 0.0, and NaN is NaN
                    tuple(
                        repr(v) if isinstance(v, float) else v
                        for k, v in row._mapping.items()
                        if k != "recorded_at"
                    )
                    for row in conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1, 2")
                ]
                for t in ("requests", "attempts", "request_content")
            }
    finally:
        engine.dispose()


def test_a_rows_values_are_the_records_fields_in_column_order() -> None:
    now = datetime.now(UTC)
    totals = {"cost_usd", "local_cost_usd", "savings_usd"}  # sums of the stored attempts
    for rec in [*_varied_records(), _signed_floats()]:
        row = request_row(rec, recorded_at=now, ingest="outbox")
        assert list(row) == [c.name for c in RequestRow.__table__.columns]
        kept = {f.name for f in dataclasses.fields(rec)} - {"attempts", "content", "user", "tags"}
        assert all(repr(row[n]) == repr(getattr(rec, n)) for n in kept - totals)
        assert (row["user_id"], row["tags"], row["attempt_count"]) == (
            rec.user,
            dict(rec.tags),
            len(rec.attempts),
        )
        assert (row["recorded_at"], row["ingest"]) == (now, "outbox")
        for seq, (stored, given) in enumerate(zip(attempt_rows(rec), rec.attempts, strict=True)):
            assert (stored["request_id"], stored["seq"]) == (rec.request_id, seq)
            assert all(
                repr(stored[f.name]) == repr(getattr(given, f.name))
                for f in dataclasses.fields(given)
            )


def test_the_sqlite_driver_path_stores_exactly_what_core_would(tmp_path: Path) -> None:
    dumps, counts = [], []
    for name, insert in (("core", _insert_via_core), ("driver", _insert_via_driver)):
        url = f"sqlite:///{tmp_path / name}.db"
        with open_ledger(url, outbox_dir=tmp_path / name) as led:
            now = datetime.now(UTC)
            with led.engine.begin() as conn:
                counts.append(insert(conn, _varied_records()[:4], now, "direct"))
            with led.engine.begin() as conn:
                counts.append(insert(conn, _varied_records()[4:], now, "outbox"))
        dumps.append(_dump(url))
    assert counts == [4, 2, 4, 2]
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["attempts"]) == 9 and len(dumps[0]["request_content"]) == 2


@pytest.mark.postgres
def test_the_postgres_one_statement_path_stores_exactly_what_core_would(tmp_path: Path) -> None:
    dumps, counts = [], []
    for name, insert in (("core", _insert_via_core), ("json", _insert_via_json)):
        for url in fresh_pg_schema(pg_base_url()):
            upgrade_ledger(url)
            with open_ledger(url, outbox_dir=tmp_path / name) as led:
                now = datetime.now(UTC)
                with led.engine.begin() as conn:
                    counts.append(insert(conn, _varied_records()[:4], now, "direct"))
                with led.engine.begin() as conn:
                    later = [*_varied_records()[4:], _signed_floats()]
                    counts.append(insert(conn, later, now, "outbox"))
            dumps.append(_dump(url))
    assert counts == [4, 3, 4, 3]
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["attempts"]) == 10 and len(dumps[0]["request_content"]) == 2


def test_the_demo_writes_its_ledger_with_the_policys_durability(tmp_path: Path) -> None:
    from router.cli._core_commands import _open_ledger  # noqa: PLC0415

    policy_file = tmp_path / "strict.yaml"
    policy_file.write_text("ledger:\n  durability: power-loss\n")
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with _open_ledger(url, str(policy_file)) as ledger:
        assert _synchronous(ledger.engine) == FULL
    with _open_ledger(url, None) as ledger:  # the shipped default policy
        assert _synchronous(ledger.engine) == NORMAL


# -- the write-ahead journal ---------------------------------------------------------------------


def _journals(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("journal-*.jsonl"))


def test_the_journal_is_emptied_once_its_rows_are_settled_and_removed_at_close(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "ob")
    journal.append(make_record("a"))
    journal.append(make_record("b"))
    (path,) = _journals(tmp_path / "ob")
    assert _journaled_ids(tmp_path / "ob") == {"a", "b"}
    journal.settled(1)
    assert path.stat().st_size > 0  # "b" is not in the database yet
    journal.settled(1)
    assert path.stat().st_size == 0
    journal.close()
    assert not _journals(tmp_path / "ob")


def test_a_live_journal_is_left_alone_and_a_closed_one_with_rows_is_replayed(
    tmp_path: Path,
) -> None:
    url, outbox = f"sqlite:///{tmp_path / 'l.db'}", tmp_path / "ob"
    with open_ledger(url, outbox_dir=outbox) as led:
        journal = led.journal()
        assert journal is not None
        journal.append(make_record("kept"))
        assert not led.outbox.has_pending()  # its owner holds it: not an orphan
        assert led.flush().replayed == 0 and _ids(url) == []
        journal.close()  # closed (or died) before the row was committed
        assert _journals(outbox) and led.outbox.has_pending()
        assert led.flush().replayed == 1
    assert _ids(url) == ["kept"] and not _journals(outbox)


def test_power_loss_and_postgres_ledgers_have_no_journal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    with open_ledger(url, outbox_dir=tmp_path / "ob", durability="power-loss") as led:
        assert led.journal() is None
    engine = create_engine("postgresql+psycopg://u@127.0.0.1:1/x")
    assert SQLLedger(engine, Outbox(tmp_path / "o"), durability="process-crash").journal() is None


def test_a_forked_child_journals_to_a_file_of_its_own(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "ob")
    journal.append(make_record("parent"))
    pid = os.fork()
    if pid == 0:  # the child: its rows must not land in the parent's file
        try:
            journal.append(make_record("child"))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    files = {tuple(sorted(_journaled_ids_of(p))) for p in _journals(tmp_path / "ob")}
    assert files == {("parent",), ("child",)}
    journal.close()


def _journaled_ids_of(path: Path) -> set[str]:
    return {from_json_line(line).request_id for line in path.read_bytes().splitlines()}


def test_journaled_group_commit_gathers_rows_and_flush_writes_them(tmp_path: Path) -> None:
    url, outbox = f"sqlite:///{tmp_path / 'l.db'}", tmp_path / "ob"
    with open_ledger(url, outbox_dir=outbox) as led:
        writer = GroupCommit(led, journal=led.journal(), delay_s=60.0)

        async def main() -> None:
            for i in range(5):
                assert writer.submit(make_record(f"r{i}")) is None  # nothing to wait for
            assert _ids(url) == []  # still being gathered (for a minute)
            assert _journaled_ids(outbox) == {f"r{i}" for i in range(5)}
            await writer.flush()
            assert sorted(_ids(url)) == [f"r{i}" for i in range(5)]

        asyncio.run(main())
        asyncio.run(_submit_and_leave(writer, "late"))  # its loop ends before the batch is due
        writer.close()
    assert "late" in _ids(url) and not _journals(outbox)


async def _submit_and_leave(writer: GroupCommit, request_id: str) -> None:
    writer.submit(make_record(request_id))


def test_every_ledger_column_is_a_record_field_or_set_by_the_writer() -> None:
    """The PostgreSQL writer reads rows from the record in column order and fills the rest in
    `request_values` / `attempt_values`: a new column that is neither must fail here, not be
    read as a placeholder by mistake."""
    from router.ledger import _convert  # noqa: PLC0415

    assert set(_convert.REQUEST_COLUMNS) - _convert.REQUEST_FIELDS == {
        "user_id",
        "recorded_at",
        "ingest",
        "attempt_count",
    }
    assert set(_convert.ATTEMPT_COLUMNS) - _convert.ATTEMPT_FIELDS == {"request_id", "seq"}
    assert _convert.CONTENT_COLUMNS == ("request_id", "prompt", "answer")
