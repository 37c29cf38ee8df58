"""The what-if report: actual and candidate figures side by side, and what was estimated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from router.ledger._types import cents, exact
from router.simulate._replay import ESTIMATES

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Figures:
    """Traffic and money over the window, for what happened or what would have happened."""

    requests: int = 0
    local_requests: int = 0
    escalations: int = 0
    errors: int = 0
    spend_usd: Decimal = ZERO
    baseline_usd: Decimal = ZERO
    savings_usd: Decimal = ZERO

    @property
    def local_share(self) -> float:
        """Requests answered by the local model / requests (0.0 when there are none)."""
        return self.local_requests / self.requests if self.requests else 0.0

    @property
    def savings_pct(self) -> Decimal | None:
        return self.savings_usd * 100 / self.baseline_usd if self.baseline_usd else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money rounded to the cent as strings, exact sums as `*_exact`."""
        out: dict[str, Any] = {
            "requests": self.requests,
            "local_requests": self.local_requests,
            "local_share": self.local_share,
            "escalations": self.escalations,
            "errors": self.errors,
        }
        for name in ("spend_usd", "baseline_usd", "savings_usd"):
            amount: Decimal = getattr(self, name)
            out[name] = exact(cents(amount))
            out[f"{name}_exact"] = exact(amount)
        pct = self.savings_pct
        out["savings_pct"] = None if pct is None else f"{pct:.2f}"
        return out


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """What the ledger's traffic did (`actual`) and would have done under a policy (`candidate`).

    `estimated` counts requests whose candidate figures rest on an estimate, by reason (a request
    may have several); `estimated_requests` counts each such request once. `moved_to_frontier`
    and `moved_to_local` count requests whose answering tier changes.
    """

    policy_name: str
    policy_version: str
    ledger: str
    since: datetime | None
    actual: Figures
    candidate: Figures
    estimated: Mapping[str, int] = field(default_factory=dict)
    estimated_requests: int = 0
    moved_to_frontier: int = 0
    moved_to_local: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": "USD",
            "policy": {"name": self.policy_name, "version": self.policy_version},
            "ledger": self.ledger,
            "since": self.since.isoformat() if self.since else None,
            "actual": self.actual.to_dict(),
            "candidate": self.candidate.to_dict(),
            "moved": {"to_frontier": self.moved_to_frontier, "to_local": self.moved_to_local},
            "estimated": dict(self.estimated),
            "estimated_requests": self.estimated_requests,
        }

    def render(self) -> str:
        """A table for a terminal: actual, candidate, change; then what was estimated."""
        a, c = self.actual, self.candidate
        window = f"since {self.since:%Y-%m-%d %H:%M} UTC" if self.since else "all time"
        head = (
            f"What-if: policy {self.policy_name} (version {self.policy_version}) on "
            f"{a.requests:,} recorded request(s), {window}. No model was called."
        )
        rows = [
            ("", "actual", "candidate", "change"),
            ("requests", f"{a.requests:,}", f"{c.requests:,}", ""),
            ("local share", _share(a.local_share), _share(c.local_share), _points(a, c)),
            (
                "escalations",
                f"{a.escalations:,}",
                f"{c.escalations:,}",
                _count(c.escalations - a.escalations),
            ),
            ("errors", f"{a.errors:,}", f"{c.errors:,}", _count(c.errors - a.errors)),
            (
                "spend $",
                _money(a.spend_usd),
                _money(c.spend_usd),
                _delta(c.spend_usd - a.spend_usd),
            ),
            (
                "baseline $",
                _money(a.baseline_usd),
                _money(c.baseline_usd),
                _delta(c.baseline_usd - a.baseline_usd),
            ),
            (
                "savings $",
                _money(a.savings_usd),
                _money(c.savings_usd),
                _delta(c.savings_usd - a.savings_usd),
            ),
            ("savings", _pct(a.savings_pct), _pct(c.savings_pct), ""),
        ]
        lines = [head, "", *_aligned(rows), "", *self._notes()]
        return "\n".join(lines).rstrip() + "\n"

    def _notes(self) -> list[str]:
        moved = (
            f"Moved: {self.moved_to_frontier:,} request(s) to the frontier, "
            f"{self.moved_to_local:,} to the local model."
        )
        if not self.estimated_requests:
            return [moved, "Estimated: nothing; every candidate figure comes from recorded data."]
        lines = [moved, f"Estimated: {self.estimated_requests:,} request(s) rest on estimates:"]
        for reason, count in self.estimated.items():
            if count:
                lines.append(f"  {count:>6,}  {ESTIMATES[reason]}")
        return lines


def _aligned(rows: list[tuple[str, str, str, str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out = []
    for r in rows:
        cells = [r[0].ljust(widths[0]), *(r[i].rjust(widths[i]) for i in (1, 2, 3))]
        out.append("  ".join(cells).rstrip())
    return out


def _money(amount: Decimal) -> str:
    return f"{cents(amount):,}"


def _delta(amount: Decimal) -> str:
    return f"{cents(amount):+,}"


def _count(n: int) -> str:
    return f"{n:+,}"


def _share(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"


def _pct(percent: Decimal | None) -> str:
    return "-" if percent is None else f"{cents(percent)}%"


def _points(a: Figures, c: Figures) -> str:
    return f"{(c.local_share - a.local_share) * 100:+.1f} pts"
