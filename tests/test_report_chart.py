"""`router report --chart`: the figure itself, not only that a PNG exists. Dollars in the title
are money (not matplotlib maths), one period still shows its savings, and the chart follows
the report's grouping."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from matplotlib import cbook
from matplotlib.text import Text

from router.cli import main
from router.ledger import open_ledger, summarize
from router.ledger._chart import OVER, SAVINGS, SPEND, build_chart, write_chart
from tests.ledger_helpers.builders import T0, attempt, escalated, hours, make_record

pytest_plugins = ["tests.ledger_helpers.fixtures"]


@pytest.fixture
def one_day(ledger_url: str, outbox_dir: Path) -> str:
    """One day, two teams: team a all local (saves 0.02), team b escalated (saves 0.0025)."""
    free = (attempt("local", price_in="0", price_out="0"),)
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(make_record("a1", attempts=free, team="a", created_at=T0, baseline="0.01"))
        ledger.record(make_record("a2", attempts=free, team="a", created_at=T0, baseline="0.01"))
        ledger.record(escalated("b1", team="b", created_at=T0 + hours(2), baseline="0.0125"))
    return ledger_url


def rendered_as_maths(text: Text) -> bool:
    return bool(text.get_parse_math()) and cbook.is_math_text(text.get_text())


def bars(fig: object, label: str) -> list[float]:
    (ax,) = fig.axes  # type: ignore[attr-defined]
    (container,) = [c for c in ax.containers if c.get_label() == label]
    return [round(p.get_height(), 6) for p in container.patches]


def test_the_title_shows_dollars_not_maths(one_day: str) -> None:
    fig = build_chart(summarize(one_day, group_by="day"))
    title = fig.axes[0].title
    assert title.get_text() == "Spend vs baseline per day: saved $0.02 of $0.03"
    assert not rendered_as_maths(title)
    assert not any(rendered_as_maths(t) for t in fig.axes[0].get_xticklabels())


def test_a_single_day_draws_its_spend_and_its_savings(one_day: str) -> None:
    fig = build_chart(summarize(one_day, group_by="day"))
    assert bars(fig, SPEND) == [0.01]
    assert bars(fig, SAVINGS) == [0.0225]  # baseline 0.0325 stacked: visible, not a dot
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["2025-01-01"]


def test_group_by_team_charts_one_bar_per_team(one_day: str) -> None:
    report = summarize(one_day, group_by="team")
    fig = build_chart(report)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b"]
    assert bars(fig, SPEND) == [0.0, 0.01] and bars(fig, SAVINGS) == [0.02, 0.0025]
    assert fig.axes[0].title.get_text().startswith("Spend vs baseline per team:")


def test_two_level_grouping_charts_each_pair(one_day: str) -> None:
    fig = build_chart(summarize(one_day, group_by="team,tier"))
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["a | local", "b | frontier"]
    assert "per team and tier" in fig.axes[0].title.get_text()


def test_spend_over_the_baseline_is_drawn_in_its_own_colour(
    ledger_url: str, outbox_dir: Path
) -> None:
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(escalated("x", baseline="0.004"))  # cost 0.01: 0.006 over
    fig = build_chart(summarize(ledger_url, group_by="day"))
    assert bars(fig, SPEND) == [0.004] and bars(fig, SAVINGS) == [0.0]
    assert bars(fig, OVER) == [0.006]


def test_cli_charts_the_grouping_it_was_given(one_day: str, tmp_path: Path) -> None:
    runner = CliRunner()
    for group_by, expected_group in (("team", "team"), (None, "day")):
        cli_png, lib_png = tmp_path / "cli.png", tmp_path / "lib.png"
        args = ["report", "--ledger", one_day, "--chart", str(cli_png)]
        result = runner.invoke(main, [*args, *(["--group-by", group_by] if group_by else [])])
        assert result.exit_code == 0, result.output
        write_chart(summarize(one_day, group_by=expected_group), lib_png)
        assert cli_png.read_bytes() == lib_png.read_bytes(), group_by
