"""Before and after the answer: the cascade evaluated offline on recorded local answers.

Before: the prompt-only score routes. After: the local model has answered (its recorded
`responses` text); the model-free verifiers (structural, Python code parses) judge it, and the
post-hoc score `score(prompt, answer)` ranks the rest. A verifier failure escalates first, then
the highest post-hoc scores: cascade score = `post-hoc + 1` if a verifier failed, else post-hoc.
Both are swept over the same rows (those with a recorded answer from the weak model), so the
curves compare directly. Multi-pair means use each pair's weak model's own answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from router.evaluation._data import OutcomeRow, PairOutcomes, pick_pair
from router.evaluation._report import PairMetrics, multi_pair, pair_metrics

AfterFn = Callable[[Sequence[str], Sequence[str | None]], list[float]]
"""`(prompts, answers) -> scores`: e.g. `DifficultyClassifier.score_batch`."""


@dataclass(frozen=True, slots=True)
class CascadeResult:
    """Side by side on the rows with a recorded local answer; `verifier_failed` is a count."""

    before: PairMetrics
    after: PairMetrics
    before_multi: tuple[float, float, int]
    after_multi: tuple[float, float, int]
    verifier_failed: int

    def to_json(self) -> dict[str, Any]:
        def multi(m: tuple[float, float, int]) -> dict[str, float | int | None]:
            return {"apgr": _nan(m[0]), "cost_saved_at_95": _nan(m[1]), "pairs": m[2]}

        return {
            "verifier_failed": self.verifier_failed,
            "before": {**self.before.to_json(), "multi_pair": multi(self.before_multi)},
            "after": {**self.after.to_json(), "multi_pair": multi(self.after_multi)},
        }

    def to_text(self) -> str:
        b, a = self.before, self.after
        rows = [
            ("APGR", f"{b.apgr:.4f}", f"{a.apgr:.4f}"),
            ("CPT(20%)", f"{b.cpt20:.1%}", f"{a.cpt20:.1%}"),
            ("CPT(50%)", f"{b.cpt50:.1%}", f"{a.cpt50:.1%}"),
            ("CPT(80%)", f"{b.cpt80:.1%}", f"{a.cpt80:.1%}"),
            (
                "frontier share at 95%",
                f"{b.frontier_share_at_95:.1%}",
                f"{a.frontier_share_at_95:.1%}",
            ),
            ("cost saved at 95%", f"{b.cost_saved_at_95:.1%}", f"{a.cost_saved_at_95:.1%}"),
            ("multi-pair APGR", f"{self.before_multi[0]:.4f}", f"{self.after_multi[0]:.4f}"),
            (
                "multi-pair saved at 95%",
                f"{self.before_multi[1]:.1%}",
                f"{self.after_multi[1]:.1%}",
            ),
        ]
        lines = [
            f"before vs after the answer ({b.n} prompts with a recorded answer from "
            f"{b.local_model}; {self.verifier_failed} answers fail the structural/format checks; "
            f"multi-pair over {self.after_multi[2]} pairs whose weak model has answers):",
            f"  {'':<26}{'before (prompt)':>16}{'after (cascade)':>17}",
        ]
        lines += [f"  {name:<26}{x:>16}{y:>17}" for name, x, y in rows]
        return "\n".join(lines)


def _nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def verifier_failures(rows: Sequence[OutcomeRow], model: str) -> list[bool]:
    """For each row, does `model`'s recorded answer fail `structural() & python_parses()`?"""
    from router.verify import python_parses, structural  # noqa: PLC0415 - only with answers
    from router.verify._offline import verify_rows  # noqa: PLC0415

    plain = [
        {
            "id": r.id,
            "prompt": r.prompt,
            "task": r.task,
            "scores": dict(r.scores),
            "responses": dict(r.responses),
        }
        for r in rows
    ]
    verdicts = verify_rows(plain, structural() & python_parses(), model=model)
    return [v.passed is False for v in verdicts]


def cascade_scores(
    rows: Sequence[OutcomeRow], model: str, after: AfterFn
) -> tuple[list[float], int]:
    """The cascade's score of each row from `model`'s answer (every row must have one), and
    how many answers failed a verifier."""
    answers = [r.responses[model] for r in rows]
    post = after([r.prompt for r in rows], answers)
    failed = verifier_failures(rows, model)
    return [p + 1.0 if f else p for p, f in zip(post, failed, strict=True)], sum(failed)


def evaluate_cascade(
    rows: Sequence[OutcomeRow],
    pair: PairOutcomes,
    before: Sequence[float],
    after: AfterFn,
) -> CascadeResult | None:
    """Before/after metrics on the rows where the pair's local model has a recorded answer.

    `before[i]` is the prompt-only score of `rows[i]`. None when the local model has no answers.
    """
    local = pair.local_model
    kept = [i for i, r in enumerate(rows) if local in r.responses]
    if not kept:
        return None
    sub = [rows[i] for i in kept]
    sub_pair = pick_pair(sub, local, pair.frontier_model)
    position = {id(r): i for i, r in enumerate(sub)}
    before_sub = [before[i] for i in kept]
    by_model, failed = _after_by_model(sub, after)
    after_local = by_model[local]
    return CascadeResult(
        before=pair_metrics([before_sub[position[id(r)]] for r in sub_pair.rows], sub_pair),
        after=pair_metrics([after_local[position[id(r)]] for r in sub_pair.rows], sub_pair),
        before_multi=multi_pair(sub, {m: before_sub for m in by_model}),
        after_multi=multi_pair(sub, by_model),
        verifier_failed=failed[local],
    )


def _after_by_model(
    rows: Sequence[OutcomeRow], after: AfterFn
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Cascade scores (and verifier failures) per model that answered every row."""
    models = sorted(set.intersection(*(set(r.responses) for r in rows)))
    results = {m: cascade_scores(rows, m, after) for m in models}
    return {m: s for m, (s, _) in results.items()}, {m: f for m, (_, f) in results.items()}
