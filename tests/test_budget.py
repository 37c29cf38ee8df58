"""Budgets: policy validation, UTC windows, pacing, and the memory and SQL stores."""

from __future__ import annotations

import itertools
import textwrap
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from router.budget import (
    MemoryBudgetStore,
    Pacing,
    SqlBudgetStore,
    Window,
    pacing,
    raise_threshold,
    windows_for,
)
from router.ledger._admin import upgrade_ledger
from router.policy import Policy, check_policy_file
from router.policy._model import Budgets, Cap

pytest_plugins = ["tests.ledger_helpers.fixtures"]

NOW = datetime(2026, 3, 31, 23, 59, 30, tzinfo=UTC)
BUDGETS = Budgets(
    teams={"support": Cap(daily_usd=Decimal(10), monthly_usd=Decimal(200))},
    apps={"triage": Cap(daily_usd=Decimal(2))},
)


def window(cap: str = "10", period: str = "day:2026-03-31") -> Window:
    return Window("team:support", period, Decimal(cap), datetime(2026, 4, 1, tzinfo=UTC))


# -- policy -----------------------------------------------------------------------------------


def check(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return [str(p) for p in check_policy_file(path)]


def test_budgets_validate_with_file_line_key_messages(tmp_path: Path):
    problems = check(
        tmp_path,
        """\
        budgets:
          pace_from: 1.5
          teams:
            support: {daily_usd: -3}
            search: {}
            ads: {daily_usd: 50, monthly_usd: 20}
            bots: {weekly_usd: 5}
        """,
    )
    path = tmp_path / "p.yaml"
    assert len(problems) == 5, problems
    text = "\n".join(problems)
    assert f"{path}:2: budgets.pace_from:" in text
    assert f"{path}:4: budgets.teams.support.daily_usd:" in text
    assert f"{path}:5: budgets.teams.search: set daily_usd, monthly_usd or both" in text
    assert f"{path}:6: budgets.teams.ads.daily_usd: daily_usd (50) is above monthly_usd" in text
    assert f"{path}:7: budgets.teams.bots.weekly_usd:" in text
    assert all("; " in p for p in problems)  # every message says how to fix it


def test_a_team_override_can_change_budgets_and_inherits_the_rest():
    policy = Policy(
        budgets=BUDGETS,
        teams={"support": {"budgets": {"pace_from": 0.8, "apps": {"bot": {"daily_usd": 1}}}}},
    )
    effective = policy.for_request("support", None).budgets
    assert effective.pace_from == 0.8
    assert effective.teams == BUDGETS.teams  # inherited
    assert set(effective.apps) == {"triage", "bot"}  # mappings merge
    with pytest.raises(Exception, match="frozen"):
        policy.budgets.pace_from = 0.1  # type: ignore[misc]


def test_shipped_cost_saver_policy_has_budgets_and_passes_check():
    from router.policy import load_policy  # noqa: PLC0415

    assert check_policy_file("cost-saver") == []
    budgets = load_policy("cost-saver").budgets
    assert budgets.enabled and budgets.teams


# -- windows ------------------------------------------------------------------------------------


def test_windows_are_the_utc_day_and_month_of_the_clock():
    found = windows_for(BUDGETS, "support", "triage", NOW)
    assert [(w.scope, w.period, w.cap_usd) for w in found] == [
        ("team:support", "day:2026-03-31", Decimal(10)),
        ("team:support", "month:2026-03", Decimal(200)),
        ("app:triage", "day:2026-03-31", Decimal(2)),
    ]
    assert found[0].ends_at == datetime(2026, 4, 1, tzinfo=UTC) == found[1].ends_at


def test_windows_roll_over_at_utc_midnight_and_in_december():
    later = windows_for(BUDGETS, "support", None, datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC))
    assert [w.period for w in later] == ["day:2026-04-01", "month:2026-04"]
    december = windows_for(BUDGETS, "support", None, datetime(2026, 12, 15, tzinfo=UTC))
    assert december[1].ends_at == datetime(2027, 1, 1, tzinfo=UTC)
    # Another zone's wall time is converted: 01:00 in UTC+2 is still the previous UTC day.
    from datetime import timedelta, timezone  # noqa: PLC0415

    plus_two = datetime(2026, 4, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert windows_for(BUDGETS, "support", None, plus_two)[0].period == "day:2026-03-31"


def test_no_windows_for_unknown_or_missing_team_and_app():
    assert windows_for(BUDGETS, "search", "other", NOW) == ()
    assert windows_for(BUDGETS, None, None, NOW) == ()


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        windows_for(BUDGETS, "support", None, datetime(2026, 1, 1))


# -- pacing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spent", "progress", "exhausted"),
    [("0", 0.0, False), ("5", 0.0, False), ("7.5", 0.5, False), ("9", 0.8, False)],
)
def test_pacing_rises_linearly_from_pace_from_to_the_cap(spent, progress, exhausted):
    found = pacing([window()], [Decimal(spent)], pace_from=0.5)
    assert found.progress == pytest.approx(progress) and found.exhausted is exhausted


def test_at_the_cap_the_budget_is_exhausted_with_a_reason_and_an_end():
    found = pacing([window()], [Decimal("10")], pace_from=0.5)
    assert found == Pacing(
        1.0,
        True,
        "budget exhausted: team support daily cap $10 reached; local only until 2026-04-01T00:00Z",
    )


def test_pacing_follows_the_window_furthest_along():
    windows = [window("10"), window("100", "month:2026-03")]
    found = pacing(windows, [Decimal("6"), Decimal("90")], pace_from=0.5)
    assert found.progress == pytest.approx(0.8) and "monthly" in found.reason


def test_raised_thresholds_move_smoothly_towards_never_escalating():
    steps = [raise_threshold(0.5, p / 10) for p in range(11)]
    assert steps[0] == 0.5 and steps[-1] == 1.0
    assert all(b > a for a, b in itertools.pairwise(steps))
    assert raise_threshold(100, 0.5, token_count=True) == 200
    assert raise_threshold(100, 0.0, token_count=True) == 100


# -- stores ---------------------------------------------------------------------------------------


def test_memory_store_reserves_settles_and_refuses_at_the_cap():
    store, w = MemoryBudgetStore(), window("1")
    assert store.reserve([w], Decimal("0.6")) == (Decimal("0.6"),)
    assert store.reserve([w], Decimal("0.6")) == (Decimal("1.2"),)  # admitted below the cap
    assert store.reserve([w], Decimal("0.01")) is None  # at or over: refused, nothing changed
    assert store.settle([w], Decimal("0.6"), Decimal("0.1")) == (Decimal("0.7"),)
    assert (store.spent(w), store.reserved(w)) == (Decimal("0.1"), Decimal("0.6"))


def test_reserve_is_all_or_nothing_across_windows():
    store = MemoryBudgetStore()
    day, month = window("10"), window("1", "month:2026-03")
    store.settle([month], Decimal(0), Decimal(1))
    assert store.reserve([day, month], Decimal("0.5")) is None
    assert store.reserved(day) == 0


def test_concurrent_threads_overshoot_by_less_than_one_reservation():
    store, w, amount = MemoryBudgetStore(), window("1"), Decimal("0.07")

    def spend() -> None:
        for _ in range(10):
            if store.reserve([w], amount) is not None:
                store.settle([w], amount, amount)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Decimal(1) <= store.spent(w) < Decimal(1) + amount


@pytest.fixture
def sql_store(empty_url: str):
    upgrade_ledger(empty_url)
    store = SqlBudgetStore(empty_url)
    yield store
    store.close()


def test_sql_store_keeps_exact_money_and_shares_burn_between_instances(sql_store, empty_url):
    w = window("1")
    assert sql_store.burned([w]) == (Decimal(0),)
    assert sql_store.reserve([w], Decimal("0.3333333333")) == (Decimal("0.3333333333"),)
    other = SqlBudgetStore(empty_url)  # another process, as far as the database can tell
    try:
        assert other.burned([w]) == (Decimal("0.3333333333"),)
        assert other.settle([w], Decimal("0.3333333333"), Decimal("1.25")) == (Decimal("1.25"),)
        assert other.reserve([w], Decimal("0.01")) is None
    finally:
        other.close()
    assert sql_store.burned([w, window("1", "month:2026-03")]) == (Decimal("1.25"), Decimal(0))


def test_sql_store_concurrent_reservations_respect_the_bound(sql_store):
    w, amount = window("1"), Decimal("0.09")

    def spend() -> None:
        for _ in range(6):
            if sql_store.reserve([w], amount) is not None:
                sql_store.settle([w], amount, amount)

    threads = [threading.Thread(target=spend) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [burned] = sql_store.burned([w])
    assert Decimal(1) <= burned < Decimal(1) + amount


def test_sql_store_creates_and_migrates_a_new_sqlite_ledger(tmp_path: Path):
    store = SqlBudgetStore(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert store.reserve([window()], Decimal(1)) == (Decimal(1),)
    finally:
        store.close()


def test_sql_store_errors_are_ledger_errors_without_secrets(tmp_path: Path):
    from router.errors import LedgerError  # noqa: PLC0415

    store = SqlBudgetStore("postgresql://user:hunter2@127.0.0.1:1/nowhere?connect_timeout=1")
    with pytest.raises(LedgerError) as info:
        store.burned([window()])
    assert "hunter2" not in str(info.value)
