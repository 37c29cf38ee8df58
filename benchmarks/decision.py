"""1. Decision time: validate + classify + policy decision, against litellm's complexity router.

Ours is the whole pre-call path the pipeline runs for a prompt (`build_request`: validation,
size check, PII scan; then `decide`: classifier score and threshold), so the figure is what a
request pays before any model call. The peers are `litellm.router_strategy.complexity_router`
with `heuristic` (`ComplexityRouter.classify`) and `heuristic_v2` (its trained tier predictor),
via `router.classifier._peers`. All run in this process on the same prompts, interleaved prompt by
prompt with a rotating order (`bench_classifier.time_scorers`), repeated; we report the median
over repeats of each repeat's median and p99.
"""

# ruff: noqa: PLC0415 - imports are lazy on purpose: a benchmark must not pay for, or time, another's imports

from __future__ import annotations

from collections.abc import Callable

from benchmarks._common import Section, Settings, median, percentile
from benchmarks.bench_classifier import load_prompts, time_scorers

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
    medians: dict[str, list[float]] = {k: [] for k in scorers}
    p99s: dict[str, list[float]] = {k: [] for k in scorers}
    for _ in range(repeats):
        timings = time_scorers(scorers, prompts, warmup=min(200, n // 5))  # type: ignore[arg-type]
        for name, values in timings.items():
            medians[name].append(median(values))
            p99s[name].append(percentile(values, 0.99))
    summary = {k: {"median_us": median(medians[k]), "p99_us": median(p99s[k])} for k in scorers}
    section.details = {"prompts": len(prompts), "repeats": repeats, "scorers": summary}
    _rows(section, summary)
    return section


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
        )
        section.add(
            "p99 per request",
            ours["p99_us"],
            alternative=alt["p99_us"],
            alt_name=peer,
            unit="us",
            target="< 1000 us",
            met=ours["p99_us"] < 1000.0,
        )
    section.add(
        "classifier score only, median",
        summary[SCORE_ONLY]["median_us"],
        unit="us",
        note=f"p99 {summary[SCORE_ONLY]['p99_us']:.0f} us",
    )
