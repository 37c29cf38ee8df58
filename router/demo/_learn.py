"""`router demo --learn`: what learning from the deployment's own traffic buys, simulated.

The demo workload is split in two, in a fixed shuffled order: the first half is the traffic the
router learns from ("week 1"), the second half the traffic it is judged on ("week 2").

1. Week 1 is routed with the shipped prior and a shadow rate (stated in the output, used for
   both `learning.shadow_rate` and `learning.local_shadow_rate`): that share of local answers is
   asked of the frontier model as well, and that share of frontier answers of the local model;
   each pair is judged (the exact final-answer judge, then the pairwise judge); escalations are
   labelled too. Everything runs
   through the real pipeline, learning loop, budget and ledger, in a scratch directory, so the
   user's own ledger and artefacts are not touched.
2. Week 2 is routed with the prior (no shadowing): the "before" figures.
3. `router learn` runs: fit on week 1's labels, champion/challenger on its newest labels.
4. Week 2 is routed again with whatever is now in use: the "after" figures.

The models are the loopback servers replaying recorded answers. The pairwise judge is simulated
too: asked to compare two answers, the simulated frontier model answers from the recorded
scores of those answers (what a judge that agreed with the benchmark would say).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from router._completion import Completion
from router._records import ZERO
from router._router import Router
from router.demo._run import DEMO_SEED, TEAMS
from router.demo._servers import simulated_models
from router.errors import RouterError
from router.learning._judges import RUBRIC
from router.policy import Policy, load_policy
from router.testing import ChatRequest, DemoPrompt, Reply, Responder, load_demo_workload
from router.testing._demo import prompt_key

DEMO_SHADOW_RATE = 0.5
DEMO_MIN_LABELS = 30


@dataclass
class Pass:
    """One routing pass over week 2: spend, baseline and the recorded quality of the answers."""

    requests: int = 0
    local: int = 0
    spend_usd: Decimal = ZERO
    baseline_usd: Decimal = ZERO
    quality: float = 0.0

    @property
    def saved_pct(self) -> float:
        if not self.baseline_usd:
            return 0.0
        return float((self.baseline_usd - self.spend_usd) / self.baseline_usd * 100)


@dataclass
class LearningDemo:
    """What the learning demo did; `learned` is `router learn`'s own summary."""

    shadow_rate: float
    week1: int
    labels: dict[str, int] = field(default_factory=dict)
    learning_spend_usd: Decimal = ZERO
    before: Pass = field(default_factory=Pass)
    after: Pass = field(default_factory=Pass)
    frontier_quality: float = 0.0
    learned: str = ""
    promoted: bool = False
    threshold: float = 0.5

    def as_json(self) -> dict[str, Any]:
        def one(p: Pass) -> dict[str, Any]:
            return {
                "requests": p.requests,
                "local": p.local,
                "spend_usd": format(p.spend_usd, "f"),
                "baseline_usd": format(p.baseline_usd, "f"),
                "saved_pct": round(p.saved_pct, 2),
                "quality": round(p.quality, 4),
            }

        return {
            "shadow_rate": self.shadow_rate,
            "week1_requests": self.week1,
            "labels": dict(self.labels),
            "learning_spend_usd": format(self.learning_spend_usd, "f"),
            "before": one(self.before),
            "after": one(self.after),
            "frontier_quality": round(self.frontier_quality, 4),
            "promoted": self.promoted,
            "threshold_after": self.threshold,
            "learn": self.learned,
        }


def run_learning_demo(
    *,
    policy: Policy | str | None = None,
    shadow_rate: float = DEMO_SHADOW_RATE,
    limit: int | None = None,
    concurrency: int = 8,
    workdir: Path | None = None,
    data: Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> LearningDemo:
    """Run the four steps of the module docstring and return the figures. `data` replaces
    the shipped workload with an outcome file (shared-data schema) as the deployment's traffic."""
    workload = load_demo_workload() if data is None else outcome_workload(data)
    random.Random(DEMO_SEED).shuffle(workload)  # noqa: S311 - the same order every run
    workload = workload[:limit]
    week1, week2 = workload[: len(workload) // 2], workload[len(workload) // 2 :]
    say = on_step or (lambda _m: None)
    with tempfile.TemporaryDirectory(prefix="router-demo-learn-") as scratch:
        root = workdir or Path(scratch)
        with simulated_models(workload, load_policy(policy).local.model) as servers:
            servers.openai.responder = _judging(workload, servers.openai.responder)
            wired = _learning_policy(servers.wire(load_policy(policy)), root, shadow_rate)
            demo = LearningDemo(shadow_rate=shadow_rate, week1=len(week1))
            say(f"week 1: routing {len(week1)} requests, shadowing {shadow_rate:.0%} of local ones")
            share = _decided_frontier(_route(wired, week1, concurrency, "week1"))
            _count_learning(demo, wired)
            say(f"week 2, before learning: routing {len(week2)} requests with the shipped prior")
            prior_only = _learning(wired, enabled=False)  # stores nothing: no leak into training
            demo.before = _score(week2, _route(prior_only, week2, concurrency, "before"))
            say("router learn: fitting on week 1's labels, checking on its newest ones")
            demo.learned, demo.promoted = _learn(wired)
            say("week 2, after learning: routing the same requests again")
            learned = _same_share(_learning(wired, shadow_rate=0.0, local_shadow_rate=0.0), share)
            demo.threshold = learned.routing.threshold
            demo.after = _score(week2, _route(learned, week2, concurrency, "after"))
    demo.frontier_quality = sum(p.frontier_score for p in week2) / max(1, len(week2))
    return demo


def _learning_policy(policy: Policy, root: Path, shadow_rate: float) -> Policy:
    data = policy.model_dump(exclude_unset=True)
    data["ledger"] = {"url": f"sqlite:///{root / 'ledger.db'}"}
    data["learning"] = {
        "shadow_rate": shadow_rate,
        "local_shadow_rate": shadow_rate,
        "budget_usd_per_day": "5",
        "min_labels": DEMO_MIN_LABELS,
        "artefact_dir": str(root / "artefacts"),
        "retention_days": None,
    }
    return Policy.model_validate(data)


def _learning(policy: Policy, **settings: Any) -> Policy:
    data = policy.model_dump(exclude_unset=True)
    data["learning"] = {**data["learning"], **settings}
    return Policy.model_validate(data)


def _decided_frontier(results: Sequence[Any]) -> float:
    """The share of requests the classifier decided to send to the frontier."""
    decided: list[bool] = [
        r.decision.tier == "frontier" for r in results if not isinstance(r, RouterError)
    ]
    return sum(decided) / max(1, len(decided))


def _same_share(policy: Policy, share: float) -> Policy:
    """The policy with the threshold at which the artefact now in use sends `share` of week 1's
    traffic (its stored features) to the frontier: the prior's share, so before and after are
    compared at the same cost, as `router calibrate --from-labels` would set it."""
    from router.learning import ArtefactDir, LearningStore, default_artefact_dir  # noqa: PLC0415
    from router.learning._calibrate import calibrate_from_store  # noqa: PLC0415

    model = ArtefactDir(default_artefact_dir(policy)).load_current()
    if model is None:
        return policy
    store = LearningStore(policy.ledger.url)
    try:
        threshold = calibrate_from_store(store, model, target_share=share).threshold
    finally:
        store.close()
    data = policy.model_dump(exclude_unset=True)
    data["routing"] = {**data.get("routing", {}), "threshold": threshold}
    data["routing"].pop("target_frontier_share", None)
    return Policy.model_validate(data)


def _route(policy: Policy, items: Sequence[DemoPrompt], concurrency: int, run: str) -> list[Any]:
    """Route `items`; request ids are fixed per run and prompt, so the same requests are
    shadowed on every run of the demo."""
    from router.ledger import open_ledger  # noqa: PLC0415

    router = Router(policy, ledger=open_ledger(policy.ledger.url))
    gate = asyncio.Semaphore(concurrency)

    async def one(item: DemoPrompt) -> Completion | RouterError:
        async with gate:
            try:
                team = TEAMS.get(item.source, "other")
                request_id = f"demo-{run}-{item.id}"[:128]
                return await router.acomplete(
                    item.prompt, metadata={"team": team}, request_id=request_id
                )
            except RouterError as exc:
                return exc

    async def all_of_them() -> list[Completion | RouterError]:
        try:
            return list(await asyncio.gather(*(one(i) for i in items)))
        finally:
            await router.aclose()

    try:
        return asyncio.run(all_of_them())
    finally:
        router.close()


def _score(items: Sequence[DemoPrompt], results: Sequence[Any]) -> Pass:
    p = Pass(requests=len(items))
    quality = 0.0
    for item, result in zip(items, results, strict=True):
        if isinstance(result, RouterError):
            continue
        local = result.tier == "local"
        p.local += local
        p.spend_usd += result.cost_usd
        p.baseline_usd += result.baseline_usd
        quality += item.local_score if local else item.frontier_score
    p.quality = quality / max(1, len(items))
    return p


def _learn(policy: Policy) -> tuple[str, bool]:
    from datetime import UTC, datetime  # noqa: PLC0415

    from router.learning import ArtefactDir, LearningStore, default_artefact_dir  # noqa: PLC0415
    from router.learning._promote import learn  # noqa: PLC0415

    store = LearningStore(policy.ledger.url)
    try:
        result = learn(
            policy, store, ArtefactDir(default_artefact_dir(policy)), now=datetime.now(UTC)
        )
    finally:
        store.close()
    return result.to_text(), result.promoted


def _count_learning(demo: LearningDemo, policy: Policy) -> None:
    from router.learning import LearningStore  # noqa: PLC0415

    store = LearningStore(policy.ledger.url)
    try:
        demo.labels = store.label_counts()
        demo.learning_spend_usd = sum(store.spend().values(), ZERO)
    finally:
        store.close()


def outcome_workload(path: Path) -> list[DemoPrompt]:
    """An outcome file as demo traffic: its pair's scores, and answers where it kept them."""
    from router.evaluation import load_outcomes, pick_pair  # noqa: PLC0415

    pair = pick_pair(load_outcomes(path))
    return [
        DemoPrompt(
            id=row.id,
            source=row.source or path.stem,
            task=row.task or path.stem,
            prompt=row.prompt,
            local_answer=row.responses.get(pair.local_model),
            frontier_answer=row.responses.get(pair.frontier_model),
            local_score=float(local),
            frontier_score=float(frontier),
            local_model_recorded=pair.local_model,
            frontier_model_recorded=pair.frontier_model,
        )
        for row, local, frontier in zip(pair.rows, pair.local, pair.frontier, strict=True)
    ]


def _judging(workload: Sequence[DemoPrompt], answer: Responder) -> Responder:
    """The simulated frontier model, which also judges: asked with the pairwise rubric, it
    prefers the answer whose recorded score is higher (TIE when equal)."""
    by_start = {p.prompt.strip()[:200]: p for p in workload}
    local_keys = {prompt_key(p.local_answer): p for p in workload if p.local_answer}

    def respond(request: ChatRequest) -> Reply:
        system = request.messages[0].get("content") if request.messages else None
        if system != RUBRIC:
            return answer(request)
        text = request.last_user_message
        asked = text.removeprefix("## Request\n").split("\n\n## Answer A\n", 1)
        found = by_start.get(asked[0].strip()[:200])
        first = asked[1].split("\n\n## Answer B\n", 1)[0] if len(asked) == 2 else ""
        if found is None or found.local_score == found.frontier_score:
            return Reply(text="TIE")
        local_is_a = prompt_key(first) in local_keys
        local_wins = found.local_score > found.frontier_score
        return Reply(text="A" if local_wins == local_is_a else "B")

    return respond


def render_learning_demo(demo: LearningDemo, week2_frontier: float | None = None) -> str:
    """The human-readable end of `router demo --learn`."""
    b, a = demo.before, demo.after
    labels = ", ".join(f"{k} {v}" for k, v in demo.labels.items()) or "none"
    q = week2_frontier if week2_frontier is not None else demo.frontier_quality
    return "\n".join(
        [
            "",
            "cost-router demo: learning from this deployment's own traffic "
            "(simulated models: recorded answers replayed)",
            "",
            f"  week 1           {demo.week1} requests; {demo.shadow_rate:.0%} of local answers "
            "also asked of the frontier model, and of frontier answers of the local one",
            f"  labels           {labels}",
            f"  learning spend   ${demo.learning_spend_usd:.4f} (shadow + judge calls; "
            "not in the spend below)",
            "",
            "  router learn:",
            *(f"    {line}" for line in demo.learned.splitlines()),
            "",
            f"  week 2           {'before':>10} {'after':>10}   ({b.requests} requests, same ones)",
            f"  answered locally {b.local:>10} {a.local:>10}",
            f"  spend            {_usd(b.spend_usd):>10} {_usd(a.spend_usd):>10}",
            f"  saved vs all-frontier {b.saved_pct:>5.1f}% {a.saved_pct:>9.1f}%",
            f"  quality          {b.quality:>10.3f} {a.quality:>10.3f}   "
            f"(all-frontier {q:.3f}; recorded scores)",
            f"  (after: threshold {demo.threshold:.4f}, set so the artefact in use sends as "
            "many of week 1's requests to the frontier as the prior did)",
            "",
            "The pairwise judge is simulated from the recorded scores; see docs/learning.md.",
        ]
    )


def _usd(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01')):,}"
