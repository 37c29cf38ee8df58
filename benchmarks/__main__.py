"""Run cost-router's benchmark suite: every figure next to the alternative, as ratios.

    python -m benchmarks                      # everything, < 15 min on 2 cores
    python -m benchmarks --quick              # smoke run, about 2 min
    python -m benchmarks --only decision,latency --out build/bench.json
    python -m benchmarks --full               # adds the 1,000,000-row ledger report

Benchmarks: decision, latency, startup, memory, ledger, quality, learning, serve (see
docs/performance.md and docs/learning-model.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks._common import DEFAULT_DATA, REPO, Section, Settings, machine
from benchmarks._table import format_table

BENCHMARKS = ("decision", "latency", "startup", "memory", "ledger", "quality", "learning", "serve")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--full", action="store_true", help="also the 1M-row ledger report")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {BENCHMARKS}")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="outcome data directory")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "benchmarks" / "results.json")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ROUTER_TEST_POSTGRES_URL"),
        help="PostgreSQL URL for the ledger benchmark (default $ROUTER_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--prompts", type=int, default=None, help="decision: prompt count")
    args = parser.parse_args(argv)
    unknown = set(_names(args.only)) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; pick from {BENCHMARKS}")
    if not args.data.is_dir():
        parser.error(f"--data {args.data} is not a directory; point it at the shared data")
    return args


def _names(only: str) -> list[str]:
    return [n.strip() for n in only.split(",") if n.strip()]


def run_one(name: str, settings: Settings) -> Section:
    module: Any = importlib.import_module(f"benchmarks.{name}")
    began = time.perf_counter()
    try:
        section: Section = module.run(settings)
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        section = Section(name, details={"error": f"{type(exc).__name__}: {exc}"})
    section.seconds = time.perf_counter() - began
    print(f"[{name}] done in {section.seconds:.0f} s", file=sys.stderr, flush=True)
    return section


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    settings = Settings(args.data, args.quick, args.full, args.postgres, args.prompts)
    names = _names(args.only) or list(BENCHMARKS)
    began = time.perf_counter()
    sections = [run_one(n, settings) for n in names]
    result = {
        "machine": machine(),
        "mode": "quick" if args.quick else ("full" if args.full else "normal"),
        "total_seconds": round(time.perf_counter() - began, 1),
        "benchmarks": {s.name: s.to_json() for s in sections},
    }
    print(format_table(sections))
    print(f"total {result['total_seconds']} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 1 if any("error" in s.details for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
