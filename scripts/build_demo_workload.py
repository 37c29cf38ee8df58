"""Build the demo workload shipped in `router/data/demo/workload.jsonl.gz`.

Samples a few hundred prompts (seeded, stratified by task) from the routing-outcome data in
`shared/data`, keeping each prompt's recorded small- and large-model answers and scores.
The output is byte-for-byte reproducible for the same inputs and seed.

    python scripts/build_demo_workload.py --data ../shared/data \
        --out router/data/demo/workload.jsonl.gz

(`../shared/data`: the shared data folder beside the repository; from a git worktree at
wt/NAME it is `../../shared/data`.)
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_PROMPT_CHARS = 1500
MAX_ANSWER_CHARS = 5000


@dataclass(frozen=True)
class Source:
    """One data file, how many prompts to take from it, and which two models to keep."""

    file: str
    count: int
    local: str | None = None  # None: the file's own `local_model`
    frontier: str | None = None  # None: the file's own `frontier_model`


SOURCES = (
    # mmlu-pro's default frontier model (Gemini) has no recorded answers; Llama-3.1-70B has.
    Source("mmlu-pro.jsonl", 90, "meta-llama-3.1-8b-instruct", "meta-llama-3.1-70b-instruct"),
    Source("arena-bench-v1.jsonl", 70),
    Source("m-ifeval.jsonl", 70),
    Source("ja-vicuna-qa.jsonl", 40),
    # No answers recorded in these two; a few rows add math and code prompts with scores.
    Source("llmrouter-train.jsonl", 24),
    Source("evalperf.jsonl", 6),
)


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _convert(row: dict[str, Any], source: Source) -> dict[str, Any] | None:
    """The workload record for `row`, or None when it is unsuitable for the demo."""
    local = source.local or row["local_model"]
    frontier = source.frontier or row["frontier_model"]
    scores, responses = row["scores"], row.get("responses") or {}
    if local not in scores or frontier not in scores or len(row["prompt"]) > MAX_PROMPT_CHARS:
        return None
    answers = [responses.get(local), responses.get(frontier)]
    if responses and not all(isinstance(a, str) and a.strip() for a in answers):
        return None  # the source kept answers, but not both of this pair's
    if any(a is not None and len(a) > MAX_ANSWER_CHARS for a in answers):
        return None
    return {
        "id": row["id"],
        "source": source.file.removesuffix(".jsonl"),
        "task": row["task"],
        "prompt": row["prompt"],
        "local_answer": answers[0],
        "frontier_answer": answers[1],
        "local_score": float(scores[local]),
        "frontier_score": float(scores[frontier]),
        "local_model_recorded": local,
        "frontier_model_recorded": frontier,
    }


def _sample(records: list[dict[str, Any]], count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Take `count` records round-robin over tasks (shuffled), so every task is represented."""
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_task[record["task"]].append(record)
    queues = [by_task[task] for task in sorted(by_task)]
    for queue in queues:
        rng.shuffle(queue)
    picked: list[dict[str, Any]] = []
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop())
    return picked


def build(data: Path, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 (sampling, not security)
    seen: set[str] = set()
    workload: list[dict[str, Any]] = []
    for source in SOURCES:
        records = []
        for row in _rows(data / source.file):
            record = _convert(row, source)
            if record is not None and record["prompt"] not in seen:
                seen.add(record["prompt"])
                records.append(record)
        workload += _sample(records, source.count, rng)
    return workload


def write(workload: list[dict[str, Any]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in workload)
    with out.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(lines.encode("utf-8"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, required=True, help="folder of the *.jsonl files")
    parser.add_argument("--out", type=Path, required=True, help="output .jsonl.gz file")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    workload = build(args.data, args.seed)
    write(workload, args.out)
    tasks = len({r["task"] for r in workload})
    print(
        f"wrote {len(workload)} prompts over {tasks} tasks to {args.out} "
        f"({args.out.stat().st_size / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main()
