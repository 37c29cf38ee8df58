"""The figure recorder every reliability row uses: printed, and appended as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability._figures import REPORT_ENV, record


def test_record_prints_and_appends_one_json_line_per_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "figures.jsonl"
    monkeypatch.setenv(REPORT_ENV, str(report))
    record(4, "retries share", "6.1%", "< 20%", True)
    record(2, "leaked threads", "1", "0", False)
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert lines == [
        {"row": 4, "what": "retries share", "figure": "6.1%", "target": "< 20%", "passed": True},
        {"row": 2, "what": "leaked threads", "figure": "1", "target": "0", "passed": False},
    ]
    assert "[reliability row 2] leaked threads: 1 (target 0) FAIL" in capsys.readouterr().out


def test_without_the_variable_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REPORT_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    record(1, "air gap", "0", "0", True)
    assert list(tmp_path.iterdir()) == []
