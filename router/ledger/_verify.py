"""Reconciliation: recompute every stored figure and check the report adds up to the rows.

Per request: each attempt's cost equals tokens x its stored unit prices; the request's cost is
the sum of its attempts; savings equal baseline minus cost; no attempt row is missing; and a
frontier attempt priced from the current price table version carries that table's prices.
Overall: the report rollup (router/ledger/_rollup.py) holds, key by key, the sums and latency
counts of the rows; the report's totals equal the exact sum of the rows, grouped and
ungrouped; and the ledger's outbox holds no record the database rejected (the rows would be
missing).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, Engine, RowMapping, select
from sqlalchemy.exc import SQLAlchemyError

from router.errors import ConfigError
from router.ledger import _engine, _rollup
from router.ledger._access import read_error, reading
from router.ledger._outbox import REJECTED
from router.ledger._report import ReportRow, summarize
from router.ledger._schema import AttemptRow as A
from router.ledger._schema import RequestRow as R
from router.ledger._types import quantize_money
from router.pricing import PriceTable, load_price_table

MILLION = Decimal(1_000_000)
DEFAULT_TOLERANCE = Decimal("1e-9")
_SUMMED = ("cost_usd", "baseline_cost_usd", "savings_usd", "local_cost_usd")


@dataclass(frozen=True, slots=True)
class Problem:
    """One inconsistency; `request_id` is empty for a report-level problem."""

    request_id: str
    message: str


@dataclass(slots=True)
class VerifyResult:
    """What `verify` found. `ok` when there is no problem."""

    requests: int = 0
    attempts: int = 0
    problems: list[Problem] = field(default_factory=list)
    sums: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(_SUMMED, Decimal(0)))

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_request_ids(self) -> list[str]:
        return sorted({p.request_id for p in self.problems if p.request_id})


def verify(
    engine_or_url: Engine | str | None = None,
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    outbox_dir: Path | None = None,
) -> VerifyResult:
    """Check every row of the ledger. Stored amounts are rounded to 1e-10 USD, so recomputed
    figures may differ by `tolerance` (default 1e-9 USD, far below a cent); totals must match
    exactly. Records the database rejected, kept in the outbox (`outbox_dir`, default the one
    kept for this ledger's URL), are a problem too: the ledger lacks their rows."""
    result = VerifyResult()
    _check_rejected(result, outbox_dir or _default_outbox(engine_or_url))
    prices = _current_prices()
    with reading(engine_or_url) as engine:
        try:
            with engine.connect() as conn:
                for request, attempts in _requests_with_attempts(conn):
                    _check_request(result, request, attempts, tolerance, prices)
                result.problems += [Problem("", m) for m in _rollup.problems(conn)]
        except SQLAlchemyError as exc:
            raise read_error(engine, exc) from exc
        _check_report(result, summarize(engine).total, summarize(engine, group_by="day").rows)
    return result


def _current_prices() -> PriceTable | None:
    try:
        return load_price_table()
    except (ConfigError, OSError, ValueError):
        return None


def _requests_with_attempts(
    conn: Connection,
) -> Iterator[tuple[RowMapping, list[RowMapping]]]:
    stmt = (
        select(
            R.request_id,
            R.attempt_count,
            R.price_table_version,
            R.tier.label("req_tier"),
            *(getattr(R, n) for n in _SUMMED),
            A.seq,
            A.model,
            A.tier,
            A.tokens_in,
            A.tokens_out,
            A.unit_price_in,
            A.unit_price_out,
            A.cost_usd.label("attempt_cost"),
        )
        .outerjoin(A, A.request_id == R.request_id)
        .order_by(R.request_id, A.seq)
        .execution_options(yield_per=5000)
    )
    rows = conn.execute(stmt).mappings()
    for _, group in itertools.groupby(rows, key=lambda r: r["request_id"]):
        items = list(group)
        yield items[0], [r for r in items if r["seq"] is not None]


def _check_request(
    result: VerifyResult,
    req: RowMapping,
    attempts: Sequence[RowMapping],
    tol: Decimal,
    prices: PriceTable | None,
) -> None:
    rid = req["request_id"]
    result.requests += 1
    result.attempts += len(attempts)
    for name in _SUMMED:
        result.sums[name] += req[name]

    def fail(message: str) -> None:
        result.problems.append(Problem(rid, message))

    for a in attempts:
        recomputed = (
            a["tokens_in"] * a["unit_price_in"] + a["tokens_out"] * a["unit_price_out"]
        ) / MILLION
        if abs(quantize_money(recomputed) - a["attempt_cost"]) > tol:
            fail(
                f"attempt {a['seq']} cost {a['attempt_cost']} != tokens x unit prices {recomputed}"
            )
        fail_price = _price_drift(a, req["price_table_version"], prices)
        if fail_price:
            fail(f"attempt {a['seq']} {fail_price}")
    attempt_sum = sum((a["attempt_cost"] for a in attempts), Decimal(0))
    if abs(attempt_sum - req["cost_usd"]) > tol:
        fail(f"cost {req['cost_usd']} != sum of attempts {attempt_sum}")
    if abs(req["baseline_cost_usd"] - req["cost_usd"] - req["savings_usd"]) > tol:
        fail(
            f"savings {req['savings_usd']} != baseline {req['baseline_cost_usd']} - cost "
            f"{req['cost_usd']}"
        )
    if len(attempts) != req["attempt_count"]:
        fail(f"{len(attempts)} attempt row(s) stored, {req['attempt_count']} recorded")


def _price_drift(attempt: RowMapping, version: str, prices: PriceTable | None) -> str | None:
    if prices is None or version != prices.version or attempt["tier"] != "frontier":
        return None
    try:
        unit = prices.unit_price(attempt["model"])
    except ConfigError:
        return None
    stored = (attempt["unit_price_in"], attempt["unit_price_out"])
    expected = (quantize_money(unit.input_per_mtok), quantize_money(unit.output_per_mtok))
    if stored == expected:
        return None
    return (
        f"unit prices {stored[0]}/{stored[1]} differ from price table {version} "
        f"({expected[0]}/{expected[1]}) for {attempt['model']}"
    )


def _check_report(result: VerifyResult, total: ReportRow, by_day: Iterable[ReportRow]) -> None:
    days = list(by_day)
    if total.requests != result.requests or sum(d.requests for d in days) != result.requests:
        result.problems.append(
            Problem("", f"report counts {total.requests} requests, rows hold {result.requests}")
        )
    for name in _SUMMED:
        row_sum = result.sums[name]
        day_sum = sum((getattr(d, name) for d in days), Decimal(0))
        if getattr(total, name) != row_sum or day_sum != row_sum:
            result.problems.append(
                Problem(
                    "",
                    f"report total {name} {getattr(total, name)} "
                    f"(by day {day_sum}) != sum of rows {row_sum}",
                )
            )


def _default_outbox(engine_or_url: Engine | str | None) -> Path:
    if isinstance(engine_or_url, Engine):
        return _engine.default_outbox_dir(engine_or_url.url)
    return _engine.default_outbox_dir(_engine.resolve_url(engine_or_url))


def _check_rejected(result: VerifyResult, outbox_dir: Path) -> None:
    path = outbox_dir / REJECTED
    try:
        with path.open("rb") as lines:
            count = sum(1 for line in lines if line.strip())
    except FileNotFoundError:
        return
    except OSError as exc:
        count, why = -1, type(exc).__name__
    else:
        why = ""
    if count:
        held = f"{count} record(s)" if count > 0 else f"records (unreadable: {why})"
        result.problems.append(
            Problem(
                "",
                f"{held} the database rejected are kept in {path}, so their rows are missing "
                "from the ledger; inspect them, store what is sound, then move the file away",
            )
        )
