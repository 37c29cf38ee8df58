"""`router eval` and `router calibrate` read every file `router adapt` reads (the builders of
tests/foreign_files.py), through the CLI, and give the figures of the clean file it was made
from: the same APGR on a 0-10 file as on the [0, 1] one, on a gzip file as on the plain one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from router.cli import main
from tests.foreign_files import (
    FRONTIER,
    LOCAL,
    SAME_ROWS,
    SECRET,
    broken_file,
    jsonl,
    rows,
    write,
)

SCALES = [(1.0, 5.0), (0.0, 10.0), (-1.0, 1.0), (0.0, 100.0)]


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def eval_json(path: Path, *extra: str) -> dict[str, Any]:
    result = cli("eval", str(path), "--json", *extra)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    doc.pop("file")
    return doc


def calibrate_out(path: Path, *extra: str) -> Result:
    result = cli("calibrate", str(path), "--target-frontier-share", "0.3", *extra)
    assert result.exit_code == 0, result.output
    return result


def same_name(tmp_path: Path, folder: str, data: str | bytes) -> Path:
    """Files of one name in two folders: calibrate's YAML comment names the file."""
    (tmp_path / folder).mkdir()
    return write(tmp_path / folder / "traffic.jsonl", data)


@pytest.mark.parametrize("variant", sorted(SAME_ROWS))
def test_eval_and_calibrate_give_the_clean_files_figures(tmp_path: Path, variant: str) -> None:
    plain = same_name(tmp_path, "plain", jsonl(rows()))
    other = same_name(tmp_path, "other", SAME_ROWS[variant](rows()))
    expected = eval_json(plain)
    assert expected["n"] == 60 and expected["scorers"]["cost-router"]["apgr"] is not None
    assert eval_json(other) == expected
    assert calibrate_out(other).stdout == calibrate_out(plain).stdout


@pytest.mark.parametrize(("lo", "hi"), SCALES)
def test_another_score_scale_gives_the_same_apgr_with_a_note(
    tmp_path: Path, lo: float, hi: float
) -> None:
    plain = same_name(tmp_path, "plain", jsonl(rows()))
    scaled = same_name(tmp_path, "scaled", jsonl(rows(lo=lo, hi=hi)))
    expected, got = eval_json(plain), eval_json(scaled)
    assert got.pop("input")["scores_rescaled_from"] == [lo, hi]
    assert expected.pop("input")["scores_rescaled_from"] is None
    assert got == expected
    note = f"scores run from {lo:g} to {hi:g}, not 0 to 1: rescaled linearly to [0, 1]"
    assert note in cli("eval", str(scaled)).output
    calibrated = calibrate_out(scaled)
    assert calibrated.stdout == calibrate_out(plain).stdout
    assert note in calibrated.stderr


def test_unusable_rows_are_skipped_and_counted_and_strict_refuses_as_adapt_does(
    tmp_path: Path,
) -> None:
    broken = broken_file(tmp_path)
    result = cli("eval", str(broken), "--no-cascade")
    assert result.exit_code == 0, result.output
    # Rows that cannot be read are out of every figure; rows without a score for the pair are
    # out of the pair's figures only (the multi-pair mean still uses them), as before.
    assert "skipped 4 of 62 rows: " in result.output
    assert "1 a model name that is not valid text (first at line 19)" in result.output
    assert "with a user message (first at line 13)" in result.output
    assert "1 not valid JSON (first at line 62)" in result.output
    assert "53 prompts (5 skipped: no score for the pair)" in result.output
    doc = eval_json(broken, "--no-cascade")
    assert doc["input"]["skipped"]["not a JSON object"] == {"rows": 1, "first_line": 61}
    calibrated = calibrate_out(broken)
    assert "skipped 4 of 62 rows" in calibrated.stderr
    assert calibrated.stdout.startswith("routing:\n  threshold: ")
    adapt = cli("adapt", "--traffic", str(broken), "--out", str(tmp_path / "a"), "--strict")
    first = f"{broken}:5: no numeric score for the frontier model"
    assert first in adapt.output
    for args in (("eval", str(broken)), ("calibrate", str(broken), "--target-quality", "0.9")):
        strict = cli(*args, "--strict")
        assert strict.exit_code == 1 and isinstance(strict.exception, SystemExit)
        assert first in strict.output and "Hint:" in strict.output
        assert SECRET not in strict.output
    assert SECRET not in result.output + calibrated.output


def test_strict_names_a_line_that_is_not_json_before_the_pair(tmp_path: Path) -> None:
    text = jsonl(rows(4)).replace('"id": "r2"', '"id": r2', 1)
    strict = cli("eval", str(write(tmp_path / "t.jsonl", text)), "--strict")
    assert strict.exit_code == 1 and f"{tmp_path / 't.jsonl'}:3: not valid JSON" in strict.output
    assert cli("eval", str(tmp_path / "t.jsonl"), "--no-cascade").exit_code == 0


def test_list_models_reads_the_same_files(tmp_path: Path) -> None:
    plain = write(tmp_path / "plain.jsonl", jsonl(rows()))
    scaled = write(tmp_path / "scaled.jsonl", jsonl(rows(lo=1.0, hi=5.0)))
    listed = cli("eval", str(plain), "--list-models")
    assert listed.exit_code == 0, listed.output
    other = cli("eval", str(scaled), "--list-models")
    assert other.exit_code == 0, other.output
    assert other.output.endswith(listed.output) and "rescaled" in other.output
    broken = cli("eval", str(broken_file(tmp_path)), "--list-models")
    assert broken.exit_code == 0 and "skipped 4 of 62 rows" in broken.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no rows"),
        ("not json at all\n", "no usable rows (1 not valid JSON (first at line 1))"),
        ('{"id": 1, "prompt": "' + SECRET + '"', "1 not valid JSON (first at line 1)"),
        (jsonl(rows(4)).replace("Say hello", "Dîtes bonjour").encode("latin-1"), ":2: not UTF-8"),
    ],
)
def test_a_file_with_nothing_usable_is_one_clear_error(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = write(tmp_path / "t.jsonl", content)
    for args in (("eval", str(path)), ("calibrate", str(path), "--target-quality", "0.9")):
        result = cli(*args)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
        assert message in result.output and "Hint:" in result.output
        assert SECRET not in result.output and "bonjour" not in result.output


def test_rows_without_a_pair_take_the_pair_from_the_command_line(tmp_path: Path) -> None:
    renamed = {LOCAL: "small", FRONTIER: "big"}
    table = [
        {
            "prompt": r["prompt"],
            "scores": {renamed.get(m, m): s for m, s in r["scores"].items()},
        }
        for r in rows()
    ]
    path = write(tmp_path / "t.jsonl", jsonl(table))
    refused = cli("eval", str(path))
    assert refused.exit_code == 1 and "--local-model" in refused.output
    doc = eval_json(path, "--local-model", "small", "--frontier-model", "big")
    plain = eval_json(write(tmp_path / "plain.jsonl", jsonl(rows())))
    assert doc["scorers"]["cost-router"]["apgr"] == plain["scorers"]["cost-router"]["apgr"]
