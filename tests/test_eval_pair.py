"""`router eval` measures the pair this product routes when the file has it, says which pair it
evaluated and why, lists the file's models, and prints where --plot wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli import main
from router.evaluation import load_outcomes
from router.evaluation._pairs import PRODUCT_PAIR, choose_pair, list_models, same_model
from router.policy import load_policy

LOCAL = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]
BIG = [1.0, 1.0, 0.0, 1.0, 1.0, 1.0]


def outcome_file(tmp_path: Path, local: str, frontier: str, *, product: bool) -> Path:
    """Six prompts; the file's default pair is small/big; with `product`, the product's pair
    (spelt as a model hub would) is scored too."""
    rows = []
    for i, (lo, fr) in enumerate(zip(LOCAL, BIG, strict=True)):
        scores = {"small": lo, "big": fr}
        if product:
            scores |= {local: 1 - lo, frontier: 1.0}
        rows.append(
            {
                "id": f"p{i}",
                "prompt": f"question {i} " + "word " * i,
                "scores": scores,
                "local_model": "small",
                "frontier_model": "big",
            }
        )
    path = tmp_path / "outcomes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_product_pair_is_the_shipped_default_policy_s() -> None:
    policy = load_policy("default")
    assert (policy.local.model, policy.frontier.models[0].model) == PRODUCT_PAIR


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("qwen3.5:9b", "Qwen/Qwen3.5-9B", True),
        ("qwen3.5:9b", "qwen3.5-9b-instruct", True),
        ("gpt-5.4", "openai/gpt-5.4", True),
        ("gpt-5.4", "gpt-5.4-2026-03-05", True),
        ("gpt-5.4", "gpt-5.4-mini", False),
        ("qwen3.5:9b", "qwen3.5:27b", False),
        ("qwen3.5:9b", "Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4", False),
    ],
)
def test_model_names_match_across_spellings(a: str, b: str, same: bool) -> None:
    assert same_model(a, b) is same


def test_the_product_pair_wins_when_the_file_scores_it(tmp_path: Path) -> None:
    rows = load_outcomes(outcome_file(tmp_path, "Qwen/Qwen3.5-9B", "gpt-5.4", product=True))
    choice = choose_pair(rows)
    assert (choice.local, choice.frontier) == ("Qwen/Qwen3.5-9B", "gpt-5.4")
    assert "this product routes" in choice.reason
    named = choose_pair(rows, "small", "big")
    assert (named.local, named.frontier) == ("small", "big") and "given" in named.reason


def test_else_the_file_s_default_pair_and_it_says_so(tmp_path: Path) -> None:
    rows = load_outcomes(outcome_file(tmp_path, "x", "y", product=False))
    choice = choose_pair(rows)
    assert (choice.local, choice.frontier) == ("small", "big")
    assert "the file's default pair" in choice.reason and "qwen3.5:9b vs gpt-5.4" in choice.reason


def test_eval_prints_the_pair_it_evaluated(tmp_path: Path) -> None:
    path = outcome_file(tmp_path, "qwen3.5-9b", "openai/gpt-5.4", product=True)
    result = CliRunner().invoke(main, ["eval", str(path), "--no-cascade"])
    assert result.exit_code == 0, result.output
    first, second, *_ = result.stdout.splitlines()
    assert first == "evaluated pair: qwen3.5-9b (local) vs openai/gpt-5.4 (frontier)"
    assert "this product routes" in second
    as_json = CliRunner().invoke(main, ["eval", str(path), "--json", "--no-cascade"])
    doc = json.loads(as_json.stdout)
    assert (doc["local_model"], doc["frontier_model"]) == ("qwen3.5-9b", "openai/gpt-5.4")
    assert "this product routes" in doc["pair_chosen_by"]


def test_list_models_shows_each_model_and_the_pairs(tmp_path: Path) -> None:
    path = outcome_file(tmp_path, "qwen3.5:9b", "gpt-5.4", product=True)
    result = CliRunner().invoke(main, ["eval", str(path), "--list-models"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:5]}
    assert lines["small"].split()[1:3] == ["6", "0.5000"]
    assert "file's default local" in lines["small"] and "file's default frontier" in lines["big"]
    assert "product's local" in lines["qwen3.5:9b"] and "product's frontier" in lines["gpt-5.4"]
    assert "router eval evaluates qwen3.5:9b vs gpt-5.4" in result.stdout
    assert list_models(load_outcomes(path)) in result.stdout


def test_plot_prints_the_path_it_wrote(tmp_path: Path) -> None:
    path = outcome_file(tmp_path, "x", "y", product=False)
    plot = tmp_path / "curve.png"
    result = CliRunner().invoke(main, ["eval", str(path), "--no-cascade", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert f"plot written to {plot}" in result.stdout and plot.read_bytes()[:4] == b"\x89PNG"
    quiet = CliRunner().invoke(
        main, ["eval", str(path), "--json", "--no-cascade", "--plot", str(plot)]
    )
    assert json.loads(quiet.stdout)["n"] == 6 and f"plot written to {plot}" in quiet.stderr
