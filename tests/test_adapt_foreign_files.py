"""`router adapt` on files from other exporters: every shape the schema allows, or a real export
might take, is read to the same labels, skipped with a count, or refused with one clear error
(exit 2, `file:line`, no traceback, no prompt text). Every file is built here, in code."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from router import Router
from router.classifier import load_classifier
from router.cli import main
from router.errors import ClassifierError
from router.evaluation import DataFormatError
from router.learning import LearnedClassifier, LearningStore
from router.learning._adapt import read_traffic
from router.learning._files import import_file
from router.learning._traffic import Pair, read_rows
from router.policy import Routing
from tests.foreign_files import (
    EASY,
    FRONTIER,
    HARD,
    LOCAL,
    SAME_ROWS,
    SECRET,
    broken_file,
    chat,
    jsonl,
    rows,
    write,
)
from tests.learning_helpers import servers_fixture  # noqa: F401 - the `servers` fixture
from tests.support import loopback_policy


def labels(path: Path, pair: Pair | None = None) -> list[tuple[float, tuple[Any, ...]]]:
    return [(e.gain, tuple(e.features.items())) for e in read_traffic(path, pair).examples]


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def adapt_cli(traffic: Path, out: Path, *extra: str) -> Result:
    return cli("adapt", "--traffic", str(traffic), "--out", str(out), *extra)


@pytest.mark.parametrize("variant", sorted(SAME_ROWS))
def test_a_file_written_another_way_gives_the_same_labels(tmp_path: Path, variant: str) -> None:
    plain = write(tmp_path / "plain.jsonl", jsonl(rows()))
    other = write(tmp_path / "other.jsonl", SAME_ROWS[variant](rows()))
    assert labels(other) == labels(plain)


@pytest.mark.parametrize(("lo", "hi"), [(1.0, 5.0), (0.0, 10.0), (-1.0, 1.0), (0.0, 100.0)])
def test_scores_on_another_scale_are_rescaled_with_a_note(
    tmp_path: Path, lo: float, hi: float
) -> None:
    plain = write(tmp_path / "plain.jsonl", jsonl(rows()))
    scaled = write(tmp_path / "scaled.jsonl", jsonl(rows(lo=lo, hi=hi)))
    assert labels(scaled) == labels(plain)
    assert read_traffic(scaled).input["scores_rescaled_from"] == [lo, hi]
    assert read_traffic(plain).input["scores_rescaled_from"] is None


def test_fractional_scores_in_range_are_used_as_they_are(tmp_path: Path) -> None:
    table = rows()
    for i, r in enumerate(table):
        r["scores"] = {LOCAL: 0.25 + (i % 3) / 10, FRONTIER: 0.8, "x": 0.5}
    read = read_traffic(write(tmp_path / "f.jsonl", jsonl(table)))
    assert read.input["scores_rescaled_from"] is None
    assert [e.gain for e in read.examples][:3] == pytest.approx([0.55, 0.45, 0.35])


def test_unusable_rows_are_skipped_and_counted_by_reason(tmp_path: Path) -> None:
    read = read_rows(broken_file(tmp_path))
    assert len(read.rows) == 52
    assert read.skipped.to_json() == {
        "no numeric score for the frontier model": {"rows": 2, "first_line": 5},
        "no numeric score for the local model": {"rows": 3, "first_line": 7},
        "a model name that is not valid text": {"rows": 1, "first_line": 19},
        "'prompt' must be a string or a message list with a user message": {
            "rows": 1,
            "first_line": 13,
        },
        "no 'local_model'": {"rows": 1, "first_line": 15},
        "not a JSON object": {"rows": 1, "first_line": 61},
        "not valid JSON": {"rows": 1, "first_line": 62},
    }


def test_the_cli_says_what_it_skipped_and_strict_refuses_at_the_first_line(
    tmp_path: Path,
) -> None:
    broken, out = broken_file(tmp_path), tmp_path / "out"
    result = adapt_cli(broken, out)
    assert result.exit_code == 0, result.output
    assert "skipped 10 of 62 rows: 3 no numeric score for the local model (first at line 7)" in (
        result.output
    )
    assert "learned from 52 labelled rows" in result.output
    assert load_classifier(out).training["input"]["skipped"]["not valid JSON"]["rows"] == 1
    strict = adapt_cli(broken, tmp_path / "strict", "--strict")
    assert strict.exit_code == 2
    assert f"{broken}:5: no numeric score for the frontier model" in strict.output
    assert not (tmp_path / "strict").exists()
    assert SECRET not in result.output + strict.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no rows"),
        ("\n\n  \n", "no rows"),
        ("not json at all\n", "no usable rows (1 not valid JSON (first at line 1))"),
        (jsonl([{**r, "local_model": FRONTIER} for r in rows(3)]), "name the same model"),
        (jsonl([{**r, "frontier_model": "gpt-typo"} for r in rows(3)]), "3 no numeric score"),
        ('{"id": 1, "prompt": "' + SECRET + '"', "1 not valid JSON (first at line 1)"),
        (f"[1, {{]\n{SECRET}\n", "a JSON array that does not parse"),
    ],
)
def test_a_file_with_nothing_usable_is_one_clear_error(
    tmp_path: Path, content: str, message: str
) -> None:
    traffic = write(tmp_path / "t.jsonl", content)
    result = adapt_cli(traffic, tmp_path / "out")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert message in result.output
    assert SECRET not in result.output
    assert "Hint:" in result.output and not (tmp_path / "out").exists()


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    text = jsonl(rows(4)).replace("Say hello", "Dîtes bonjour")
    traffic = write(tmp_path / "latin1.jsonl", text.encode("latin-1"))
    result = adapt_cli(traffic, tmp_path / "out")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert f"{traffic}:2: not UTF-8 text" in result.output and "bonjour" not in result.output


def test_a_missing_pair_is_named_on_the_command_line(tmp_path: Path) -> None:
    table = [{k: v for k, v in r.items() if not k.endswith("_model")} for r in rows()]
    traffic = write(tmp_path / "t.jsonl", jsonl(table))
    refused = adapt_cli(traffic, tmp_path / "a")
    assert refused.exit_code == 2 and "60 no 'local_model'" in refused.output
    assert "--local-model" in refused.output
    pair = ("--local-model", LOCAL, "--frontier-model", FRONTIER)
    assert labels(traffic, Pair(LOCAL, FRONTIER)) == labels(write(tmp_path / "p", jsonl(rows())))
    result = adapt_cli(traffic, tmp_path / "b", *pair)
    assert result.exit_code == 0, result.output
    assert f"pair {LOCAL} -> {FRONTIER}: 60 rows" in result.output


def test_rows_naming_different_pairs_are_labelled_each_by_its_own(tmp_path: Path) -> None:
    table = rows()
    for r in table[30:]:
        r["scores"] = {"a": r["scores"][FRONTIER], "b": r["scores"][LOCAL]}
        r["local_model"], r["frontier_model"] = "a", "b"
    read = read_traffic(write(tmp_path / "t.jsonl", jsonl(table)))
    stats = {(p["local_model"], p["frontier_model"]): p for p in read.input["pairs"]}
    assert stats.keys() == {(LOCAL, FRONTIER), ("a", "b")}
    assert stats["a", "b"]["frontier_mean"] < stats["a", "b"]["local_mean"]
    assert all(e.gain <= 0 for e in read.examples[30:])


def test_a_frontier_model_worse_on_the_file_is_pointed_out(tmp_path: Path) -> None:
    table = rows(40)
    for r in table:
        s = r["scores"]
        s[LOCAL], s[FRONTIER] = s[FRONTIER], s[LOCAL]
    result = adapt_cli(write(tmp_path / "t.jsonl", jsonl(table)), tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert f"note: {FRONTIER} is no better than {LOCAL} on this file" in result.output


def test_too_few_rows_or_no_gain_give_the_prior_with_the_reason(tmp_path: Path) -> None:
    few = adapt_cli(write(tmp_path / "few.jsonl", jsonl(rows(12))), tmp_path / "few")
    assert few.exit_code == 0, few.output
    assert "only 12 usable rows, fewer than the 30 the fit needs" in few.output
    flat = [{**r, "scores": {LOCAL: 1, FRONTIER: 1}} for r in rows()]
    same = adapt_cli(write(tmp_path / "flat.jsonl", jsonl(flat)), tmp_path / "flat")
    assert "every row has the same gain, nothing to learn" in same.output
    for out in ("few", "flat"):
        clf = load_classifier(tmp_path / out)
        assert isinstance(clf, LearnedClassifier) and clf.gain_model is None


def test_odd_prompts_and_repeated_ids_are_learned_from(tmp_path: Path) -> None:
    table = rows()
    odd = ["", "   \n\t", "word " * 100_000, "مرحبا بالعالم \u200f😀 日本語", "lone \ud800 half"]
    for r, prompt in zip(table, odd, strict=False):
        r["prompt"] = prompt
    for r in table[40:]:
        r["id"] = "dup"
    traffic = write(tmp_path / "t.jsonl", "".join(json.dumps(r) + "\n" for r in table))
    result = adapt_cli(traffic, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "19 rows repeat an earlier id (all rows are used)" in result.output
    assert "learned from 60 labelled rows" in result.output
    assert load_classifier(tmp_path / "out").score(odd[3]) >= 0.0


def test_a_directory_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    traffic = write(tmp_path / "t.jsonl", jsonl(rows(12)))
    (tmp_path / "file").write_text("x")
    result = adapt_cli(traffic, tmp_path / "file" / "out")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "cannot write" in result.output


def _adapt_in_subprocess(traffic: Path, out: Path, hash_seed: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    code = "import sys; from router.cli import main; sys.exit(main())"
    args = [sys.executable, "-c", code, "adapt", "--traffic", str(traffic), "--out", str(out)]
    subprocess.run(args, env=env, check=True, capture_output=True)
    doc: dict[str, Any] = json.loads((out / "learned.json").read_text())
    doc["training"].pop("created_at")
    return doc


def test_adapt_is_deterministic_across_processes(tmp_path: Path) -> None:
    """The n-grams come out of a set, ordered by each process's string hashing: before the
    features were sorted, one file gave a different version in two runs out of three."""
    traffic = write(tmp_path / "t.jsonl", jsonl(rows()))
    first = _adapt_in_subprocess(traffic, tmp_path / "a", "1")
    second = _adapt_in_subprocess(traffic, tmp_path / "b", "2")
    assert first == second and first["model"] is not None


def test_the_artefact_is_self_contained_and_moves_with_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = tmp_path / "build-machine"
    build.mkdir()
    traffic = write(build / "t.jsonl", jsonl(rows()))
    assert adapt_cli(traffic, build / "adapted").exit_code == 0
    text = (build / "adapted" / "learned.json").read_text()
    assert str(tmp_path) not in text and EASY.format(1) not in text
    moved = tmp_path / "elsewhere" / "clf"
    shutil.copytree(build / "adapted", moved)
    shutil.rmtree(build)
    monkeypatch.setenv("ROUTER_SHARED_DATA", str(tmp_path / "absent"))
    requests = write(tmp_path / "requests.jsonl", jsonl([chat({"id": 7, "prompt": HARD})]))
    out = tmp_path / "scores.jsonl"
    result = cli(
        "score", "--input", str(requests), "--output", str(out), "--classifier", str(moved)
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["score"] == load_classifier(moved).score(HARD)


def test_score_reads_what_adapt_reads_and_names_a_bad_line(tmp_path: Path) -> None:
    asked = [{"id": i, "prompt": (HARD if i % 2 else EASY).format(i)} for i in range(4)]
    plain = write(tmp_path / "plain.jsonl", jsonl(asked))
    scores = []
    for name, data in {
        "plain": jsonl(asked),
        "gz": gzip.compress(("\ufeff" + jsonl(asked)).encode()),
        "chat": jsonl([chat(r) for r in asked]).replace("\n", "\r\n"),
    }.items():
        out = tmp_path / f"{name}.out"
        source = write(tmp_path / name, data)
        result = cli("score", "--input", str(source), "--output", str(out))
        assert result.exit_code == 0, result.output
        scores.append(out.read_text())
    assert scores[0] == scores[1] == scores[2]
    bad = write(tmp_path / "bad.jsonl", plain.read_text() + '{"id": 9, "prompt": "' + SECRET)
    result = cli("score", "--input", str(bad), "--output", str(tmp_path / "x"))
    assert result.exit_code == 2 and f"{bad}:5: invalid JSON" in result.output
    assert SECRET not in result.output


def test_router_takes_the_adapted_directory_as_its_classifier(servers: Any, tmp_path: Path) -> None:
    traffic = write(tmp_path / "t.jsonl", jsonl(rows()))
    assert adapt_cli(traffic, tmp_path / "adapted").exit_code == 0
    policy = loopback_policy(*servers, routing=Routing(rule="classifier", threshold=0.5))
    expected = load_classifier(tmp_path / "adapted").score(HARD.format(3))
    for given in (tmp_path / "adapted", str(tmp_path / "adapted")):
        router = Router(policy, classifier=given, ledger=None)
        try:
            decision = router.complete(HARD.format(3)).decision
        finally:
            router.close()
        assert decision.rule == "classifier" and decision.score == pytest.approx(expected)


def test_a_bad_path_given_to_router_is_a_classifier_error(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError):
        Router(classifier=tmp_path / "absent", ledger=None)


def test_read_rows_strict_names_the_first_bad_line(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r":5: no numeric score for the frontier model"):
        read_rows(broken_file(tmp_path), strict=True)


def test_router_learn_from_file_skips_the_same_rows_and_says_so(tmp_path: Path) -> None:
    store = LearningStore(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        done = import_file(broken_file(tmp_path), store, now=datetime(2026, 5, 1, tzinfo=UTC))
    finally:
        store.close()
    assert (done.rows, done.skipped) == (52, 10)
    assert done.to_text().endswith("; 10 unusable rows skipped")


@pytest.mark.parametrize(
    "prompt_of",
    [lambda i: f"What is {i}?", lambda i: ""],
)
def test_prompts_the_fit_cannot_tell_apart_give_the_prior_not_a_traceback(
    tmp_path: Path, prompt_of: Callable[[int], str]
) -> None:
    """Before, numpy's `LinAlgError` (SVD did not converge) ended the run; the fit's
    calibration now sees a score that does not vary and leaves the in-domain model out."""
    table = [{**r, "prompt": prompt_of(i)} for i, r in enumerate(rows(40))]
    result = adapt_cli(write(tmp_path / "t.jsonl", jsonl(table)), tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "the in-domain model did not rank held-out rows" in result.output
    assert "Traceback" not in result.output
    clf = load_classifier(tmp_path / "out")
    assert isinstance(clf, LearnedClassifier) and clf.gain_model is None
