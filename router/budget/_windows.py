"""Budget windows: which caps apply to a request, and the UTC day and month they fall in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from router.policy._model import Budgets, Cap


@dataclass(frozen=True, slots=True)
class Window:
    """One cap over one period: `scope` is `team:NAME` or `app:NAME`, `period` is
    `day:YYYY-MM-DD` or `month:YYYY-MM` (UTC); `ends_at` is when the period rolls over."""

    scope: str
    period: str
    cap_usd: Decimal
    ends_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return (self.scope, self.period)

    def describe(self) -> str:
        kind, _, name = self.scope.partition(":")
        span = "daily" if self.period.startswith("day:") else "monthly"
        return f"{kind} {name} {span} cap ${self.cap_usd}"


def windows_for(
    budgets: Budgets, team: str | None, app: str | None, now: datetime
) -> tuple[Window, ...]:
    """Every window a request with this team and app spends from, at `now` (UTC-aware)."""
    scopes: list[tuple[str, Cap]] = []
    if team is not None and team in budgets.teams:
        scopes.append((f"team:{team}", budgets.teams[team]))
    if app is not None and app in budgets.apps:
        scopes.append((f"app:{app}", budgets.apps[app]))
    found: list[Window] = []
    for scope, cap in scopes:
        found.extend(_windows(scope, cap, now))
    return tuple(found)


def _windows(scope: str, cap: Cap, now: datetime) -> list[Window]:
    if now.tzinfo is None:
        raise ValueError("budget windows need a timezone-aware time; the clock must return UTC")
    now = now.astimezone(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    found = []
    if cap.daily_usd is not None:
        found.append(Window(scope, f"day:{day:%Y-%m-%d}", cap.daily_usd, day + timedelta(days=1)))
    if cap.monthly_usd is not None:
        found.append(Window(scope, f"month:{month:%Y-%m}", cap.monthly_usd, _next_month(month)))
    return found


def _next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
