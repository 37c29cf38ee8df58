"""After the answer: answer features, the post-hoc model, and its place in the artefact."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from router.classifier import DifficultyClassifier, load_classifier
from router.classifier._answer import (
    ANSWER_NAMES,
    checks_failed,
    choice_faults,
    extract_answer,
    instructions_broken,
)
from router.classifier._artefact import DEFAULT_ARTEFACT
from router.classifier._model import Artefact, checksum
from router.classifier._train import TrainParams, answer_examples, featurize, fit, fit_posthoc
from router.errors import ClassifierError
from router.evaluation import OutcomeRow

MCQ = "Which is a noble gas?\nA. Iron\nB. Neon\nC. Sodium\nD. Carbon\nAnswer:"


def feature(prompt: str, answer: str, name: str) -> float:
    return extract_answer(prompt, answer)[ANSWER_NAMES.index(name)]


# --- answer features ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "faults"),
    [
        ("Neon is inert. The answer is (B).", 0),
        ("B", 0),
        ("It could be several things; it depends on the context.", 1),  # no option
        ("The answer is (Insufficient information).", 1),
        ("The answer is (A). Wait, no: the answer is (B).", 1),  # changed its mind
        ("The answer is (Z).", 1),  # not one of the options
        # The formats local models answer in besides MMLU-Pro's "the answer is (X)": each
        # commits to one option and must not count as a miss (it would escalate a good answer).
        ("B. Neon", 0),
        ("**B) Neon**\n\nNeon is a noble gas.", 0),
        ("(B) Neon", 0),
        ("Answer: B", 0),
        ("The correct answer is **B. Neon**.", 0),
        ("The correct option is B because neon is inert.", 0),
        ("Final answer: \\boxed{B}", 0),
        ("Another option is A, but the answer is (B).", 0),  # weighing an option is not choosing
        ("Answer: A\nAnswer: C", 1),  # two answers
        ("Neon.", 1),  # names no option letter
        ("The answer is I think B", 1),  # "I" is a pronoun here, not option I
    ],
)
def test_multiple_choice_answer_states_one_valid_option(answer, faults):
    assert choice_faults(MCQ, answer) == faults
    assert feature(MCQ, answer, "checks_failed") == faults


def test_choice_faults_are_zero_when_the_prompt_has_no_options():
    assert choice_faults("What is 2 + 2?", "It depends.") == 0
    assert feature("What is 2 + 2?", "It depends.", "checks_failed") == 0.0


def test_checks_failed_pools_choices_and_instructions():
    """One count for every checkable miss, so the post-hoc weight learned on instruction-following
    answers also applies to multiple-choice answers (and the reverse)."""
    prompt = f"{MCQ}\nDo not use any commas."
    assert checks_failed(prompt, "The answer is (B).") == 0
    assert checks_failed(prompt, "Well, it depends.") == 2
    assert feature(prompt, "Well, it depends.", "checks_failed") == 2.0


@pytest.mark.parametrize(
    ("prompt", "answer", "broken"),
    [
        ("Describe Paris. Do not use any commas.", "Paris is big, and old.", 1),
        ("Describe Paris. Do not use any commas.", "Paris is big and old.", 0),
        ("Answer in all lowercase letters only.", "Paris Is Big", 1),
        ("Write at least 50 words about cats.", "Cats purr.", 1),
        ("Write at most 5 words about cats.", "Cats purr a lot at night here.", 1),
        ("Reply in JSON format.", '```json\n{"a": 1}\n```', 0),
        ("Reply in JSON format.", "a: 1", 1),
        ("Wrap your entire response with double quotation marks.", '"Hi there."', 0),
        ("No commas, in all capital letters, at least 3 words.", "hi, you", 3),
        ("Tell me about cats.", "Cats, dogs, and mice.", 0),
    ],
)
def test_instructions_broken_counts_verifiable_instructions(prompt, answer, broken):
    assert instructions_broken(prompt, answer) == broken


def test_structure_signals():
    loop = "the same four words " * 20
    assert feature("Q?", loop, "repetition") > 0.5
    assert feature("Q?", "A clear and complete answer with varied words.", "repetition") == 0.0
    assert feature("Q?", "It stops in the middle of a", "cut_off") == 1.0
    assert feature("Q?", "It ends properly.", "cut_off") == 0.0
    assert feature("日本の首都はどこですか", "Tokyo is the capital.", "script_mismatch") > 0.3
    assert feature("Q?", "I think it might be probably 4.", "hedges") > 0.0
    assert len(extract_answer("", "")) == len(ANSWER_NAMES)


# --- the post-hoc model -------------------------------------------------------------------


def answered_rows(source: str, n: int = 40) -> list[OutcomeRow]:
    """Model "a" is right exactly when it commits to an option; "b" always right."""
    rows = []
    for i in range(n):
        right = i % 2 == 0
        answer = f"Noble gases are inert. The answer is (B). [{i}]" if right else "It depends."
        rows.append(
            OutcomeRow(
                f"{source}-{i}",
                MCQ.replace("noble gas", f"noble gas {source}{i}"),
                {"a": float(right), "b": 1.0},
                source,
                "t",
                "a",
                "b",
                {"a": answer, "b": "The answer is (B)."},
            )
        )
    return rows


def tiny_with_posthoc() -> DifficultyClassifier:
    sources = {s: answered_rows(s) for s in ("one", "two")}
    weights = fit([featurize(s, rs) for s, rs in sources.items()], TrainParams(1.0, 1, 1))
    prompt_only = DifficultyClassifier(weights)
    examples = [answer_examples(s, rs, prompt_only.logit) for s, rs in sources.items()]
    posthoc = fit_posthoc([e for e in examples if e is not None])
    return DifficultyClassifier(replace(weights, posthoc=posthoc))


def test_posthoc_score_judges_the_answer_and_leaves_prompt_only_scores_alone():
    clf = tiny_with_posthoc()
    assert clf.uses_response
    good, bad = "The answer is (B).", "It depends."
    assert clf.score(MCQ, bad) > clf.score(MCQ, good) + 0.2
    prompt_only = DifficultyClassifier(replace(clf.weights, posthoc=None))
    assert not prompt_only.uses_response
    assert clf.score(MCQ) == prompt_only.score(MCQ) == prompt_only.score(MCQ, bad)
    assert clf.score_batch([MCQ, MCQ], [good, None]) == [clf.score(MCQ, good), clf.score(MCQ)]
    with pytest.raises(TypeError):
        clf.score(MCQ, 3)  # type: ignore[arg-type]


def test_answer_examples_skip_rows_without_answers():
    rows = [OutcomeRow("x", "Q?", {"a": 1.0})]
    assert answer_examples("none", rows, lambda _p: 0.0) is None


# --- artefact load path -------------------------------------------------------------------


def _write(tmp_path: Path, doc: dict[str, object]) -> Path:
    path = tmp_path / DEFAULT_ARTEFACT
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _doc() -> dict[str, object]:
    return Artefact(tiny_with_posthoc().weights).to_json()


def test_posthoc_round_trips_through_the_artefact(tmp_path: Path):
    clf = tiny_with_posthoc()
    loaded = load_classifier(_write(tmp_path, _doc()))
    assert loaded.uses_response
    assert loaded.score(MCQ, "It depends.") == clf.score(MCQ, "It depends.")


def _resigned(mutate) -> dict[str, object]:
    doc = _doc()
    model = doc["model"]
    assert isinstance(model, dict)
    mutate(model["posthoc"])
    doc["checksum"] = checksum(model)
    return doc


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(answer_version=99), "answer_version 99 is not supported"),
        (lambda p: p.update(coef=p["coef"][:2]), "posthoc.coef must be a list"),
        (lambda p: p.update(prompt_scale=0.0), "scales must be positive"),
        (lambda p: p.pop("intercept"), "posthoc.intercept must be a finite number"),
        (lambda p: p.update(names=["x"] * len(p["names"])), "different answer features"),
    ],
)
def test_bad_posthoc_blocks_are_rejected_with_a_fix(tmp_path: Path, mutate, message):
    with pytest.raises(ClassifierError, match=message) as caught:
        load_classifier(_write(tmp_path, _resigned(mutate)))
    assert "router train" in str(caught.value)


def test_tampered_posthoc_weights_fail_the_checksum(tmp_path: Path):
    doc = _doc()
    model = doc["model"]
    assert isinstance(model, dict)
    model["posthoc"]["coef"][0] += 1.0
    with pytest.raises(ClassifierError, match="checksum mismatch"):
        load_classifier(_write(tmp_path, doc))


def test_artefact_without_posthoc_still_loads_and_ignores_answers(tmp_path: Path):
    doc = _resigned(lambda p: None)
    model = doc["model"]
    assert isinstance(model, dict)
    model.pop("posthoc")
    doc["checksum"] = checksum(model)
    loaded = load_classifier(_write(tmp_path, doc))
    assert not loaded.uses_response
    assert loaded.score(MCQ, "It depends.") == loaded.score(MCQ)


# --- router train with answers --------------------------------------------------------------


def _jsonl(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.jsonl"
    lines = [
        json.dumps(
            {
                "id": r.id,
                "prompt": r.prompt,
                "scores": dict(r.scores),
                "local_model": "a",
                "frontier_model": "b",
                "responses": dict(r.responses),
            }
        )
        for r in answered_rows(name, 30)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_train_fits_and_validates_the_posthoc_model_across_sources(tmp_path: Path):
    from router.classifier._build import train  # noqa: PLC0415 - scikit-learn

    data = [_jsonl(tmp_path, n) for n in ("one", "two", "three")]
    report = train(data, tmp_path / "out", log=lambda _msg: None)
    doc = json.loads(report.artefact_path.read_text(encoding="utf-8"))
    assert doc["model"]["posthoc"]["names"] == list(ANSWER_NAMES)
    cascade = doc["metrics"]["before_after_answer"]
    assert [c["test"] for c in cascade] == ["one", "two", "three"]
    for c in cascade:  # committing to an option is what separates right from wrong here
        assert c["after"]["apgr"] > c["before"]["apgr"]
        assert c["after"]["apgr"] == pytest.approx(0.75)  # the oracle: half the prompts gain
    assert "before -> after the answer" in report.table
    clf = load_classifier(report.artefact_path)
    prompt = answered_rows("one", 1)[0].prompt
    assert clf.score(prompt, "It depends.") > clf.score(prompt, "The answer is (B).")
