"""Every time on the command line is ISO 8601 (fraction, offset, `Z`), naive meaning UTC; the
re-run command `router demo` prints works exactly as printed."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta, timezone

import click
import pytest
from click.testing import CliRunner

from router.cli import main
from router.cli._time_param import UTC_TIME, parse_utc


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-01-31", datetime(2025, 1, 31, tzinfo=UTC)),
        ("2025-01-31T09:30", datetime(2025, 1, 31, 9, 30, tzinfo=UTC)),
        ("2025-01-31 09:30:05", datetime(2025, 1, 31, 9, 30, 5, tzinfo=UTC)),
        (
            "2026-12-06T07:18:29.194091+00:00",
            datetime(2026, 12, 6, 7, 18, 29, 194091, tzinfo=UTC),
        ),
        ("2026-12-06T07:18:29.5Z", datetime(2026, 12, 6, 7, 18, 29, 500000, tzinfo=UTC)),
        ("2026-12-06t07:18:29z", datetime(2026, 12, 6, 7, 18, 29, tzinfo=UTC)),
        ("2026-12-06T08:18:29+01:00", datetime(2026, 12, 6, 7, 18, 29, tzinfo=UTC)),
        ("20261206T071829Z", datetime(2026, 12, 6, 7, 18, 29, tzinfo=UTC)),
    ],
)
def test_iso_8601_times_come_back_in_utc(text: str, expected: datetime) -> None:
    parsed = UTC_TIME.convert(text, None, None)
    assert parsed == expected and parsed.tzinfo is UTC


def test_an_aware_datetime_passed_through_click_is_normalised() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert parse_utc("2025-01-01T02:00+02:00") == datetime(2025, 1, 1, tzinfo=UTC)
    value = UTC_TIME.convert(datetime(2025, 1, 1, 2, tzinfo=plus_two), None, None)
    assert value == datetime(2025, 1, 1, tzinfo=UTC) and value.tzinfo is UTC


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01", "", "2025-01-01T25:00"])
def test_a_bad_time_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(click.BadParameter, match=r"ISO 8601.*2026-12-06T07:18:29\.194091"):
        UTC_TIME.convert(text, None, None)


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--since", "2026-12-06T07:18:29.194091+00:00"],
        ["report", "--until", "2026-12-06T07:18:29Z"],
        ["simulate", "--policy", "default", "--since", "2026-12-06T07:18:29.194091+00:00"],
        ["learn", "purge", "--before", "2026-12-06T07:18:29.194091+00:00"],
    ],
)
def test_every_command_taking_a_time_accepts_the_demo_s_format(
    args: list[str], tmp_path: object
) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    result = CliRunner().invoke(main, [*args, "--ledger", url])
    assert "is not an ISO 8601" not in result.output
    assert "does not match the format" not in result.output
    assert result.exit_code != 2, result.output  # 2 is click's usage error


@pytest.mark.slow  # runs the demo (about 10 s on a loaded machine)
def test_the_demo_s_printed_rerun_command_works_as_printed(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    runner = CliRunner()
    demo = runner.invoke(main, ["demo", "--no-chart", "--limit", "6", "--ledger", url])
    assert demo.exit_code == 0, demo.output
    (line,) = re.findall(r"^\s+(router report .*)$", demo.stdout, flags=re.M)
    argv = shlex.split(line)
    assert argv[:2] == ["router", "report"]
    again = runner.invoke(main, argv[1:])
    assert again.exit_code == 0, again.output
    total = next(ln for ln in again.stdout.splitlines() if ln.startswith("total"))
    assert total.split()[1] == "6"  # the run's six requests, read back
