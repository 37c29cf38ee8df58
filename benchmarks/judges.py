"""How well each learning judge agrees with the true gain, on the shared files with answers.

    python -m benchmarks.judges                 # the four files with recorded answers
    python -m benchmarks.judges --json build/judges.json

For every row whose two models both have a recorded answer, the true gain is
`scores[frontier] - scores[local]`; each judge sees (prompt, local answer, frontier answer) and
gives a gain or abstains. Reported per judge and file: coverage (share of rows labelled), sign
agreement (the judge's gain and the true gain are both positive, both zero, or both negative;
|gain| < 0.05 counts as zero), mean absolute error, and the mean true gain where the judge said
"the frontier gains" (>0) and where it said "no gain" (0).

Judges measured: `exact_answer` (router.learning), `verification` (the label an escalation gets
when no judge answers: gain 1 whenever the local answer fails a check; here the check is the
shipped post-hoc answer checks, `checks_failed > 0`), and `always_gain` (gain 1 for every row: the
base rate a judge must beat). The pairwise LLM judge cannot be run here (no model is reachable),
and on arena-bench-v1 and ja-vicuna-qa the true scores are themselves GPT-4 judgements.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks._common import DEFAULT_DATA
from router.classifier._answer import checks_failed
from router.evaluation import load_outcomes
from router.learning import Comparison, ExactAnswerJudge

# (file, local model, frontier model): the default pair where both kept answers, else the
# strongest pair that did (mmlu-pro keeps answers of Llama-3.1 8B/70B and Mistral-7B only).
PAIRS = (
    ("mmlu-pro.jsonl", "meta-llama-3.1-8b-instruct", "meta-llama-3.1-70b-instruct"),
    ("arena-bench-v1.jsonl", "Mistral-7B-Instruct-v0.1", "gpt-4-1106-preview"),
    ("m-ifeval.jsonl", "meta-llama/Meta-Llama-3.1-8B-Instruct-AWQ-INT4", "gpt-4o-2024-08-06"),
    (
        "ja-vicuna-qa.jsonl",
        "cyberagent--calm2-7b-chat",
        "tokyotech-llm--Swallow-70b-instruct-hf",
    ),
)
ZERO = 0.05

Judge = Callable[[str, str, str, str], float | None]


def exact_answer(request_id: str, prompt: str, local: str, frontier: str) -> float | None:
    label = asyncio.run(ExactAnswerJudge().judge(Comparison(request_id, prompt, local, frontier)))
    return None if label is None else label.gain


def verification(_id: str, prompt: str, local: str, _frontier: str) -> float | None:
    return 1.0 if checks_failed(prompt, local) > 0 else None


def always_gain(*_: str) -> float | None:
    return 1.0


JUDGES: dict[str, Judge] = {
    "exact_answer": exact_answer,
    "verification": verification,
    "always_gain": always_gain,
}


@dataclass(frozen=True, slots=True)
class Agreement:
    judge: str
    file: str
    rows: int
    labelled: int
    sign_agreement: float | None
    mae: float | None
    true_gain_when_gain: float | None
    true_gain_when_none: float | None

    @property
    def coverage(self) -> float:
        return self.labelled / self.rows if self.rows else 0.0


def _sign(value: float) -> int:
    return 0 if abs(value) < ZERO else (1 if value > 0 else -1)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def agreement(name: str, judge: Judge, file: str, cases: Sequence[tuple]) -> Agreement:
    pairs = []
    for request_id, prompt, local, frontier, gain in cases:
        said = judge(request_id, prompt, local, frontier)
        if said is not None:
            pairs.append((said, gain))
    return Agreement(
        judge=name,
        file=file,
        rows=len(cases),
        labelled=len(pairs),
        sign_agreement=_mean([float(_sign(s) == _sign(g)) for s, g in pairs]),
        mae=_mean([abs(s - g) for s, g in pairs]),
        true_gain_when_gain=_mean([g for s, g in pairs if s > 0]),
        true_gain_when_none=_mean([g for s, g in pairs if _sign(s) == 0]),
    )


def cases(path: Path, local: str, frontier: str) -> list[tuple]:
    out = []
    for row in load_outcomes(path):
        answers, scores = row.responses, row.scores
        if {local, frontier} <= answers.keys() and {local, frontier} <= scores.keys():
            gain = scores[frontier] - scores[local]
            out.append((row.id, row.prompt, answers[local], answers[frontier], gain))
    return out


def measure(data: Path) -> list[Agreement]:
    results = []
    for file, local, frontier in PAIRS:
        path = data / file
        if not path.is_file():
            continue
        found = cases(path, local, frontier)
        results += [agreement(name, judge, file, found) for name, judge in JUDGES.items()]
    return results


def _fmt(value: float | None, pattern: str = "{:.3f}") -> str:
    return "-" if value is None else pattern.format(value)


def table(results: Sequence[Agreement]) -> str:
    head = (
        "| judge | file | rows | coverage | sign agreement | MAE | true gain when judged >0 "
        "| true gain when judged 0 |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r.judge} | {r.file.removesuffix('.jsonl')} | {r.rows} | {r.coverage:.1%} | "
            f"{_fmt(r.sign_agreement, '{:.1%}')} | {_fmt(r.mae)} | "
            f"{_fmt(r.true_gain_when_gain)} | {_fmt(r.true_gain_when_none)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.judges", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data directory")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    results = measure(args.data)
    if not results:
        print(f"no outcome files with answers under {args.data}", file=sys.stderr)
        return 1
    print(table(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
