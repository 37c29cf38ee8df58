"""Time cost-router's classifier against litellm's complexity router on the same real prompts.

Run:  .venv/bin/python benchmarks/bench_classifier.py [--data DIR] [--n 3000] [--out FILE.json]

All scorers run in one process, on the same prompts, interleaved prompt by prompt (rotating the
order) so machine noise hits them alike. Reports median / p90 / p99 / mean per request in
microseconds and the peer/ours ratios, prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

# Offline litellm: local cost map, vendored tokenizers. Must precede any litellm import.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["TIKTOKEN_CACHE_DIR"] = str(
    Path(sysconfig.get_paths()["purelib"]) / "litellm" / "litellm_core_utils" / "tokenizers"
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, too
from benchmarks._common import DEFAULT_DATA


def load_prompts(data: Path, n: int, seed: int) -> list[str]:
    prompts = []
    for path in sorted(data.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            prompts += [json.loads(line)["prompt"] for line in handle if line.strip()]
    random.Random(seed).shuffle(prompts)
    return prompts[:n]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_scorers(
    scorers: dict[str, Callable[[str], float]], prompts: list[str], warmup: int
) -> dict[str, list[float]]:
    names = list(scorers)
    for prompt in prompts[:warmup]:
        for name in names:
            scorers[name](prompt)
    timings: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    for i, prompt in enumerate(prompts):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            fn = scorers[name]
            start = clock()
            fn(prompt)
            timings[name].append((clock() - start) / 1000.0)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("bench_classifier.json"))
    args = parser.parse_args()
    if not args.data.is_dir():
        parser.error(f"--data {args.data} is not a directory; point it at the shared data")

    start = time.perf_counter()
    from router.classifier import load_classifier  # noqa: PLC0415 - timed on purpose

    import_ms = (time.perf_counter() - start) * 1000
    if any(m == "litellm" or m.startswith("litellm.") for m in sys.modules):
        sys.exit("import router.classifier pulled in litellm; it must not")
    start = time.perf_counter()
    ours = load_classifier()
    load_ms = (time.perf_counter() - start) * 1000

    from router.classifier._peers import LiteLLMPeer  # noqa: PLC0415 - after the timing

    scorers: dict[str, Callable[[str], float]] = {
        "cost-router": ours.score,
        "litellm-heuristic": LiteLLMPeer("heuristic").score,
        "litellm-heuristic_v2": LiteLLMPeer("heuristic_v2").score,
    }
    prompts = load_prompts(args.data, args.n, args.seed)
    timings = time_scorers(scorers, prompts, args.warmup)

    summary = {
        name: {
            "median_us": statistics.median(t),
            "p90_us": percentile(t, 0.90),
            "p99_us": percentile(t, 0.99),
            "mean_us": statistics.fmean(t),
        }
        for name, t in timings.items()
    }
    base = summary["cost-router"]
    for s in summary.values():
        s["median_ratio_vs_ours"] = s["median_us"] / base["median_us"]
        s["p99_ratio_vs_ours"] = s["p99_us"] / base["p99_us"]

    lengths = [len(p) for p in prompts]
    print(
        f"{len(prompts)} prompts (median {statistics.median(lengths):.0f} chars, "
        f"p99 {percentile([float(x) for x in lengths], 0.99):.0f}); "
        f"import router.classifier {import_ms:.0f} ms, load_classifier() {load_ms:.0f} ms"
    )
    print(
        f"{'scorer':<22}{'median us':>11}{'p90 us':>10}{'p99 us':>10}{'mean us':>10}"
        f"{'median x':>10}{'p99 x':>8}"
    )
    for name, s in summary.items():
        print(
            f"{name:<22}{s['median_us']:>11.1f}{s['p90_us']:>10.1f}{s['p99_us']:>10.1f}"
            f"{s['mean_us']:>10.1f}{s['median_ratio_vs_ours']:>10.2f}{s['p99_ratio_vs_ours']:>8.2f}"
        )
    result = {
        "prompts": len(prompts),
        "seed": args.seed,
        "data": str(args.data),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "import_ms": import_ms,
        "load_ms": load_ms,
        "scorers": summary,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
