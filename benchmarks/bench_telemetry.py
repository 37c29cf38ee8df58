"""Telemetry cost per request: CPU with the OpenTelemetry SDK on, next to the SDK off.

Not a test. The SDK is set up as in `benchmarks/latency.py` (spans through a
`BatchSpanProcessor` to a discarding exporter, metrics to an in-memory reader). Two measures,
each as process CPU per request (every thread: the span processor's too), SDK off and on
alternating within each round, medians over rounds:

- `layer`: the telemetry layer alone, driven the way the pipeline drives it for a frontier
  answer (the `route` span, a `router.score` stage, the decision, one `chat {model}` attempt
  with its response, then `finish`: the metrics). No network, so little noise.
- `router`: `Router.acomplete` end to end to a loopback Ollama server (no ledger).

`--against PATH` measures another checkout in the same run (e.g. the base of a branch:
`mkdir /tmp/base && git archive main | tar -x -C /tmp/base`): each round runs PATH and this
checkout in fresh processes importing `router` from each, order alternating, and prints both
medians: that is how a change to `router/telemetry` is judged.

    python benchmarks/bench_telemetry.py [--requests 2000] [--rounds 5] [--against PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
MEASURES = ("layer_off", "layer_on", "router_off", "router_on")


def _providers(traced: bool) -> dict[str, Any]:
    from benchmarks.latency import _providers as sdk_providers  # noqa: PLC0415

    return sdk_providers() if traced else {}


def _layer_request(traced: bool) -> Callable[[], None]:
    """One frontier answer's telemetry, as `Pipeline.run` makes it (see docs/telemetry.md)."""
    from router._completion import Decision  # noqa: PLC0415
    from router.backends import ModelRequest, ModelResponse  # noqa: PLC0415
    from router.telemetry import Telemetry  # noqa: PLC0415

    telemetry = Telemetry(**_providers(traced), capture_content=False)
    backend, request, policy = _fakes()
    sent = ModelRequest(messages=request.messages, max_tokens=256, temperature=0.2, timeout_s=30)
    decision = Decision("frontier", "classifier", 0.9, 0.5, "difficulty 0.900 >= 0.500")
    response = ModelResponse("four", "gpt-5.4-2026-03-01", 20, 10, "stop")
    record = _record(backend, policy)

    def one() -> None:
        with telemetry.request(request, policy) as t:
            with t.stage("router.score"):
                pass
            t.set_decision(decision)
            with t.attempt(backend, sent) as attempt:
                attempt.set_response(response)
            t.finish(record)

    return one


def _fakes() -> tuple[Any, Any, Any]:
    from router._request import RoutedRequest  # noqa: PLC0415
    from router.backends import LiteLLMBackend  # noqa: PLC0415
    from router.policy import Policy  # noqa: PLC0415

    backend = LiteLLMBackend("gpt-5.4", api_base="http://127.0.0.1:9/v1", api_key="sk-bench")
    messages = ({"role": "user", "content": "what is 2 + 2?"},)
    request = RoutedRequest(
        request_id="r-1", messages=messages, sensitive=False, team="support", app="bench"
    )
    return backend, request, Policy(name="bench", version="1")


def _record(backend: Any, policy: Any) -> Any:
    from router._records import ZERO, AttemptRecord, RequestRecord  # noqa: PLC0415

    cost = Decimal("0.0015")
    attempt = AttemptRecord(
        model=backend.model, provider=backend.provider, tier="frontier", tokens_in=20,
        tokens_out=10, latency_ms=400.0, outcome="ok", cost_usd=cost, unit_price_in=ZERO,
        unit_price_out=ZERO,
    )  # fmt: skip
    return RequestRecord(
        request_id="r-1", created_at=datetime.now(UTC), policy_name=policy.name,
        policy_version=policy.version, status="ok", tier="frontier", model=backend.model,
        decision_rule="classifier", decision_score=0.9, decision_threshold=0.5,
        attempts=(attempt,), cost_usd=cost, local_cost_usd=ZERO, baseline_model=backend.model,
        baseline_cost_usd=cost, baseline_estimated=False, savings_usd=ZERO,
        price_table_version="bench", latency_ms=410.0, prompt_hash="0" * 64,
        prompt_tokens_estimate=20, team="support", app="bench", verification="skipped",
    )  # fmt: skip


def layer_us(traced: bool, requests: int) -> float:
    one = _layer_request(traced)
    for _ in range(200):  # warm up: first attribute sets, lazy imports
        one()
    started = time.process_time()
    for _ in range(requests):
        one()
    return (time.process_time() - started) / requests * 1e6


async def _router_us(url: str, traced: bool, requests: int) -> float:
    from router import Router  # noqa: PLC0415
    from router.policy import LocalModel, Policy, Routing  # noqa: PLC0415

    policy = Policy(local=LocalModel(host=url), routing=Routing(rule="token-count"))
    router = Router(policy, ledger=None, classifier=None, **_providers(traced))
    for i in range(20):
        await router.acomplete(f"warm up {i}")
    started = time.process_time()
    for i in range(requests):
        await router.acomplete(f"question number {i}: what is {i} + {i}?")
    elapsed = time.process_time() - started
    await router.aclose()
    router.close()
    return elapsed / requests * 1e6


def one_round(requests: int, order: int) -> dict[str, float]:
    """Every measure once, SDK off and on in the order `order` picks (0: off first)."""
    from router.testing import OllamaServer  # noqa: PLC0415

    result: dict[str, float] = {}
    setups = (False, True) if order % 2 == 0 else (True, False)
    for traced in setups:
        result[f"layer_{'on' if traced else 'off'}"] = layer_us(traced, requests)
    with OllamaServer(keep_alive=True) as server:
        for traced in setups:
            us = asyncio.run(_router_us(server.url, traced, max(requests // 2, 50)))
            result[f"router_{'on' if traced else 'off'}"] = us
    return result


def _child(tree: Path, requests: int, order: int) -> dict[str, float]:
    """`one_round` in a fresh process importing `router` from `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    argv = [sys.executable, __file__, "--child", str(order), "--requests", str(requests)]
    out = subprocess.run(argv, env=env, cwd=tree, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout))


def _medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {m: statistics.median(r[m] for r in rounds) for m in MEASURES}


def compare(
    trees: dict[str, Path], requests: int, rounds: int
) -> dict[str, list[dict[str, float]]]:
    """Every round's figures per tree, trees alternating in order."""
    names = list(trees)
    per_tree: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            per_tree[name].append(_child(trees[name], requests, r))
    return per_tree


def _print(results: dict[str, dict[str, float]]) -> None:
    for name, m in results.items():
        print(
            f"{name:>8}: layer {m['layer_on']:6.1f} us/request with the SDK "
            f"(off {m['layer_off']:5.1f}); Router.acomplete {m['router_on']:6.0f} us "
            f"(off {m['router_off']:6.0f}, SDK adds {m['router_on'] - m['router_off']:5.0f})"
        )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", type=Path, default=None, help="another checkout to compare")
    parser.add_argument("--json", dest="json_path", default=None)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(one_round(args.requests, args.child)))
        return
    trees = {"this": HERE} if args.against is None else {"against": args.against, "this": HERE}
    rounds = compare(trees, args.requests, args.rounds)
    medians = {name: _medians(figures) for name, figures in rounds.items()}
    _print(medians)
    if args.json_path:
        out = {"medians": medians, "rounds": rounds, "load": os.getloadavg()}
        Path(args.json_path).write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
