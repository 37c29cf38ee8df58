"""`simulate()`: replay the ledger's traffic under a candidate policy and total both sides."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from router.errors import LedgerError
from router.ledger import _engine
from router.ledger._access import as_utc, read_error, reading
from router.policy import Policy, load_policy
from router.simulate._recorded import Recorded, read_recorded
from router.simulate._replay import ESTIMATES, Replayed, Replayer
from router.simulate._report import Figures, SimulationReport

ZERO = Decimal(0)


@dataclass
class _Tally:
    """Running totals for one side of the report."""

    requests: int = 0
    local: int = 0
    escalations: int = 0
    errors: int = 0
    spend: Decimal = ZERO
    baseline: Decimal = ZERO
    savings: Decimal = ZERO

    def add(
        self, tier: str | None, escalated: bool, spend: Decimal, baseline: Decimal, savings: Decimal
    ) -> None:
        self.requests += 1
        self.local += tier == "local"
        self.escalations += escalated
        self.errors += tier is None
        self.spend += spend
        self.baseline += baseline
        self.savings += savings

    def figures(self) -> Figures:
        return Figures(
            self.requests,
            self.local,
            self.escalations,
            self.errors,
            self.spend,
            self.baseline,
            self.savings,
        )


@dataclass
class _Totals:
    actual: _Tally = field(default_factory=_Tally)
    candidate: _Tally = field(default_factory=_Tally)
    estimated: Counter[str] = field(default_factory=Counter)
    estimated_requests: int = 0
    to_frontier: int = 0
    to_local: int = 0

    def add(self, rec: Recorded, new: Replayed) -> None:
        escalated = rec.escalation_reason is not None
        self.actual.add(rec.tier, escalated, rec.cost_usd, rec.baseline_cost_usd, rec.savings_usd)
        savings = new.baseline_usd - new.cost_usd
        self.candidate.add(new.tier, new.escalated, new.cost_usd, new.baseline_usd, savings)
        self.estimated.update(new.estimates)
        self.estimated_requests += bool(new.estimates)
        self.to_frontier += rec.tier != "frontier" and new.tier == "frontier"
        self.to_local += rec.tier != "local" and new.tier == "local"


def simulate(
    policy: Policy | str | Path,
    ledger_url: str | None = None,
    since: date | datetime | None = None,
) -> SimulationReport:
    """Replay the ledger's requests since `since` (UTC; all when None) under `policy`.

    `policy` is a `Policy`, a policy file or a shipped policy name; `ledger_url` defaults to
    `$ROUTER_LEDGER_URL`, else the default SQLite ledger (as for `router report`). No model is
    called. Raises `PolicyError` for an invalid policy and `LedgerError` when the ledger cannot
    be read or holds no request in the window.
    """
    candidate = load_policy(policy)
    start = as_utc(since)
    replayer = Replayer(candidate)
    totals = _Totals()
    with reading(ledger_url) as engine:
        where = _engine.display_url(engine.url)
        try:
            for rec in read_recorded(engine, start):
                totals.add(rec, replayer.replay(rec))
        except SQLAlchemyError as exc:
            raise read_error(engine, exc) from exc
    if not totals.actual.requests:
        raise LedgerError(_empty_message(where, start))
    return SimulationReport(
        policy_name=candidate.name,
        policy_version=candidate.version,
        ledger=where,
        since=start,
        actual=totals.actual.figures(),
        candidate=totals.candidate.figures(),
        estimated={reason: totals.estimated[reason] for reason in ESTIMATES},
        estimated_requests=totals.estimated_requests,
        moved_to_frontier=totals.to_frontier,
        moved_to_local=totals.to_local,
    )


def _empty_message(where: str, since: datetime | None) -> str:
    if since is None:
        return (
            f"the ledger at {where} has no requests to replay; route some traffic first, "
            "or pass --ledger URL to read another ledger"
        )
    return (
        f"the ledger at {where} has no requests since {since:%Y-%m-%d %H:%M:%S} UTC; "
        "pick an earlier --since, or pass --ledger URL to read another ledger"
    )
