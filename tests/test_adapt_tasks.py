"""Per-task offsets: `router adapt` on rows that name their `task`, and scoring with a task.

The synthetic traffic has a text signal (the frontier model gains on maths prompts) and a task
signal the text cannot show: every prompt template occurs in every task, but on task "alpha" the
frontier model also gains on the trivia prompts.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from router import Router
from router.classifier import load_classifier
from router.cli import main
from router.errors import ClassifierError
from router.learning import LabelledExample, LearnedClassifier, hashed_features, load_learned
from router.learning._adapt import adapt, describe, file_fit_params
from router.learning._artefacts import ArtefactDir, PromotedClassifier
from router.learning._fit import FitParams, fit_candidate
from router.policy import Routing
from tests.learning_helpers import servers_fixture  # noqa: F401 - the `servers` fixture
from tests.support import loopback_policy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MATHS = "Prove that the integral of {} over the unit interval converges, step by step."
TRIVIA = "Who was the first person born in {}? Answer briefly."
WORDS = ["x", "sin y", "Paris", "Lima", "Oslo", "cos z"]
TASKS = ("alpha", "beta", "gamma")


def _rows(n: int = 300, seed: int = 0, alpha_gains: bool = True) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        maths, task = i % 2 == 0, TASKS[(i // 2) % 3]
        gains = maths or (alpha_gains and task == "alpha")
        frontier = 1.0 if (rng.random() < 0.85) == gains else 0.0
        rows.append(
            {
                "id": i,
                "prompt": (MATHS if maths else TRIVIA).format(rng.choice(WORDS)),
                "task": task,
                "scores": {"small": 0.0, "big": frontier},
                "local_model": "small",
                "frontier_model": "big",
            }
        )
    return rows


def _write(path: Path, rows: list[dict[str, Any]], keep_task: bool = True) -> Path:
    drop = set() if keep_task else {"task"}
    path.write_text(
        "".join(json.dumps({k: v for k, v in r.items() if k not in drop}) + "\n" for r in rows)
    )
    return path


def _examples(rows: list[dict[str, Any]]) -> list[LabelledExample]:
    return [
        LabelledExample(
            hashed_features(r["prompt"]),
            r["scores"]["big"] - r["scores"]["small"],
            T0 + timedelta(seconds=i),
            "file",
        )
        for i, r in enumerate(rows)
    ]


def _fit(rows: list[dict[str, Any]], tasks: list[str] | None, **params: Any) -> LearnedClassifier:
    base = file_fit_params()
    fit_params = FitParams(**{**{f: getattr(base, f) for f in base.__slots__}, **params})
    return fit_candidate(_examples(rows), params=fit_params, tasks=tasks)


def test_a_task_with_all_the_gain_moves_its_rows_towards_the_frontier(tmp_path: Path) -> None:
    learned = adapt(_write(tmp_path / "t.jsonl", _rows()), tmp_path / "out")
    assert learned.gain_model is not None and learned.tasks == TASKS
    offsets = learned.gain_model.task_offsets
    assert offsets["alpha"] > 0.3 and offsets["beta"] < 0 and offsets["gamma"] < 0, offsets
    trivia = TRIVIA.format("Lima")
    plain = learned.score(trivia)
    assert learned.score(trivia, task="alpha") > plain + 0.05
    assert learned.score(trivia, task="beta") < plain
    # Ranking: alpha's trivia prompts now come before the other tasks' trivia prompts.
    assert learned.score(trivia, task="alpha") > learned.score(trivia, task="gamma") + 0.1
    assert learned.training["tasks"] == {"alpha": 100, "beta": 100, "gamma": 100}
    assert any("per-task offsets for 3 tasks" in line for line in describe(learned))


def test_no_task_or_an_unseen_task_scores_exactly_as_without_offsets(tmp_path: Path) -> None:
    """With inference from the text turned off (tests/test_inferred_offsets.py has it on)."""
    rows = _rows()
    with_tasks = _fit(rows, [r["task"] for r in rows], task_infer_alpha=None)
    without = _fit(rows, None)
    assert with_tasks.gain_model is not None and with_tasks.gain_model.task_offsets
    for word in WORDS:
        for prompt in (MATHS.format(word), TRIVIA.format(word)):
            plain = without.score(prompt)
            assert with_tasks.score(prompt) == plain
            assert with_tasks.score(prompt, task=None) == plain
            assert with_tasks.score(prompt, task="") == plain
            assert with_tasks.score(prompt, task="never seen") == plain
            features = hashed_features(prompt)
            assert with_tasks.score_features(features, task="delta") == plain


def test_a_file_without_tasks_gives_the_artefact_it_gave_before_offsets(tmp_path: Path) -> None:
    """No task, one task, or offsets turned off: one model, one version, the same bytes scored;
    the document has no `task_offsets` key and one length slope (""); with slopes turned off as
    well it is the version-1 document routers before offsets and slopes read."""
    rows = _rows()
    reference = _fit(rows, None, task_shrink=None)
    for tasks in (None, [""] * len(rows), ["only"] * len(rows)):
        fitted = _fit(rows, tasks)
        assert fitted.version == reference.version
        assert fitted.to_json()["model"] == reference.to_json()["model"]
    model = reference.to_json()["model"]
    assert "task_offsets" not in model and list(model["length_slopes"]) == [""]
    assert reference.to_json()["format_version"] == 3
    plain = _fit(rows, None, task_shrink=None, length_shrink=None).to_json()
    assert plain["format_version"] == 1 and "length_slopes" not in plain["model"]
    notask = adapt(_write(tmp_path / "n.jsonl", rows, keep_task=False), tmp_path / "n")
    assert notask.version == reference.version and "tasks" not in notask.training
    requests = tmp_path / "req.jsonl"
    requests.write_text(
        "".join(
            json.dumps({"id": i, "prompt": TRIVIA.format(w)}) + "\n" for i, w in enumerate(WORDS)
        )
    )
    outputs = []
    for artefact in (tmp_path / "n", tmp_path / "n2"):
        if artefact.name == "n2":
            reference.save(artefact)
        out = tmp_path / f"{artefact.name}.scores"
        args = [
            "score",
            "--input",
            str(requests),
            "--output",
            str(out),
            "--classifier",
            str(artefact),
        ]
        assert CliRunner().invoke(main, args).exit_code == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_tasks_whose_outcomes_do_not_differ_get_no_offsets(tmp_path: Path) -> None:
    learned = adapt(_write(tmp_path / "t.jsonl", _rows(alpha_gains=False)), tmp_path / "out")
    assert learned.gain_model is not None and learned.tasks == ()
    assert learned.training["tasks"] == {"alpha": 100, "beta": 100, "gamma": 100}
    assert any("no per-task offsets" in line for line in describe(learned))
    ungated = _fit(_rows(alpha_gains=False), list(TASKS) * 100, task_max_p=None)
    assert ungated.tasks == TASKS  # the gate, not the shrinkage, kept them out


def test_the_offsets_survive_a_round_trip_and_are_checksummed(tmp_path: Path) -> None:
    learned = adapt(_write(tmp_path / "t.jsonl", _rows()), tmp_path / "out")
    loaded = load_learned(tmp_path / "out")
    assert loaded.version == learned.version and loaded.tasks == TASKS
    trivia = TRIVIA.format("Oslo")
    assert loaded.score(trivia, task="alpha") == learned.score(trivia, task="alpha")
    doc = json.loads((tmp_path / "out" / "learned.json").read_text())
    assert doc["format_version"] == 4  # a router without offsets, slopes or inference refuses it
    doc["format_version"] = 2
    (tmp_path / "out" / "learned.json").write_text(json.dumps(doc))
    with pytest.raises(
        ClassifierError, match="per-task offsets are format_version 2, length slopes 3"
    ):
        load_learned(tmp_path / "out")
    doc["format_version"] = 4
    doc["model"]["task_offsets"]["alpha"] += 1.0
    (tmp_path / "out" / "learned.json").write_text(json.dumps(doc))
    with pytest.raises(ClassifierError, match="checksum"):
        load_learned(tmp_path / "out")
    doc["model"]["task_offsets"] = {"alpha": "high"}
    (tmp_path / "out" / "learned.json").write_text(json.dumps(doc))
    with pytest.raises(ClassifierError, match="malformed 'model'"):
        load_learned(tmp_path / "out")


def test_router_score_passes_each_rows_task(tmp_path: Path) -> None:
    adapt(_write(tmp_path / "t.jsonl", _rows()), tmp_path / "out")
    learned = load_learned(tmp_path / "out")
    trivia = TRIVIA.format("Paris")
    rows = [
        {"id": "a", "prompt": trivia, "task": "alpha"},
        {"id": "b", "prompt": trivia, "task": "beta"},
        {"id": "c", "prompt": trivia, "task": "unseen"},
        {"id": "d", "prompt": trivia, "task": None},
        {"id": "e", "prompt": trivia},
    ]
    requests = tmp_path / "req.jsonl"
    requests.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "scores.jsonl"
    for classifier in (tmp_path / "out", None):
        args = ["score", "--input", str(requests), "--output", str(out)]
        args += ["--classifier", str(classifier)] if classifier else []
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        scores = {r["id"]: r["score"] for r in map(json.loads, out.read_text().splitlines())}
        if classifier is None:  # the shipped classifier has no tasks: the prompt alone
            assert set(scores.values()) == {load_classifier().score(trivia)}
            continue
        plain = learned.score(trivia)
        assert scores["a"] == learned.score(trivia, task="alpha") > plain
        assert scores["b"] == learned.score(trivia, task="beta") < plain
        assert scores["c"] == scores["d"] == scores["e"] == plain


def test_router_score_gives_prompts_on_the_command_line_the_task_named(tmp_path: Path) -> None:
    adapt(_write(tmp_path / "t.jsonl", _rows()), tmp_path / "out")
    learned = load_learned(tmp_path / "out")
    trivia = TRIVIA.format("Paris")
    printed = {}
    for task in ("alpha", "beta", None):
        args = ["score", "--classifier", str(tmp_path / "out"), trivia]
        result = CliRunner().invoke(main, args + (["--task", task] if task else []))
        assert result.exit_code == 0, result.output
        printed[task] = result.output.split()[0]
    assert printed["alpha"] == f"{learned.score(trivia, task='alpha'):.3f}"
    assert printed["beta"] == f"{learned.score(trivia, task='beta'):.3f}"
    assert printed[None] == f"{learned.score(trivia):.3f}"
    assert len(set(printed.values())) == 3
    refused = CliRunner().invoke(main, ["score", "--input", "-", "--task", "alpha"], input="")
    assert refused.exit_code == 2 and "--task goes with prompts" in refused.output


def test_router_score_refuses_a_task_that_is_not_text(tmp_path: Path) -> None:
    requests = tmp_path / "req.jsonl"
    requests.write_text(json.dumps({"id": 1, "prompt": "hi", "task": 3}) + "\n")
    args = ["score", "--input", str(requests), "--output", str(tmp_path / "o.jsonl")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "req.jsonl:1: 'task' must be a string or null" in result.output


def test_a_promoted_classifier_passes_the_task_to_its_artefact(tmp_path: Path) -> None:
    learned = adapt(_write(tmp_path / "t.jsonl", _rows()), tmp_path / "out")
    directory = ArtefactDir(tmp_path / "artefacts")
    directory.save(learned)
    directory.promote(learned.version)
    promoted = PromotedClassifier(directory, load_classifier())
    trivia = TRIVIA.format("Lima")
    assert promoted.score(trivia, task="alpha") == learned.score(trivia, task="alpha")
    assert promoted.score(trivia) == learned.score(trivia)
    batch = promoted.score_batch([trivia, trivia], tasks=["alpha", None])
    assert batch == [learned.score(trivia, task="alpha"), learned.score(trivia)]
    pinned = promoted.pinned()
    assert isinstance(pinned, LearnedClassifier) and pinned.task_aware
    score, _ = pinned.score_with_features(trivia, task="alpha")
    assert score == learned.score(trivia, task="alpha")


def test_a_requests_metadata_task_reaches_the_adapted_classifier(
    servers: Any, tmp_path: Path
) -> None:
    """Router(classifier=DIR) scores with the request's `metadata["task"]`: its decision's score
    is the artefact's score for that task; an unseen task, or none, scores the prompt alone."""
    learned = adapt(_write(tmp_path / "t.jsonl", _rows()), tmp_path / "out")
    trivia = TRIVIA.format("Lima")
    policy = loopback_policy(*servers, routing=Routing(rule="classifier", threshold=0.5))
    router = Router(policy, classifier=tmp_path / "out", ledger=None)
    try:
        for task in ("alpha", "gamma", "unseen", None):
            metadata = {"team": "t"} if task is None else {"task": task}
            decision = router.complete(trivia, metadata=metadata).decision
            expected = learned.score(trivia, task=task) if task else learned.score(trivia)
            assert decision.score == pytest.approx(expected), task
    finally:
        router.close()
    assert learned.score(trivia, task="alpha") > learned.score(trivia) + 0.05


def _eval_apgr(data: Path, classifier: Path) -> float:
    args = ["eval", str(data), "--classifier", str(classifier), "--json", "--no-cascade"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return float(json.loads(result.output)["scorers"]["cost-router"]["apgr"])


def test_router_eval_and_calibrate_score_each_row_with_its_task(tmp_path: Path) -> None:
    """On traffic whose tasks carry what the text cannot show, eval of the adapted artefact on
    rows naming their task routes better than on the same rows without it, and calibrate's
    threshold is picked on the task-aware scores."""
    adapt(_write(tmp_path / "t.jsonl", _rows()), tmp_path / "out")
    held_out = _rows(seed=1)
    with_tasks = _write(tmp_path / "with.jsonl", held_out)
    without = _write(tmp_path / "without.jsonl", held_out, keep_task=False)
    assert _eval_apgr(with_tasks, tmp_path / "out") > _eval_apgr(without, tmp_path / "out") + 0.02
    calibrate_args = ["--classifier", str(tmp_path / "out"), "--target-frontier-share", "0.4"]
    thresholds = [
        CliRunner().invoke(main, ["calibrate", str(f), *calibrate_args])
        for f in (with_tasks, without)
    ]
    assert all(t.exit_code == 0 for t in thresholds), [t.output for t in thresholds]
    assert thresholds[0].stdout != thresholds[1].stdout
