"""A batch job: many prompts through `await router.acomplete`, at most N in flight at once.

What it shows: an `asyncio.Semaphore` caps concurrency (be kind to your Ollama box and your
frontier rate limits); failures are collected per item instead of stopping the batch; and the
`Completion`s add up to a spend and savings figure for the whole batch.

How to run it (no Ollama, no keys, no network: loopback servers replay answers real small and
large models gave to these benchmark prompts):

    .venv/bin/python examples/batch_acomplete.py [N_PROMPTS] [CONCURRENCY]

What it prints: one line per tier, the batch's spend, baseline and savings, the largest number
of requests seen in flight (never above the limit), then "batch: OK".
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from decimal import Decimal

from router import Completion, Router, RouterError, load_policy
from router.demo import simulated_models
from router.testing import DemoPrompt, load_demo_workload


async def run_batch(
    router: Router, prompts: list[DemoPrompt], limit: int
) -> tuple[list[Completion | RouterError], int]:
    gate = asyncio.Semaphore(limit)
    in_flight = peak = 0

    async def one(item: DemoPrompt) -> Completion | RouterError:
        nonlocal in_flight, peak
        async with gate:
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                return await router.acomplete(item.prompt, metadata={"app": "nightly-batch"})
            except RouterError as exc:  # one bad item must not sink the batch
                return exc
            finally:
                in_flight -= 1

    results = await asyncio.gather(*(one(item) for item in prompts))
    return list(results), peak


async def main(count: int, limit: int) -> None:
    prompts = load_demo_workload()[:count]
    with simulated_models(prompts) as models:
        async with Router(models.wire(load_policy("default")), ledger=None) as router:
            results, peak = await run_batch(router, prompts, limit)
    done = [r for r in results if isinstance(r, Completion)]
    tiers = Counter(r.tier for r in done)
    spend = sum((r.cost_usd for r in done), Decimal(0))
    baseline = sum((r.baseline_usd for r in done), Decimal(0))
    for tier, n in sorted(tiers.items()):
        print(f"{tier:<9} {n} requests")
    print(f"failed    {len(results) - len(done)} requests")
    print(f"spend ${spend:.4f}  baseline ${baseline:.4f}  saved ${baseline - spend:.4f}")
    print(f"peak in flight: {peak} (limit {limit})")
    assert len(results) == count and peak <= limit
    print("batch: OK")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(args + [40, 4][len(args) :])))
