"""Tracing overhead: routed requests with OpenTelemetry off (no SDK) versus on (SDK, in-memory).

Not a test. Routes the same requests to a loopback Ollama server in one process, alternating
the two setups over several rounds, and prints per-request medians and the ratio.

    python benchmarks/bench_telemetry.py [--requests 300] [--rounds 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from router import Router
from router.policy import LocalModel, Policy, Routing
from router.testing import OllamaServer


def _providers(traced: bool) -> dict[str, Any]:
    if not traced:
        return {}
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    return {
        "tracer_provider": tracer_provider,
        "meter_provider": MeterProvider(metric_readers=[InMemoryMetricReader()]),
    }


async def _round(url: str, requests: int, traced: bool) -> float:
    policy = Policy(local=LocalModel(host=url), routing=Routing(rule="token-count"))
    router = Router(policy, ledger=None, classifier=None, **_providers(traced))
    await router.acomplete("warm up")
    started = time.perf_counter()
    for i in range(requests):
        await router.acomplete(f"question number {i}: what is {i} + {i}?")
    elapsed = time.perf_counter() - started
    await router.aclose()
    router.close()
    return elapsed / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", dest="json_path", default=None)
    args = parser.parse_args()
    off: list[float] = []
    on: list[float] = []
    with OllamaServer(keep_alive=True) as server:
        for _ in range(args.rounds):
            off.append(asyncio.run(_round(server.url, args.requests, traced=False)))
            on.append(asyncio.run(_round(server.url, args.requests, traced=True)))
    result = {
        "per_request_us_off": statistics.median(off),
        "per_request_us_on": statistics.median(on),
        "ratio_on_off": statistics.median(on) / statistics.median(off),
        "added_us": statistics.median(on) - statistics.median(off),
        "rounds": args.rounds,
        "requests": args.requests,
    }
    print(f"tracing off: {result['per_request_us_off']:.0f} us/request (median of {args.rounds})")
    print(f"tracing on : {result['per_request_us_on']:.0f} us/request")
    print(f"ratio on/off {result['ratio_on_off']:.3f}; added {result['added_us']:.0f} us/request")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
