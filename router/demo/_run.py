"""`router demo`: a realistic mixed workload through the real pipeline, on simulated models.

The models are loopback servers replaying answers that real small and large models gave to these
prompts (see router/data/demo/NOTICE.md), so the routing, retries, accounting and ledger are all
real; only the model servers are stand-ins. `live=True` uses a real Ollama and real API keys.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from router._completion import Completion
from router._records import ZERO
from router._router import Router
from router.demo._servers import simulated_models
from router.errors import RouterError
from router.policy import Policy, load_policy
from router.testing import DemoPrompt, load_demo_workload

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from router.ledger import Ledger

DEMO_SEED = 20261130

# Which team each source's traffic stands for, so per-team reports have something to show.
TEAMS = {
    "mmlu-pro": "research",
    "arena-bench": "support",
    "m-ifeval": "marketing",
    "ja-vicuna-qa": "japan",
    "llmrouter": "research",
    "evalperf": "engineering",
}


@dataclass
class DemoSummary:
    """What the demo did. Money is exact `Decimal`; `quality` uses the recorded scores.

    `per_request` holds (cost, baseline) of each answered request in workload order (the chart's
    data); `chart` is the PNG's path once one was written.
    """

    requests: int = 0
    local: int = 0
    frontier: int = 0
    errors: int = 0
    spend_usd: Decimal = ZERO
    baseline_usd: Decimal = ZERO
    quality: float = 0.0
    frontier_quality: float = 0.0
    escalations: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[str, str, str, str]] = field(default_factory=list)
    per_request: list[tuple[Decimal, Decimal]] = field(default_factory=list)
    simulated: bool = True
    ledger_url: str | None = None
    ledger_since: str | None = None
    chart: str | None = None

    @property
    def savings_usd(self) -> Decimal:
        return self.baseline_usd - self.spend_usd

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "local": self.local,
            "frontier": self.frontier,
            "errors": self.errors,
            "spend_usd": format(self.spend_usd, "f"),
            "baseline_usd": format(self.baseline_usd, "f"),
            "savings_usd": format(self.savings_usd, "f"),
            "quality": round(self.quality, 4),
            "frontier_quality": round(self.frontier_quality, 4),
            "escalations": dict(self.escalations),
            "simulated": self.simulated,
            "ledger": self.ledger_url,
            "ledger_since": self.ledger_since,
            "chart": self.chart,
        }


def run_demo(
    *,
    policy: Policy | str | None = None,
    ledger: Ledger | None = None,
    limit: int | None = None,
    concurrency: int = 8,
    live: bool = False,
    check: bool = True,
    on_result: Callable[[int, int], None] | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> DemoSummary:
    """Route the demo workload and summarise it. `on_result(done, total)` reports progress.

    With `live`, Ollama and the frontier keys are checked first (`router.doctor`, unless
    `check=False`): `SetupError` lists what is missing before any request is sent.
    """
    base = load_policy(policy)
    if live and check:
        from router.doctor import check_setup  # noqa: PLC0415

        check_setup(base, check_ledger=False).raise_for_problems()
    workload = load_demo_workload()
    random.Random(DEMO_SEED).shuffle(workload)  # noqa: S311 - a realistic mix, the same every run
    workload = workload[:limit]
    with _models(workload, base, live) as wired:
        router = Router(
            wired, ledger=ledger, tracer_provider=tracer_provider, meter_provider=meter_provider
        )
        try:
            results = asyncio.run(_route_all(router, workload, concurrency, on_result))
        finally:
            router.close()
    return _summarise(workload, results, simulated=not live)


@contextmanager
def _models(workload: list[DemoPrompt], policy: Policy, live: bool) -> Iterator[Policy]:
    if live:
        with nullcontext():
            yield policy
        return
    with simulated_models(workload, policy.local.model) as servers:
        yield servers.wire(policy)


async def _route_all(
    router: Router,
    workload: list[DemoPrompt],
    concurrency: int,
    on_result: Callable[[int, int], None] | None,
) -> list[Completion | RouterError]:
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(item: DemoPrompt) -> Completion | RouterError:
        nonlocal done
        async with gate:
            try:
                return await router.acomplete(
                    item.prompt,
                    metadata={"team": TEAMS.get(item.source, "other"), "app": "router-demo"},
                    request_id=None,
                )
            except RouterError as exc:
                return exc
            finally:
                done += 1
                if on_result is not None:
                    on_result(done, len(workload))

    await router.awarm_up()  # so the first requests' latencies are the models', not imports
    try:
        return list(await asyncio.gather(*(one(item) for item in workload)))
    finally:
        await router.aclose()


def _summarise(
    workload: list[DemoPrompt], results: list[Completion | RouterError], *, simulated: bool
) -> DemoSummary:
    summary = DemoSummary(requests=len(workload), simulated=simulated)
    quality = 0.0
    for item, result in zip(workload, results, strict=True):
        if isinstance(result, RouterError):
            summary.errors += 1
            continue
        _count(summary, item, result)
        quality += item.local_score if result.tier == "local" else item.frontier_score
    answered = max(1, summary.requests - summary.errors)
    summary.quality = quality / answered
    summary.frontier_quality = sum(i.frontier_score for i in workload) / max(1, len(workload))
    return summary


def _count(summary: DemoSummary, item: DemoPrompt, result: Completion) -> None:
    if result.tier == "local":
        summary.local += 1
    else:
        summary.frontier += 1
    summary.spend_usd += result.cost_usd
    summary.baseline_usd += result.baseline_usd
    summary.per_request.append((result.cost_usd, result.baseline_usd))
    summary.decisions[result.decision.rule] += 1
    if result.escalation_reason:
        summary.escalations[result.escalation_reason] += 1
    if len(summary.examples) < 12:
        summary.examples.append((item.task, result.tier, result.model, result.decision.reason))
