"""1. Decision time: validate + classify + policy decision, against litellm's complexity router.

Ours is the whole pre-call path the pipeline runs for a prompt (`build_request`: validation,
size check, PII scan; then `decide`: classifier score and threshold), so the figure is what a
request pays before any model call. The peers are `litellm.router_strategy.complexity_router`
with `heuristic` (`ComplexityRouter.classify`) and `heuristic_v2` (its trained tier predictor),
via `router.classifier._peers`. All run in this process on the same prompts, interleaved prompt by
prompt with a rotating order (as `bench_classifier.time_scorers` does), repeated; we report the
median over repeats of each repeat's median and p99. Each call is timed twice: wall clock (what a
caller waits, preemption by other processes included) and this thread's CPU time (what the code
costs, immune to a busy machine). The targets are judged on wall clock.
"""

# ruff: noqa: PLC0415 - imports are lazy on purpose: a benchmark must not pay for, or time, another's imports

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks._common import Section, Settings, median, percentile
from benchmarks.bench_classifier import load_prompts

OURS = "cost-router decide"
SCORE_ONLY = "cost-router score"
PEERS = ("litellm-heuristic", "litellm-heuristic_v2")


def _our_decision() -> tuple[Callable[[str], object], Callable[[str], float]]:
    from router._decide import decide
    from router._request import build_request
    from router.classifier import load_classifier
    from router.policy import Policy

    policy, classifier = Policy(), load_classifier()

    def decision(prompt: str) -> object:
        request = build_request(
            policy,
            prompt=prompt,
            messages=None,
            metadata=None,
            sensitive=None,
            max_tokens=None,
            temperature=None,
            response_format=None,
            request_id=None,
            unknown={},
        )
        return decide(request, policy, classifier)

    return decision, classifier.score


def run(settings: Settings) -> Section:
    from router.classifier._peers import LiteLLMPeer

    section = Section("decision")
    n = settings.prompts or settings.pick(quick=300, normal=3000)
    repeats = settings.pick(quick=2, normal=3)
    prompts = load_prompts(settings.data, n, seed=0)
    decision, score = _our_decision()
    scorers: dict[str, Callable[[str], object]] = {OURS: decision, SCORE_ONLY: score}
    for kind in ("heuristic", "heuristic_v2"):
        scorers[f"litellm-{kind}"] = LiteLLMPeer(kind).score
    for prompt in prompts[: min(200, n // 5)]:  # warm up caches and lazy imports
        for fn in scorers.values():
            fn(prompt)
    stats: dict[str, dict[str, list[float]]] = {k: {} for k in scorers}
    for _ in range(repeats):
        for name, (wall, cpu) in _time_interleaved(scorers, prompts).items():
            for key, values in (("", wall), ("cpu_", cpu)):
                stats[name].setdefault(f"{key}median_us", []).append(median(values))
                stats[name].setdefault(f"{key}p99_us", []).append(percentile(values, 0.99))
    summary = {k: {stat: median(v) for stat, v in s.items()} for k, s in stats.items()}
    section.details = {"prompts": len(prompts), "repeats": repeats, "scorers": summary}
    _rows(section, summary)
    return section


def _time_interleaved(
    scorers: dict[str, Callable[[str], object]], prompts: list[str]
) -> dict[str, tuple[list[float], list[float]]]:
    names = list(scorers)
    out: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in names}
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    for i, prompt in enumerate(prompts):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            fn = scorers[name]
            w0, c0 = wall(), cpu()
            fn(prompt)
            c1, w1 = cpu(), wall()
            out[name][0].append((w1 - w0) / 1000.0)
            out[name][1].append((c1 - c0) / 1000.0)
    return out


def _rows(section: Section, summary: dict[str, dict[str, float]]) -> None:
    ours = summary[OURS]
    for peer in PEERS:
        alt = summary[peer]
        section.add(
            "median per request",
            ours["median_us"],
            alternative=alt["median_us"],
            alt_name=peer,
            unit="us",
            target="faster than peer",
            met=ours["median_us"] < alt["median_us"],
            note=f"CPU: ours {ours['cpu_median_us']:.0f} us, peer {alt['cpu_median_us']:.0f} us",
        )
        section.add(
            "p99 per request",
            ours["p99_us"],
            alternative=alt["p99_us"],
            alt_name=peer,
            unit="us",
            target="< 1000 us",
            met=ours["p99_us"] < 1000.0,
            note=f"CPU: ours {ours['cpu_p99_us']:.0f} us, peer {alt['cpu_p99_us']:.0f} us",
        )
    section.add(
        "classifier score only, median",
        summary[SCORE_ONLY]["median_us"],
        unit="us",
        note=f"p99 {summary[SCORE_ONLY]['p99_us']:.0f} us",
    )
