"""How far a difficulty scorer can go on each outcome file: the ceiling prompt-only routing has.

Run:  .venv/bin/python -m benchmarks.difficulty_ceiling [--data DIR] [--peers]

For each file's default pair, scores every prompt with its *true* difficulty: the share of the
file's other models (the pair excluded) that fail it. No classifier can know more about a prompt's
difficulty than that, so its APGR and cost saved at 95% bound what a difficulty classifier can
reach on the pair. A second line ranks by `-(d - 0.6)^2` instead: expected escalation gain is
hump-shaped in difficulty (a prompt every model fails gains nothing from the frontier model).
`--peers` adds LiteLLM's two complexity scorers on the same rows for comparison.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks._common import DEFAULT_DATA
from router.classifier._train import difficulty
from router.evaluation import OutcomeRow, PairOutcomes, load_outcomes, pair_metrics, pick_pair

HUMP_CENTRE = 0.6


def true_difficulty(rows: Sequence[OutcomeRow], local: str, frontier: str) -> list[float]:
    """The training target (share of models failing) over the file's other models, the pair
    excluded; 0.5 when no other model scored the prompt."""
    out = []
    for row in rows:
        others = {m: s for m, s in row.scores.items() if m not in (local, frontier)}
        out.append(difficulty(replace(row, scores=others)) if others else 0.5)
    return out


def ceiling(pair: PairOutcomes) -> dict[str, tuple[float, float]]:
    """APGR and cost saved at 95% on the pair: true difficulty, and its hump."""
    d = true_difficulty(pair.rows, pair.local_model, pair.frontier_model)
    hump = [-((x - HUMP_CENTRE) ** 2) for x in d]
    out = {}
    for name, scores in (("true difficulty", d), (f"hump at {HUMP_CENTRE}", hump)):
        m = pair_metrics(scores, pair)
        out[name] = (m.apgr, m.cost_saved_at_95)
    return out


def _peer_rows(pair: PairOutcomes) -> dict[str, tuple[float, float]]:
    from router.classifier._peers import PEER_KINDS, LiteLLMPeer  # noqa: PLC0415 - litellm is slow

    out = {}
    for kind in PEER_KINDS:
        m = pair_metrics(LiteLLMPeer(kind).score_batch([r.prompt for r in pair.rows]), pair)
        out[f"litellm {kind}"] = (m.apgr, m.cost_saved_at_95)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--peers", action="store_true", help="also score with litellm's peers")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"--data {args.data} is not a directory; point it at the shared data")
    print("default pair: APGR / cost saved at 95% of frontier quality")
    for path in sorted(args.data.glob("*.jsonl")):
        rows = load_outcomes(path)
        pair = pick_pair(rows)
        results = ceiling(pair)
        if args.peers:
            results |= _peer_rows(pair)
        cells = "  ".join(f"{k} {a:.3f} / {s:.0%}" for k, (a, s) in results.items())
        print(f"{path.stem[:16]:<16} n={len(rows):>5}  {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
