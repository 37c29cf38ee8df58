"""What the learning loop costs per request: `Router.acomplete` with learning on vs off.

Not part of `python -m benchmarks` (issue #21's end-to-end figure is `--only latency`); run it as
`python -m benchmarks.learning_cost [--rounds N] [--requests N] [--trees OLD:NEW]`.

Frontier path, concurrency 1, the latency benchmark's router (classifier, threshold 0, SQLite
ledger, OpenTelemetry SDK with a batch span processor). Each round measures both routers, order
alternating, and reports CPU per request: the whole process (`time.process_time`) and each kind
of thread (`pthread_getcpuclockid`: the event loop's `MainThread`, the executor's `asyncio`
threads that write learning and ledger rows, the loopback servers' threads). The learning rows
still gathered are flushed inside the measured window, so their writing is counted.

With `--trees A:B` each round runs one child process per source tree (PYTHONPATH), alternating,
so old and new code are compared in the same run: every figure is the median over rounds.
"""

# ruff: noqa: PLC0415 - imports are lazy on purpose, as in the other benchmarks

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks._common import DEFAULT_DATA
from benchmarks.bench_classifier import load_prompts
from benchmarks.latency import KEY, MODEL, _providers


def make_router(oll: str, oai: str, ledger_url: str, *, learning: bool) -> Any:
    from router import Router
    from router.policy import Frontier, FrontierModel, LocalModel, Policy, Routing
    from router.policy._model import Learning, Ledger

    policy = Policy(
        local=LocalModel(host=oll),
        frontier=Frontier(
            models=(FrontierModel(model=MODEL, api_base=oai + "/v1", api_key=KEY),),
            baseline=MODEL,
        ),
        routing=Routing(rule="classifier", threshold=0.0),
        ledger=Ledger(url=ledger_url),
        learning=Learning(enabled=learning),
    )
    return Router(policy, **_providers())


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread, summed per kind (the name without its number)."""
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            cpu = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, ProcessLookupError):  # ended meanwhile
            continue
        kind = re.sub(r"[_-]?\d+.*$", "", thread.name) or thread.name
        out[kind] = out.get(kind, 0.0) + cpu
    return out


async def _measure(router: Any, prompts: list[str]) -> dict[str, float]:
    threads, cpu = _thread_cpu(), time.process_time()
    for prompt in prompts:
        await router.acomplete(prompt)
    if router.learning is not None:
        await router.learning.flush()
    n = len(prompts)
    after = _thread_cpu()
    per_thread = {f"{kind}_ms": (after[kind] - threads.get(kind, 0.0)) / n * 1e3 for kind in after}
    return {"cpu_ms": (time.process_time() - cpu) / n * 1e3, **per_thread}


async def _child(prompts: list[str], rounds: int, tmp: Path) -> dict[str, list[dict[str, float]]]:
    from router.testing import OllamaServer, OpenAIServer

    out: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
    with OpenAIServer(KEY, keep_alive=True) as oai, OllamaServer(keep_alive=True) as oll:
        routers = {
            name: make_router(oll.url, oai.url, f"sqlite:///{tmp / name}.db", learning=name == "on")
            for name in out
        }
        try:
            for router in routers.values():  # warm up: imports, pools, the classifier
                await _measure(router, prompts[:50])
            for r in range(rounds):
                for name in ("on", "off") if r % 2 == 0 else ("off", "on"):
                    out[name].append(await _measure(routers[name], prompts))
        finally:
            for router in routers.values():
                await router.aclose()
                router.close()
    return out


def child_main(n: int, rounds: int) -> None:
    prompts = [p[:4000] for p in load_prompts(DEFAULT_DATA, n, seed=1)]
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(_child(prompts, rounds, Path(tmp)))
    import router

    print(json.dumps({"tree": str(Path(router.__file__).parent.parent), **result}))


def _run_tree(tree: str, n: int, rounds: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": tree, "ROUTER_SHARED_DATA": str(DEFAULT_DATA)}
    args = [sys.executable, str(Path(__file__).resolve()), "--child"]
    args += ["--requests", str(n), "--rounds", str(rounds)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per child process")
    parser.add_argument("--runs", type=int, default=3, help="child processes per tree")
    parser.add_argument("--trees", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--child", action="store_true")
    opts = parser.parse_args()
    if opts.child:
        child_main(opts.requests, opts.rounds)
        return
    trees = opts.trees.split(":")
    rows: dict[str, dict[str, list[dict[str, float]]]] = {t: {"on": [], "off": []} for t in trees}
    print(f"load average before: {os.getloadavg()}")
    for run in range(opts.runs):
        for tree in trees if run % 2 == 0 else trees[::-1]:
            result = _run_tree(tree, opts.requests, opts.rounds)
            for name in ("on", "off"):
                rows[tree][name] += result[name]
    print(f"load average after: {os.getloadavg()}")
    for tree, res in rows.items():
        _report(tree, res)


def _report(tree: str, res: dict[str, list[dict[str, float]]]) -> None:
    keys = sorted(set(res["on"][0]) | set(res["off"][0]))
    print(f"{tree}: {len(res['on'])} rounds; CPU per request (ms), median over rounds")
    for key in keys:
        on = statistics.median(m.get(key, 0.0) for m in res["on"])
        off = statistics.median(m.get(key, 0.0) for m in res["off"])
        paired = statistics.median(
            a.get(key, 0.0) - b.get(key, 0.0) for a, b in zip(res["on"], res["off"], strict=True)
        )
        print(f"  {key:>22}: on {on:.3f} off {off:.3f} on-off {on - off:+.3f} paired {paired:+.3f}")


if __name__ == "__main__":
    main()
