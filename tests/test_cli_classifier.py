"""`router train | score | eval | calibrate` through click's CliRunner on small generated files."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from router.classifier import load_classifier
from router.cli._classifier_commands import register
from router.evaluation import load_outcomes, pair_metrics, pick_pair


@pytest.fixture
def cli() -> click.Group:
    @click.group()
    def group() -> None:
        """Test group."""

    register(group)
    return group


def _outcomes(tmp_path: Path, name: str, n: int = 24) -> Path:
    rows = []
    for i in range(n):
        hard = i % 2 == 0
        prompt = (
            f"Solve the equation {i}x + 3 = {2 * i} and prove the answer step by step."
            if hard
            else f"Say hello to {name} number {i} and suggest a fun idea."
        )
        rows.append(
            {
                "id": f"{name}-{i}",
                "source": name,
                "task": "t",
                "prompt": prompt,
                "scores": {
                    "small": 0.0 if hard else 1.0,
                    "mid": 0.0 if hard and i % 4 == 0 else 1.0,
                    "big": 1.0 if i % 6 else 0.0,
                },
                "local_model": "small",
                "frontier_model": "big",
            }
        )
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_every_command_has_help_with_an_example(cli: click.Group):
    runner = CliRunner()
    for name in ("train", "score", "eval", "calibrate"):
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Examples:" in result.output


def test_score_writes_one_row_per_input_in_order(cli: click.Group, tmp_path: Path):
    src = tmp_path / "in.jsonl"
    rows = [
        {"id": "b", "prompt": "Prove Fermat's little theorem."},
        {"id": 7, "prompt": "hi", "response": "hello!"},
        {"id": "a", "prompt": "", "response": None},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    out = tmp_path / "out" / "scores.jsonl"
    result = CliRunner().invoke(cli, ["score", "--input", str(src), "--output", str(out)])
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [w["id"] for w in written] == ["b", 7, "a"]
    clf = load_classifier()
    # A row with a response is scored after the answer (the shipped artefact has a post-hoc model).
    assert [w["score"] for w in written] == [
        clf.score(r["prompt"], r.get("response")) for r in rows
    ]
    assert written[1]["score"] != clf.score("hi")


def test_score_prints_the_score_of_each_prompt_given_as_an_argument(cli: click.Group):
    prompts = ["What is the capital of France?", "Prove that\nsqrt(2) is irrational.", "x" * 90]
    result = CliRunner().invoke(cli, ["score", *prompts])
    assert result.exit_code == 0, result.output
    clf = load_classifier()
    assert result.output.splitlines() == [
        f"{clf.score(prompts[0]):.3f}  What is the capital of France?",
        f"{clf.score(prompts[1]):.3f}  Prove that sqrt(2) is irrational.",
        f"{clf.score(prompts[2]):.3f}  {'x' * 69}…",
    ]


def test_score_reads_standard_input_and_writes_standard_output(cli: click.Group, tmp_path: Path):
    rows = [{"id": "b", "prompt": "Prove Fermat's little theorem."}, {"id": 7, "prompt": "hi"}]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    src = tmp_path / "in.jsonl"
    src.write_text(text, encoding="utf-8")
    runner = CliRunner()
    to_file = tmp_path / "scores.jsonl"
    assert (
        runner.invoke(cli, ["score", "--input", str(src), "--output", str(to_file)]).exit_code == 0
    )
    expected = to_file.read_text(encoding="utf-8")
    assert [json.loads(line)["id"] for line in expected.splitlines()] == ["b", 7]
    piped = runner.invoke(cli, ["score", "--input", "-"], input=text)
    dashed = runner.invoke(cli, ["score", "--input", str(src), "--output", "-"])
    gzipped = runner.invoke(cli, ["score", "--input", "-"], input=gzip.compress(text.encode()))
    for result in (piped, dashed, gzipped):
        assert result.exit_code == 0, result.output
        assert result.stdout == expected
    assert not (Path.cwd() / "-").exists()
    bad = runner.invoke(cli, ["score", "--input", "-"], input=text + '{"id": 3}\n')
    assert bad.exit_code == 2
    assert "-:3: 'prompt' must be a string" in bad.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to score"),
        (["hi", "--input", "-"], "not both"),
        (["hi", "--output", "out.jsonl"], "--output goes with --input"),
    ],
)
def test_score_says_what_to_give_it(cli: click.Group, args: list[str], message: str):
    result = CliRunner().invoke(cli, ["score", *args])
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"id": "x"}', "in.jsonl:3: 'prompt' must be a string"),
        ('{"prompt": "p"}', "in.jsonl:3: 'id' must be a string or an integer"),
        ('{"id": true, "prompt": "p"}', "in.jsonl:3: 'id' must be"),
        ('{"id": "x", "prompt": "p", "response": 3}', "in.jsonl:3: 'response' must be"),
        ("not json", "in.jsonl:3: invalid JSON"),
    ],
)
def test_score_rejects_a_bad_row_with_its_line_number(
    cli: click.Group, tmp_path: Path, bad_line: str, message: str
):
    src = tmp_path / "in.jsonl"
    good = json.dumps({"id": "ok", "prompt": "fine"})
    src.write_text(f"{good}\n{good}\n{bad_line}\n{good}\n", encoding="utf-8")
    out = tmp_path / "scores.jsonl"
    result = CliRunner().invoke(cli, ["score", "--input", str(src), "--output", str(out)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Hint:" in result.output
    assert not out.exists()  # nothing half-written


def test_eval_prints_metrics_text_json_and_plot(cli: click.Group, tmp_path: Path):
    data = _outcomes(tmp_path, "alpha")
    runner = CliRunner()
    text = runner.invoke(cli, ["eval", str(data)])
    assert text.exit_code == 0, text.output
    assert "APGR" in text.output
    assert "cost saved" in text.output
    plot = tmp_path / "c.png"
    as_json = runner.invoke(cli, ["eval", str(data), "--json", "--plot", str(plot)])
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    metrics = doc["scorers"]["cost-router"]
    expected = _prompt_only_metrics(data)
    assert {k: metrics[k] for k in expected} == expected  # the shipped classifier, on this pair
    assert (metrics["n"], metrics["q_local"], metrics["q_frontier"]) == (24, 0.5, 20 / 24)
    assert (
        metrics["apgr"] > 0.6
    )  # the maths prompts that need the frontier rank first (random: 0.5)
    assert f"APGR {metrics['apgr']:.4f}" in text.output
    assert f"cost saved {metrics['cost_saved_at_95']:.1%}" in text.output
    assert (doc["local_model"], doc["frontier_model"]) == ("small", "big")
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert f"plot written to {plot}" in as_json.stderr


def _prompt_only_metrics(data: Path) -> dict[str, object]:
    pair = pick_pair(load_outcomes(data))
    scores = load_classifier().score_batch([r.prompt for r in pair.rows])
    return pair_metrics(scores, pair).to_json()


def test_eval_before_and_after_the_answer_when_the_file_keeps_answers(
    cli: click.Group, tmp_path: Path
):
    data = _outcomes(tmp_path, "alpha")
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    for i, row in enumerate(rows):
        row["responses"] = {"small": "loop " * 60 if i % 3 == 0 else "The answer is 4."}
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    runner = CliRunner()
    text = runner.invoke(cli, ["eval", str(data)])
    assert text.exit_code == 0, text.output
    assert "before (prompt)" in text.output
    assert "8 answers fail the structural/format checks" in text.output
    doc = json.loads(runner.invoke(cli, ["eval", str(data), "--json"]).output)
    cascade = doc["before_after_answer"]
    before, after = cascade["before"], cascade["after"]
    assert cascade["verifier_failed"] == 8  # the looping answers, i % 3 == 0
    assert {k: before[k] for k in _prompt_only_metrics(data)} == _prompt_only_metrics(data)
    assert (after["n"], after["q_local"], after["q_frontier"]) == (24, 0.5, 20 / 24)
    assert after["apgr"] != before["apgr"]  # the answers moved the order
    assert f"{before['apgr']:.4f}" in text.output and f"{after['apgr']:.4f}" in text.output
    off = json.loads(runner.invoke(cli, ["eval", str(data), "--json", "--no-cascade"]).output)
    assert off["before_after_answer"] is None


def test_eval_with_another_pair_and_a_bad_pair(cli: click.Group, tmp_path: Path):
    data = _outcomes(tmp_path, "alpha")
    runner = CliRunner()
    ok = runner.invoke(cli, ["eval", str(data), "--json", "--local-model", "mid"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["local_model"] == "mid"
    bad = runner.invoke(cli, ["eval", str(data), "--frontier-model", "nope"])
    assert bad.exit_code == 1
    assert "models in the file: big, mid, small" in bad.output
    assert "Hint:" in bad.output


def test_calibrate_prints_a_policy_fragment(cli: click.Group, tmp_path: Path):
    data = _outcomes(tmp_path, "alpha")
    result = CliRunner().invoke(cli, ["calibrate", str(data), "--target-frontier-share", "0.25"])
    assert result.exit_code == 0, result.output
    match = re.fullmatch(
        r"routing:\n  threshold: ([0-9.]+)  # gives ([0-9.]+)% frontier .* on alpha.jsonl\n",
        result.output,
    )
    assert match, result.output
    threshold, share = float(match[1]), float(match[2]) / 100
    scores = load_classifier().score_batch(
        [json.loads(line)["prompt"] for line in data.read_text().splitlines()]
    )
    assert share <= 0.25
    assert sum(s >= threshold for s in scores) / len(scores) == pytest.approx(share, abs=1e-3)


def test_calibrate_by_quality_and_usage_errors(cli: click.Group, tmp_path: Path):
    data = _outcomes(tmp_path, "alpha")
    runner = CliRunner()
    ok = runner.invoke(cli, ["calibrate", str(data), "--target-quality", "0.95"])
    assert ok.exit_code == 0, ok.output
    threshold = float(re.search(r"threshold: ([0-9.]+)", ok.output)[1])  # type: ignore[index]
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    scores = load_classifier().score_batch([r["prompt"] for r in rows])
    routed = [
        r["scores"]["big" if s >= threshold else "small"] for r, s in zip(rows, scores, strict=True)
    ]
    q_frontier = sum(r["scores"]["big"] for r in rows) / len(rows)
    assert sum(routed) / len(rows) >= 0.95 * q_frontier  # the threshold reaches the target
    assert sum(s >= threshold for s in scores) < len(rows)  # without sending everything
    neither = runner.invoke(cli, ["calibrate", str(data)])
    assert neither.exit_code == 2
    assert "exactly one" in neither.output
    both = runner.invoke(
        cli, ["calibrate", str(data), "--target-quality", "0.9", "--target-frontier-share", "0.1"]
    )
    assert both.exit_code == 2
    out_of_range = runner.invoke(cli, ["calibrate", str(data), "--target-frontier-share", "2"])
    assert out_of_range.exit_code == 2


def test_train_builds_a_loadable_artefact_and_reports_validation(cli: click.Group, tmp_path: Path):
    files = [_outcomes(tmp_path, name, 30) for name in ("alpha", "beta", "gamma")]
    out = tmp_path / "build"
    args = ["train", "--out", str(out), "--seed", "3"]
    for f in files:
        args += ["--data", str(f)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "leave-out alpha" in result.output
    assert "random 5-fold" in result.output
    clf = load_classifier(out)
    hard = clf.score("Solve the equation 7x + 3 = 9 and prove the answer step by step.")
    easy = clf.score("Say hello to delta number 7 and suggest a fun idea.")
    assert 0.0 <= easy < hard <= 1.0  # it learned which prompts the small model fails
    doc = json.loads((out / "default.json").read_text())
    assert doc["training"]["seed"] == 3
    assert [d["file"] for d in doc["training"]["data"]] == [f.name for f in files]
    assert json.loads((out / "validation.json").read_text())["validation"]


def test_train_without_validation_and_with_bad_data(cli: click.Group, tmp_path: Path):
    good = _outcomes(tmp_path, "alpha")
    out = tmp_path / "b"
    ok = CliRunner().invoke(cli, ["train", "--data", str(good), "--out", str(out), "--no-validate"])
    assert ok.exit_code == 0, ok.output
    assert (out / "default.json").exists()
    assert not (out / "validation.json").exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "prompt": "p"}\n', encoding="utf-8")
    fail = CliRunner().invoke(cli, ["train", "--data", str(bad), "--out", str(out)])
    assert fail.exit_code == 1
    assert "bad.jsonl:1: 'scores' is not an object" in fail.output


@pytest.mark.slow  # a fresh interpreter importing litellm
def test_litellm_peers_score_offline_in_a_subprocess():
    # Separate interpreter: litellm's import emits warnings this suite would turn into errors.
    code = (
        "from router.classifier._peers import LiteLLMPeer\n"
        "for kind in ('heuristic', 'heuristic_v2'):\n"
        "    s = LiteLLMPeer(kind).score_batch(['hi', 'Prove the Riemann hypothesis'])\n"
        "    assert all(0.0 <= v <= 1.0 for v in s), s\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
