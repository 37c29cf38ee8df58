"""Validation for `router train`: cross-source splits first, random splits second.

Routing is judged on other sources and model pairs, so the headline numbers come from training on
some files and testing on a file the model never saw (leave-one-source-out, plus the two large
files against each other). Random K-fold splits pooled over all files are reported alongside as
the in-distribution reference. Each held-out file is scored on its own default pair and, since a
single pair's 0/1 outcomes are noisy, on the mean over all pairs whose frontier is >= 5 points
better ("multi-pair").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from router.classifier._model import DifficultyClassifier
from router.classifier._train import (
    SourceFeatures,
    TrainParams,
    answer_examples,
    fit,
    fit_posthoc,
    subset,
)
from router.evaluation import OutcomeRow, multi_pair, pair_metrics, pick_pair
from router.evaluation._cascade import evaluate_cascade

Scorer = Callable[[Sequence[str]], list[float]]
RANDOM = "random"


@dataclass(frozen=True, slots=True)
class SplitResult:
    """One held-out file under one split, for each scorer (`ours`, peers, `random`)."""

    split: str
    test: str
    n: int
    default: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    multi: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "test": self.test,
            "n": self.n,
            "default_pair": dict(self.default),
            "multi_pair": dict(self.multi),
        }


def cross_source_splits(names: Sequence[str]) -> list[tuple[str, list[str], str]]:
    """`(label, train, test)`: the two big files against each other, then leave-one-out."""
    splits = [
        (f"{a} -> {b}", [a], b)
        for a, b in (("mmlu-pro", "llmrouter-train"), ("llmrouter-train", "mmlu-pro"))
        if a in names and b in names
    ]
    if len(names) > 2:
        splits += [(f"leave-out {t}", [n for n in names if n != t], t) for t in names]
    return splits


def _nan_none(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _evaluate(
    rows: Sequence[OutcomeRow], scores: Mapping[str, Sequence[float]]
) -> tuple[dict[str, dict[str, float | None]], dict[str, dict[str, float | None]]]:
    pair = pick_pair(rows)
    index = {id(r): i for i, r in enumerate(rows)}
    default: dict[str, dict[str, float | None]] = {}
    multi: dict[str, dict[str, float | None]] = {}
    for name, s in scores.items():
        m = pair_metrics([s[index[id(r)]] for r in pair.rows], pair)
        default[name] = {"apgr": _nan_none(m.apgr), "cost_saved_95": _nan_none(m.cost_saved_at_95)}
        mean_apgr, mean_saved, n_pairs = multi_pair(rows, s)
        multi[name] = {
            "apgr": _nan_none(mean_apgr),
            "cost_saved_95": _nan_none(mean_saved),
            "pairs": n_pairs,
        }
        if name == "ours":
            default[RANDOM] = {"apgr": 0.5, "cost_saved_95": _nan_none(m.random_cost_saved_at_95)}
    return default, multi


def run_cross_source(
    feats: Mapping[str, SourceFeatures],
    rows: Mapping[str, Sequence[OutcomeRow]],
    params: TrainParams,
    peers: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
    log: Callable[[str], None] = lambda _: None,
    *,
    fitted: dict[str, DifficultyClassifier] | None = None,
) -> list[SplitResult]:
    """Fit on each split's training files, score its test file; `fitted` collects the models
    of the leave-one-out splits by test file (for `run_cascade`)."""
    out = []
    for label, train, test in cross_source_splits(list(feats)):
        log(f"  fitting {label} ...")
        clf = DifficultyClassifier(fit([feats[t] for t in train], params))
        if fitted is not None and label.startswith("leave-out "):
            fitted[test] = clf
        scores: dict[str, Sequence[float]] = {
            "ours": clf.score_batch([r.prompt for r in rows[test]])
        }
        scores.update((p, s[test]) for p, s in (peers or {}).items())
        default, multi = _evaluate(rows[test], scores)
        out.append(SplitResult(label, test, len(rows[test]), default, multi))
    return out


def run_random_split(
    feats: Mapping[str, SourceFeatures],
    rows: Mapping[str, Sequence[OutcomeRow]],
    params: TrainParams,
    *,
    seed: int,
    folds: int = 5,
    log: Callable[[str], None] = lambda _: None,
) -> list[SplitResult]:
    """K-fold over all files pooled (each file split the same way); out-of-fold scores per file."""
    rng = np.random.default_rng(seed)
    fold_of = {n: rng.permutation(len(f.target)) % folds for n, f in feats.items()}
    oof = {n: np.zeros(len(f.target)) for n, f in feats.items()}
    for k in range(folds):
        log(f"  fitting random split fold {k + 1}/{folds} ...")
        train = [subset(f, np.flatnonzero(fold_of[n] != k), "") for n, f in feats.items()]
        clf = DifficultyClassifier(fit(train, params))
        for n in feats:
            held = np.flatnonzero(fold_of[n] == k)
            oof[n][held] = clf.score_batch([rows[n][int(i)].prompt for i in held])
    out = []
    for n in feats:
        default, multi = _evaluate(rows[n], {"ours": list(oof[n])})
        out.append(SplitResult(f"random {folds}-fold", n, len(rows[n]), default, multi))
    return out


def run_cascade(
    rows: Mapping[str, Sequence[OutcomeRow]],
    fitted: Mapping[str, DifficultyClassifier],
    log: Callable[[str], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """Before vs after the answer on each file with recorded local answers, cross-source: the
    prompt model and the post-hoc model were both fitted without the test file."""
    out = []
    for test, clf in fitted.items():
        pair = pick_pair(rows[test])
        if not any(pair.local_model in r.responses for r in rows[test]):
            continue
        others = [(n, rs) for n, rs in rows.items() if n != test]
        examples = [e for n, rs in others if (e := answer_examples(n, rs, clf.logit))]
        if not examples:
            continue
        log(f"  before/after the answer on {test} ...")
        after = DifficultyClassifier(replace(clf.weights, posthoc=fit_posthoc(examples)))
        before = clf.score_batch([r.prompt for r in rows[test]])
        result = evaluate_cascade(rows[test], pair, before, after.score_batch)
        if result is not None:
            out.append({"test": test, **result.to_json()})
    return out


def format_cascade(results: Sequence[Mapping[str, Any]]) -> str:
    """One line per file: before -> after, default pair and multi-pair."""
    if not results:
        return "(no file with recorded local answers: no before/after-the-answer validation)"
    lines = [
        "before -> after the answer (cascade), leave-one-source-out: "
        "APGR / cost saved at 95%, default pair | multi-pair"
    ]
    for r in results:
        b, a = r["before"], r["after"]
        lines.append(
            f"{r['test'][:16]:<16} {r['after']['n']:>5}  "
            f"{_cell(b['apgr'])}/{_cell(b['cost_saved_at_95'])} -> "
            f"{_cell(a['apgr'])}/{_cell(a['cost_saved_at_95'])} | "
            f"{_cell(b['multi_pair']['apgr'])}/{_cell(b['multi_pair']['cost_saved_at_95'])} -> "
            f"{_cell(a['multi_pair']['apgr'])}/{_cell(a['multi_pair']['cost_saved_at_95'])}"
        )
    return "\n".join(lines)


def format_table(results: Sequence[SplitResult]) -> str:
    """One line per split: APGR and cost saved at 95% for each scorer, default pair and multi."""
    if not results:
        return "(no validation run)"
    names = list(results[0].default)
    head = f"{'split':<28} {'test file':<16} {'n':>5}  " + "  ".join(f"{n[:18]:>18}" for n in names)
    lines = [
        "default pair: APGR / cost saved at 95% of frontier quality; "
        "multi-pair: mean over pairs with a >= 5-point gap",
        head,
    ]
    for kind in ("default", "multi"):
        lines.append(f"-- {kind} pair" if kind == "default" else "-- multi-pair")
        for r in results:
            cells = getattr(r, kind)
            row = "  ".join(_pair_cell(cells.get(n, {})).rjust(18) for n in names)
            lines.append(f"{r.split[:28]:<28} {r.test[:16]:<16} {r.n:>5}  {row}")
    return "\n".join(lines)


def _pair_cell(cell: Mapping[str, float | None]) -> str:
    return f"{_cell(cell.get('apgr'))} / {_cell(cell.get('cost_saved_95'))}"


def _cell(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"
